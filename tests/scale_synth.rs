//! `skelzero synth` (issue 24): NTU-shaped files that the NTU reader, the dataset loader and `inspect` read back,
//! and one clear error for each bad argument.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use skelzero::dataset::synthetic::ntu_like::{
    NTU_FRAME_LENGTHS, NtuLike, is_mutual_action, ntu_like_names, ntu_like_sequence,
};
use skelzero::dataset::{DatasetKind, load_dataset};
use skelzero::formats::ntu_skeleton::{self, NtuName};

mod cli;
use cli::{skelzero, succeeded};

fn synth(like: &str, count: usize, out: &Path, seed: u64) {
    succeeded(skelzero().args([
        "synth",
        "--like",
        like,
        "--count",
        &count.to_string(),
        "--out",
        out.to_str().unwrap(),
        "--seed",
        &seed.to_string(),
    ]));
}

#[test]
fn ntu120_like_files_round_trip_through_the_reader_and_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ntu120");
    synth("ntu120", 240, &out, 5);
    let ds = load_dataset(&out, None).unwrap();
    assert_eq!(ds.kind, DatasetKind::Ntu120);
    assert_eq!(ds.classes.len(), 120);
    assert_eq!(ds.samples.len(), 240);
    assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
    let mut per_class = [0usize; 120];
    for s in &ds.samples {
        let name = NtuName::parse(&s.meta.id).unwrap();
        assert_eq!(name.code(), s.meta.id);
        assert_eq!(s.meta.label, name.action as usize - 1);
        per_class[s.meta.label] += 1;
        let want = if is_mutual_action(name.action) { 2 } else { 1 };
        assert_eq!(s.seq.bodies(), want, "{}", s.meta.id);
        // The file holds the generator's sequence to the printed precision (7 decimals), bodies in either order.
        let made = ntu_like_sequence(NtuLike::Ntu120, &name, 5);
        assert_eq!(s.seq.frames(), made.frames());
        let mid = made.frames() / 2;
        let close = |b: usize, m: usize| {
            (0..25).all(|j| {
                let (x, y) = (s.seq.joint(mid, b, j), made.joint(mid, m, j));
                (0..3).all(|a| (x[a] - y[a]).abs() < 1e-5)
            })
        };
        assert!(close(0, 0) || close(0, want - 1), "{}", s.meta.id);
    }
    assert!(per_class.iter().all(|&n| n == 2), "{per_class:?}");

    // `inspect` reads the folder back.
    let text = succeeded(skelzero().args(["inspect", out.to_str().unwrap(), "--json"]));
    let summary: serde_json::Value = serde_json::from_slice(&text.stdout).unwrap();
    assert_eq!(summary["instances"], 240, "{summary}");
    assert_eq!(summary["classes_present"], 120, "{summary}");
    let two_body = ds.samples.iter().filter(|s| s.seq.bodies() == 2).count();
    assert_eq!(summary["samples_by_bodies"][2], two_body, "{summary}");
    // 26 mutual classes (A050-A060, A106-A120), two samples each.
    assert_eq!(two_body, 52);

    // Same seed, same bytes; another seed, other motion.
    let again = dir.path().join("again");
    synth("ntu120", 240, &again, 5);
    let file = "S001C001P001R001A055.skeleton";
    assert_eq!(
        std::fs::read(out.join(file)).unwrap(),
        std::fs::read(again.join(file)).unwrap()
    );
    let other = dir.path().join("other");
    synth("ntu120", 1, &other, 6);
    let first = "S001C001P001R001A001.skeleton";
    assert_ne!(
        std::fs::read(out.join(first)).unwrap(),
        std::fs::read(other.join(first)).unwrap()
    );
}

#[test]
fn ntu60_like_files_have_sixty_classes_and_read_as_ntu60() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ntu60");
    synth("ntu60", 120, &out, 0);
    let ds = load_dataset(&out, None).unwrap();
    assert_eq!(ds.kind, DatasetKind::Ntu60);
    assert_eq!((ds.classes.len(), ds.samples.len()), (60, 120));
    let two = ds.samples.iter().filter(|s| s.seq.bodies() == 2).count();
    // A050..A060 are the mutual actions: 11 classes, two samples each.
    assert_eq!(two, 22);
    let one = ntu_skeleton::read(&out.join("S001C001P001R001A050.skeleton")).unwrap();
    assert_eq!(one.tracked_bodies, 2);
}

/// Runs `args`, which must fail with one error line containing `want`.
fn fails_with(args: &[&str], want: &str) {
    let out = skelzero().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {args:?}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(stderr.contains(want), "{stderr}");
}

#[test]
fn bad_arguments_get_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = out.to_str().unwrap();
    fails_with(
        &["synth", "--like", "kinetics", "--count", "5", "--out", o],
        "possible values: ntu60, ntu120",
    );
    fails_with(
        &["synth", "--like", "ntu60", "--count", "0", "--out", o],
        "--count 0 is outside 1..=56880",
    );
    fails_with(
        &[
            "synth",
            "--like",
            "ntu120",
            "--count",
            "999999999",
            "--out",
            o,
        ],
        "--count 999999999 is outside 1..=114480",
    );
    // A folder below a file cannot be created.
    let file = dir.path().join("a_file");
    std::fs::write(&file, b"x").unwrap();
    let below = file.join("sub");
    fails_with(
        &[
            "synth",
            "--like",
            "ntu60",
            "--count",
            "3",
            "--out",
            below.to_str().unwrap(),
        ],
        "cannot create the --out folder",
    );
    // A folder with files in it is refused, and its files stay.
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"mine").unwrap();
    fails_with(
        &["synth", "--like", "ntu60", "--count", "3", "--out", o],
        "is not empty",
    );
    assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"mine");
}

#[test]
fn names_are_unique_balanced_and_in_ntu_ranges() {
    let names = ntu_like_names(NtuLike::Ntu120, 114_480).unwrap();
    assert_eq!(names.len(), 114_480);
    let codes: std::collections::HashSet<String> = names.iter().map(NtuName::code).collect();
    assert_eq!(codes.len(), names.len());
    for n in &names {
        assert!((1..=32).contains(&n.setup) && (1..=3).contains(&n.camera));
        assert!((1..=106).contains(&n.subject) && (1..=2).contains(&n.repetition));
        assert!((1..=120).contains(&n.action));
    }
    let first: Vec<u32> = names[..240].iter().map(|n| n.action).collect();
    assert!((1..=120).all(|a| first.iter().filter(|&&x| x == a).count() == 2));
    let ntu60 = ntu_like_names(NtuLike::Ntu60, 56_880).unwrap();
    assert!(
        ntu60
            .iter()
            .all(|n| n.action <= 60 && n.subject <= 40 && n.setup <= 17)
    );
    assert!(ntu_like_names(NtuLike::Ntu60, 56_881).is_err());
    assert!(ntu_like_names(NtuLike::Ntu120, 0).is_err());
}

#[test]
fn sequences_are_deterministic_with_ntu_bodies_and_lengths() {
    let names = ntu_like_names(NtuLike::Ntu120, 240).unwrap();
    let mut lengths = Vec::new();
    for name in &names {
        let seq = ntu_like_sequence(NtuLike::Ntu120, name, 3);
        let want = if is_mutual_action(name.action) { 2 } else { 1 };
        assert_eq!(seq.bodies(), want, "{}", name.code());
        assert!((32..=300).contains(&seq.frames()));
        // In front of the camera.
        assert!(seq.joint(0, 0, 0)[2] > 2.0);
        lengths.push((seq.frames() as f64).ln());
    }
    let mean = lengths.iter().sum::<f64>() / lengths.len() as f64;
    assert!((mean - NTU_FRAME_LENGTHS.log_mean).abs() < 0.1, "{mean}");
    let a = ntu_like_sequence(NtuLike::Ntu120, &names[7], 3);
    assert_eq!(a, ntu_like_sequence(NtuLike::Ntu120, &names[7], 3));
    assert_ne!(a, ntu_like_sequence(NtuLike::Ntu120, &names[7], 4));
}

/// The streaming reader (each sequence preprocessed as it is parsed) gives the tensors of reading everything and
/// preprocessing after, value for value: on generated files and on the real NTU samples.
#[test]
fn streaming_preprocessed_reading_matches_reading_whole() {
    use skelzero::dataset::load::load_dataset_mapped;
    use skelzero::formats::ReadError;
    use skelzero::skeleton::Sequence;
    use skelzero::skeleton::preprocess::{
        PreprocessConfig, Rotation, batch_from_preprocessed, batch_from_sequences,
        preprocessed_from_sequence,
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ntu");
    synth("ntu120", 150, &out, 1);
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ntu-rgbd-samples");
    for (folder, kind) in [
        (out.as_path(), None),
        (real.as_path(), Some(DatasetKind::Ntu60)),
    ] {
        for pre in [
            PreprocessConfig::default(),
            PreprocessConfig {
                bodies: 1,
                rotation: Rotation::FirstFrameY,
                ..PreprocessConfig::default()
            },
        ] {
            let whole = load_dataset(folder, kind).unwrap();
            let map = |seq: &Sequence, p: &Path| {
                preprocessed_from_sequence(seq, &pre).map_err(|e| ReadError::file(p, e.to_string()))
            };
            let streamed = load_dataset_mapped(folder, kind, Some(&map)).unwrap();
            assert!(streamed.samples.len() >= 5);
            assert_eq!(whole.samples.len(), streamed.samples.len());
            let a = batch_from_sequences(
                whole.samples.iter().map(|s| &s.seq).collect::<Vec<_>>(),
                &pre,
            )
            .unwrap();
            let b = batch_from_preprocessed(
                streamed.samples.iter().map(|s| &s.seq).collect::<Vec<_>>(),
                &pre,
            )
            .unwrap();
            assert_eq!(a.len(), whole.samples.len() * pre.sample_len());
            assert!(a == b, "{}", folder.display());
            // Raw sequences handed to the layout-only path are refused, not silently mislaid.
            assert!(
                batch_from_preprocessed(vec![&whole.samples[0].seq], &pre).is_err()
                    || whole.samples[0].seq.frames() == pre.frames
            );
        }
    }
}
