//! The readers and the dataset loader on the real files in `../shared/data/` (read in place).
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too; a failure is a test failure.

use std::path::{Path, PathBuf};

use skelzero::dataset::inspect::summary_from_dataset;
use skelzero::dataset::{DatasetKind, load_dataset};
use skelzero::formats::{msr_action3d, npy, ntu_skeleton, pku_mmd};
use skelzero::skeleton::LayoutId;
mod cli;
use cli::{skelzero, succeeded};

fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")).join(rel)
}

fn close(a: [f32; 3], b: [f32; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
}

#[test]
fn ntu_raw_files_frames_bodies_and_names() {
    let ds = load_dataset(&data("ntu-rgbd-samples"), None).unwrap();
    assert_eq!(ds.kind, DatasetKind::Ntu60);
    assert_eq!(ds.classes.len(), 60);
    assert_eq!(ds.classes[0], "drink water");
    let raw: Vec<_> = ds
        .samples
        .iter()
        .filter(|s| s.meta.source.extension().is_some_and(|e| e == "skeleton"))
        .collect();
    let frames: Vec<usize> = raw.iter().map(|s| s.seq.frames()).collect();
    assert_eq!(frames, [103, 158, 104, 99, 54]);
    // trackingState is kept as a confidence (2 tracked = 1, 1 inferred = 0.5); the .npy arrays have none.
    for s in &raw {
        let conf: Vec<f32> = (0..s.seq.frames())
            .flat_map(|f| (0..25).filter_map(move |j| s.seq.confidence(f, 0, j)))
            .collect();
        assert_eq!(conf.len(), s.seq.frames() * 25, "{}", s.meta.id);
        assert!(conf.iter().all(|c| [0.0, 0.5, 1.0].contains(c)));
        assert!(conf.iter().filter(|&&c| c == 1.0).count() * 2 > conf.len());
    }
    assert!(
        raw.iter()
            .any(|s| (0..s.seq.frames()).any(|f| s.seq.confidence(f, 0, 7) == Some(0.5)))
    );
    assert!(
        ds.samples
            .iter()
            .filter(|s| s.meta.source.extension().is_some_and(|e| e == "npy"))
            .all(|s| !s.seq.has_confidence())
    );
    assert!(
        raw.iter()
            .all(|s| s.seq.bodies() == 1 && s.seq.joints() == 25)
    );
    let labels: Vec<usize> = raw.iter().map(|s| s.meta.label).collect();
    assert_eq!(labels, [0, 1, 2, 3, 4]);
    let m = &raw[0].meta;
    assert_eq!(
        (m.setup, m.camera, m.subject, m.repetition),
        (Some(1), Some(1), Some(1), Some(1))
    );
    // Line 5 of S001C001P001R001A001.skeleton: `0.2181153 0.1725972 3.785547 ...`.
    assert!(close(
        raw[0].seq.joint(0, 0, 0),
        [0.2181153, 0.1725972, 3.785547]
    ));
    // The two joint arrays are read too, labelled from their names (A001, A012).
    assert_eq!(ds.samples.len(), 7);
    let a012 = ds
        .samples
        .iter()
        .find(|s| s.meta.id.contains("A012"))
        .unwrap();
    assert_eq!((a012.meta.label, a012.seq.frames()), (11, 102));

    let one = ntu_skeleton::read(&data("ntu-rgbd-samples/S001C001P001R001A005.skeleton")).unwrap();
    assert_eq!(
        (one.seq.frames(), one.tracked_bodies, one.empty_frames),
        (54, 1, 0)
    );
}

#[test]
fn ntu_missing_skeleton_list_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let src = data("ntu-rgbd-samples/S001C001P001R001A001.skeleton");
    // S001C002P005R002A008 is the first entry of the official missing-skeleton lists.
    std::fs::copy(&src, dir.path().join("S001C002P005R002A008.skeleton")).unwrap();
    std::fs::copy(&src, dir.path().join("S001C001P001R001A001.skeleton")).unwrap();
    let ds = load_dataset(dir.path(), None).unwrap();
    assert_eq!(ds.samples.len(), 1);
    assert_eq!(ds.skipped.len(), 1);
    assert!(
        ds.skipped[0].contains("S001C002P005R002A008")
            && ds.skipped[0].contains("missing-skeleton list")
    );
    // One file given directly is read even when listed.
    let one = load_dataset(&dir.path().join("S001C002P005R002A008.skeleton"), None).unwrap();
    assert_eq!(one.samples.len(), 1);
}

#[test]
fn npy_joint_arrays() {
    let a = npy::read_f32(&data(
        "ntu-rgbd-samples/S001C001P001R001A012_joints_T25x3_f32.npy",
    ))
    .unwrap();
    assert_eq!(a.shape, [102, 25, 3]);
    assert_eq!(a.data.len(), 102 * 75);
    assert!((a.data[0] - 0.233_267_7).abs() < 1e-6);
    assert!((a.data[4] - 0.427_726_1).abs() < 1e-6);
    let ds = load_dataset(
        &data("ntu-rgbd-samples/S001C001P001R001A001_joints_T25x3_f32.npy"),
        None,
    )
    .unwrap();
    assert_eq!(ds.samples.len(), 1);
    assert_eq!(ds.samples[0].meta.label, 0);
    assert_eq!(ds.samples[0].seq.frames(), 103);
}

#[test]
fn ntu_style_batch_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (n, c, t, v, m) = (3, 3, 6, 25, 2);
    let mut x = vec![0.0f32; n * c * t * v * m];
    let at = |s: usize, ch: usize, f: usize, j: usize, b: usize| {
        (((s * c + ch) * t + f) * v + j) * m + b
    };
    // Sample 0: one body for 4 frames; sample 1: two bodies for 6 frames; sample 2: all zeros.
    for f in 0..4 {
        x[at(0, 1, f, 3, 0)] = 1.0 + f as f32;
    }
    for f in 0..6 {
        x[at(1, 0, f, 0, 0)] = 0.5;
        x[at(1, 2, f, 0, 1)] = 2.5;
    }
    npy::write_f32(
        &dir.path().join("train_data_joint.npy"),
        &[n, c, t, v, m],
        &x,
    )
    .unwrap();
    npy::write_i64(&dir.path().join("train_label.npy"), &[n], &[7, 59, 0]).unwrap();
    let ds = load_dataset(dir.path(), Some(DatasetKind::Ntu60)).unwrap();
    assert_eq!(ds.samples.len(), 2);
    assert_eq!(ds.skipped.len(), 1);
    let s0 = &ds.samples[0];
    assert_eq!((s0.meta.label, s0.seq.frames(), s0.seq.bodies()), (7, 4, 1));
    assert_eq!(s0.seq.joint(3, 0, 3), [0.0, 4.0, 0.0]);
    let s1 = &ds.samples[1];
    assert_eq!(
        (s1.meta.label, s1.seq.frames(), s1.seq.bodies()),
        (59, 6, 2)
    );
    assert_eq!(s1.seq.joint(5, 1, 0), [0.0, 0.0, 2.5]);
    // SMIE-style names: `val_position.npy` with `val_label.txt` (0-based), beside the other pair.
    npy::write_f32(&dir.path().join("val_position.npy"), &[n, c, t, v, m], &x).unwrap();
    std::fs::write(dir.path().join("val_label.txt"), "1\n2\n3\n").unwrap();
    let ds2 = load_dataset(&dir.path().join("val_position.npy"), None).unwrap();
    assert_eq!(ds2.kind, DatasetKind::Custom);
    let labels: Vec<usize> = ds2.samples.iter().map(|s| s.meta.label).collect();
    assert_eq!(labels, [1, 2]);
    assert!(
        ds.classes[59].starts_with("walking apart"),
        "{}",
        ds.classes[59]
    );
}

/// Counts label lines per 1-based action id straight from the label files, independently of the reader.
fn pku_label_counts() -> (usize, std::collections::BTreeMap<usize, usize>) {
    let mut counts = std::collections::BTreeMap::new();
    let mut total = 0;
    for e in std::fs::read_dir(data("pku-mmd-v1/label")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let action: usize = line.split(',').next().unwrap().trim().parse().unwrap();
            *counts.entry(action).or_insert(0) += 1;
            total += 1;
        }
    }
    (total, counts)
}

#[test]
fn pku_mmd_sequences_segments_and_classes() {
    let ds = load_dataset(&data("pku-mmd-v1"), None).unwrap();
    assert_eq!(ds.kind, DatasetKind::Pku);
    let videos: std::collections::BTreeSet<_> =
        ds.samples.iter().map(|s| s.meta.video.clone()).collect();
    assert_eq!(videos.len(), 76);
    assert_eq!(ds.samples.len(), 633);
    assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
    assert_eq!(ds.classes.len(), 51);
    assert_eq!(ds.classes[11], "giving something to other person");
    let (total, by_action) = pku_label_counts();
    assert_eq!(total, 633);
    let counts = ds.class_counts();
    for (action, n) in by_action {
        assert_eq!(counts[action - 1], n, "class {action}");
    }
    // The eight interaction classes hold about 72 instances each.
    for a in [12, 14, 16, 18, 21, 24, 26, 27] {
        assert!(
            (70..=76).contains(&counts[a - 1]),
            "class {a}: {}",
            counts[a - 1]
        );
    }
    // 0005-M's first label line is `26,217,295,2`; skeleton line 218 is frame 217.
    let s = ds.samples.iter().find(|s| s.meta.id == "0005-M#0").unwrap();
    assert_eq!(s.meta.label, 25);
    assert_eq!(s.meta.frames, Some((217, 295)));
    assert_eq!(s.meta.camera, Some(2));
    assert_eq!((s.seq.frames(), s.seq.bodies()), (78, 2));
    assert!(close(s.seq.joint(0, 0, 0), [0.642606, -0.257195, 2.418385]));
    assert!(close(
        s.seq.joint(0, 1, 0),
        [-0.791515, -0.268587, 2.483031]
    ));
    // Single-person recordings give one-body samples.
    let single = ds
        .samples
        .iter()
        .find(|s| s.meta.video == "0160-L")
        .unwrap();
    assert_eq!(
        (single.meta.label, single.seq.bodies(), single.meta.camera),
        (3, 1, Some(1))
    );

    let whole = pku_mmd::read_skeleton(&data("pku-mmd-v1/skeleton/0005-M.txt")).unwrap();
    assert_eq!(whole.frames(), 1507);
    assert!(close(whole.joint(0, 0, 0), [0.541166, -0.271794, 2.617523]));
}

#[test]
fn pku_single_file_and_split_lists() {
    let ds = load_dataset(&data("pku-mmd-v1/skeleton/0005-M.txt"), None).unwrap();
    assert_eq!(ds.samples.len(), 8);
    let cs = pku_mmd::read_split_lists(&data("pku-mmd-v1/cross-subject.txt")).unwrap();
    assert_eq!((cs.train.len(), cs.validation.len()), (944, 132));
    assert!(cs.is_train("0002-L") && !cs.is_validation("0002-L"));
    let cv = pku_mmd::read_split_lists(&data("pku-mmd-v1/cross-view.txt")).unwrap();
    assert_eq!((cv.train.len(), cv.validation.len()), (717, 359));
    assert!(cv.train.iter().all(|v| !v.ends_with("-M")));
}

#[test]
fn msr_action3d_sequences_subjects_and_empty_file() {
    let ds = load_dataset(&data("msr-action3d"), None).unwrap();
    assert_eq!(ds.kind, DatasetKind::Msr);
    assert_eq!(ds.samples.len() + ds.skipped.len(), 567);
    assert_eq!(ds.samples.len(), 566);
    assert!(ds.skipped[0].contains("a13_s09_e02") && ds.skipped[0].contains("only empty frames"));
    assert_eq!(ds.classes.len(), 20);
    assert_eq!(ds.classes[0], "high arm wave");
    assert!(ds.class_counts().iter().all(|&c| (20..=30).contains(&c)));
    // The confidence column is kept: MSR's shoulder centre (joint 2) is mostly untracked, the wrists tracked.
    let zeros = |j: usize| {
        let (mut z, mut n) = (0, 0);
        for s in &ds.samples {
            for f in 0..s.seq.frames() {
                n += 1;
                z += usize::from(s.seq.confidence(f, 0, j) == Some(0.0));
            }
        }
        z as f64 / n as f64
    };
    assert!(zeros(2) > 0.5, "{}", zeros(2));
    assert!(zeros(9) < 0.2, "{}", zeros(9));
    let subjects: std::collections::BTreeSet<_> =
        ds.samples.iter().filter_map(|s| s.meta.subject).collect();
    assert_eq!(subjects.len(), 10);
    let s = ds
        .samples
        .iter()
        .find(|s| s.meta.id == "a20_s10_e03")
        .unwrap();
    assert_eq!(s.seq.layout_id(), LayoutId::Msr20);
    assert_eq!(s.seq.fps, 15.0);
    assert_eq!(
        (s.meta.label, s.meta.subject, s.meta.repetition),
        (19, Some(10), Some(3))
    );
    // 740 lines = 37 frames; line 41 is joint 0 of frame 2.
    assert_eq!(s.seq.frames(), 37);
    assert!(close(s.seq.joint(2, 0, 0), [-0.404536, 0.320654, 2.585345]));

    let empty =
        msr_action3d::read(&data("msr-action3d/skeleton/a13_s09_e02_skeleton3D.txt")).unwrap();
    assert_eq!(empty.frames(), 38);
    let one = load_dataset(
        &data("msr-action3d/skeleton/a13_s09_e02_skeleton3D.txt"),
        None,
    )
    .unwrap();
    assert_eq!((one.samples.len(), one.skipped.len()), (0, 1));
}

#[test]
fn utkinect_segments_by_frame_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut joints = String::new();
    for id in 100..110 {
        joints += &id.to_string();
        for j in 0..60 {
            joints += &format!(" {:.3}", id as f32 * 0.01 + j as f32 * 0.001);
        }
        joints += "\n";
    }
    std::fs::write(dir.path().join("joints_s01_e01.txt"), &joints).unwrap();
    std::fs::write(
        dir.path().join("actionLabel.txt"),
        "s01_e01\nwalk: 102 105\ncarry: NaN NaN\nclapHands: 108 120\ns02_e01\nwalk: 1 5\n",
    )
    .unwrap();
    let ds = load_dataset(dir.path(), None).unwrap();
    assert_eq!(ds.kind, DatasetKind::Utkinect);
    assert_eq!(ds.samples.len(), 2);
    let walk = &ds.samples[0];
    assert_eq!(
        (walk.meta.label, walk.seq.frames(), walk.meta.frames),
        (0, 4, Some((2, 6)))
    );
    assert_eq!(walk.seq.layout_id(), LayoutId::KinectV1);
    assert!(close(walk.seq.joint(0, 0, 1), [1.023, 1.024, 1.025]));
    assert_eq!(
        (ds.samples[1].meta.label, ds.samples[1].seq.frames()),
        (9, 2)
    );
    assert_eq!(ds.skipped.len(), 1);
    assert!(ds.skipped[0].contains("carry") && ds.skipped[0].contains("NaN"));
}

#[test]
fn inspect_summary_and_binary() {
    let ds = load_dataset(&data("msr-action3d"), None).unwrap();
    let s = summary_from_dataset(&ds);
    assert_eq!(
        (s.sequences, s.instances, s.classes_present),
        (566, 566, 20)
    );
    assert_eq!(s.subjects.len(), 10);
    assert_eq!(s.skipped.len(), 1);
    let f = s.frames.unwrap();
    assert!(f.min <= f.median && f.median <= f.max);
    assert_eq!(
        f.total,
        ds.samples.iter().map(|s| s.seq.frames()).sum::<usize>()
    );

    let out = succeeded(
        skelzero()
            .args(["inspect", "--json"])
            .arg(data("pku-mmd-v1")),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sequences"], 76);
    assert_eq!(v["instances"], 633);
    assert_eq!(v["format"], "pku");
    assert_eq!(v["per_class"][13]["name"], "handshaking");
    assert_eq!(v["per_class"][13]["instances"], 72);

    let out = skelzero()
        .arg("inspect")
        .arg(data("ntu-rgbd-samples"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("instances:  7") && text.contains("drink water"),
        "{text}"
    );
}

/// The fast float path gives bit-identical values to `str::parse` on a whole real file.
#[test]
fn fast_parser_matches_std_on_real_files() {
    for rel in [
        "pku-mmd-v1/skeleton/0160-L.txt",
        "msr-action3d/skeleton/a01_s01_e01_skeleton3D.txt",
    ] {
        let path = data(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        let width = text.lines().next().unwrap().split_whitespace().count();
        let ours = skelzero::formats::numbers::parse_table(text.as_bytes(), width, &path).unwrap();
        let std: Vec<f32> = text
            .split_whitespace()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(ours.len(), std.len());
        assert!(
            ours.iter()
                .zip(&std)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{rel}"
        );
    }
}
