//! Preprocessing, splits and protocols, class texts and synthetic actions, end to end.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use skelzero::dataset::protocol::{
    Partition, PkuVideoSplit, ProtocolInputs, SplitArgs, SplitError,
};
use skelzero::dataset::synthetic::{self, SynthConfig};
use skelzero::dataset::texts::{self, ClassTexts};
use skelzero::dataset::{Dataset, DatasetKind, Sample, SampleMeta};
use skelzero::skeleton::preprocess::{self, PreprocessConfig};
use skelzero::skeleton::{LayoutId, Sequence};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

fn shared(rel: &str) -> PathBuf {
    Path::new(SHARED).join(rel)
}

/// A dataset of tiny placeholder sequences with the given (label, subject, video) per sample.
fn fake_dataset(kind: DatasetKind, classes: usize, samples: &[(usize, u32, &str)]) -> Dataset {
    Dataset {
        kind,
        root: PathBuf::from("fake"),
        classes: (0..classes).map(|c| format!("class {c}")).collect(),
        samples: samples
            .iter()
            .enumerate()
            .map(|(i, &(label, subject, video))| Sample {
                meta: SampleMeta {
                    id: format!("s{i}"),
                    label,
                    subject: Some(subject),
                    camera: None,
                    setup: None,
                    repetition: None,
                    video: video.to_string(),
                    source: PathBuf::from("fake"),
                    frames: None,
                },
                seq: Sequence::zeros(LayoutId::Ntu25, 1, 1).unwrap(),
            })
            .collect(),
        skipped: Vec::new(),
    }
}

/// MSR-shaped: 20 classes x 10 subjects x 3 repetitions.
fn msr_like() -> Dataset {
    let mut rows = Vec::new();
    for a in 0..20 {
        for s in 1..=10 {
            for _ in 0..3 {
                rows.push((a, s, "v"));
            }
        }
    }
    fake_dataset(DatasetKind::Msr, 20, &rows)
}

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    split: SplitArgs,
}

fn split_args(args: &[&str]) -> Result<SplitArgs, clap::Error> {
    Cmd::try_parse_from(std::iter::once("test").chain(args.iter().copied())).map(|c| c.split)
}

fn assert_disjoint_and_sorted(p: &Partition) {
    for list in [&p.train, &p.zsl_test, &p.gzsl_test] {
        assert!(list.windows(2).all(|w| w[0] < w[1]));
    }
    let train: HashSet<_> = p.train.iter().collect();
    assert!(p.gzsl_test.iter().all(|i| !train.contains(i)));
    assert!(p.zsl_test.iter().all(|i| p.gzsl_test.contains(i)));
}

#[test]
fn msr_protocol_splits_classes_and_subjects() {
    let data = msr_like();
    let none = ProtocolInputs::default();
    let p = SplitArgs::named("msr1").partition(&data, &none).unwrap();
    assert_eq!(p.unseen, [1, 6, 11, 14, 18]);
    assert_eq!(p.seen.len(), 15);
    assert_eq!(p.train.len(), 15 * 5 * 3);
    assert_eq!(p.zsl_test.len(), 5 * 5 * 3);
    assert_eq!(p.gzsl_test.len(), 20 * 5 * 3);
    for &i in &p.train {
        let m = &data.samples[i].meta;
        assert!(!m.subject.unwrap().is_multiple_of(2) && p.seen.contains(&m.label));
    }
    for &i in &p.zsl_test {
        let m = &data.samples[i].meta;
        assert!(m.subject.unwrap().is_multiple_of(2) && p.unseen.contains(&m.label));
    }
    assert_disjoint_and_sorted(&p);
    let p3 = SplitArgs::named("MSR3").partition(&data, &none).unwrap();
    assert_eq!(p3.unseen, [0, 5, 10, 12, 19]);
    // With no split option, MSR data gets msr1.
    assert_eq!(SplitArgs::default().partition(&data, &none).unwrap(), p);
    // The MSR protocol refuses other datasets.
    let ntu = fake_dataset(DatasetKind::Ntu60, 60, &[(0, 1, "v")]);
    assert!(matches!(
        SplitArgs::named("msr2").partition(&ntu, &none),
        Err(SplitError::WrongDataset { .. })
    ));
}

#[test]
fn pku_interaction_protocol_uses_video_lists_and_the_subset() {
    // 1-based 12 (giving) and 24 (point finger) are unseen in pku-inter1; 14 is seen; 1 (bow) is outside the subset.
    let rows = [
        (11, 0, "0002-M"),
        (11, 0, "0291-M"),
        (23, 0, "0291-M"),
        (13, 0, "0002-M"),
        (13, 0, "0291-M"),
        (13, 0, "0400-M"),
        (0, 0, "0002-M"),
        (0, 0, "0291-M"),
    ];
    let data = fake_dataset(DatasetKind::Pku, 51, &rows);
    let err = SplitArgs::named("pku-inter1")
        .partition(&data, &ProtocolInputs::default())
        .unwrap_err();
    assert!(matches!(err, SplitError::MissingVideoLists(_)), "{err}");
    let inputs = ProtocolInputs {
        pku_cross_subject: Some(PkuVideoSplit {
            train: ["0002-M".to_string()].into_iter().collect(),
            test: ["0291-M".to_string()].into_iter().collect(),
        }),
    };
    let p = SplitArgs::named("pku-inter1")
        .partition(&data, &inputs)
        .unwrap();
    assert_eq!(p.unseen, [11, 23]);
    assert_eq!(p.seen, [13, 15, 17, 20, 25, 26]);
    assert_eq!(p.train, [3]);
    // Every unseen instance, whichever video it is from.
    assert_eq!(p.zsl_test, [0, 1, 2]);
    // Plus seen-class instances of the validation videos; class 0 and video 0400-M are in neither.
    assert_eq!(p.gzsl_test, [0, 1, 2, 4]);
    assert_disjoint_and_sorted(&p);
}

#[test]
fn custom_splits_from_the_command_line_and_files() {
    let data = msr_like();
    let none = ProtocolInputs::default();
    let args = split_args(&["--unseen", "3,7,9"]).unwrap();
    let p = args.partition(&data, &none).unwrap();
    assert_eq!(p.unseen, [2, 6, 8]);
    assert_eq!(p.seen.len(), 17);
    // MSR's subject protocol applies to custom splits of MSR data.
    assert_eq!(p.train.len(), 17 * 5 * 3);
    assert!(split_args(&["--split", "msr1", "--unseen", "3"]).is_err());
    let err = split_args(&["--unseen", "0,4"])
        .unwrap()
        .partition(&data, &none)
        .unwrap_err();
    assert!(
        err.to_string().contains("class id 0 is out of range"),
        "{err}"
    );
    let err = split_args(&["--unseen", "21"])
        .unwrap()
        .partition(&data, &none)
        .unwrap_err();
    assert!(err.to_string().contains("1..=20"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let toml_path = dir.path().join("mine.toml");
    std::fs::write(
        &toml_path,
        "unseen = [1, 2]\nseen = [3, 4, 5]\ntrain_subjects = [1, 2]\n",
    )
    .unwrap();
    let p = split_args(&["--split-file", toml_path.to_str().unwrap()])
        .unwrap()
        .partition(&data, &none)
        .unwrap();
    assert_eq!(
        (p.name.as_str(), p.seen.as_slice(), p.unseen.as_slice()),
        ("mine", &[2, 3, 4][..], &[0, 1][..])
    );
    assert_eq!(p.train.len(), 3 * 2 * 3);
    // A user-given subject list: every unseen sample tests.
    assert_eq!(p.zsl_test.len(), 2 * 10 * 3);
    assert_eq!(p.gzsl_test.len(), 2 * 10 * 3 + 3 * 8 * 3);

    let json_path = dir.path().join("mine.json");
    std::fs::write(&json_path, "{\"name\": \"j\", \"unseen\": [20]}").unwrap();
    let p = split_args(&["--split-file", json_path.to_str().unwrap()])
        .unwrap()
        .partition(&data, &none)
        .unwrap();
    assert_eq!((p.name.as_str(), p.unseen.as_slice()), ("j", &[19][..]));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "unseen = [1]\nsean = [2]\n").unwrap();
    let err = split_args(&["--split-file", bad.to_str().unwrap()])
        .unwrap()
        .partition(&data, &none)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.toml, line 2"), "{err}");
    std::fs::write(&bad, "unseen = [1]\nseen = [1, 2]\n").unwrap();
    let err = split_args(&["--split-file", bad.to_str().unwrap()])
        .unwrap()
        .partition(&data, &none)
        .unwrap_err()
        .to_string();
    // A class error names the file and the line of the list at fault.
    assert!(
        err.contains("bad.toml, line 2")
            && err.contains("class 1 is listed as both seen and unseen"),
        "{err}"
    );
}

#[test]
fn published_splits_on_ntu_shaped_data() {
    // Two samples per class: subject 1 (cross-subject training) and subject 3 (test).
    let rows: Vec<(usize, u32, &str)> = (0..60).flat_map(|c| [(c, 1, "v"), (c, 3, "v")]).collect();
    let data = fake_dataset(DatasetKind::Ntu60, 60, &rows);
    let none = ProtocolInputs::default();
    let p = split_args(&["--split", "split_1"])
        .unwrap()
        .partition(&data, &none)
        .unwrap();
    assert_eq!(p.unseen, [4, 19, 31, 47, 51]);
    assert_eq!(p.train.len(), 55);
    assert_eq!(p.zsl_test.len(), 10);
    assert_eq!(p.gzsl_test.len(), 10 + 55);
    assert_disjoint_and_sorted(&p);
    // The validation split of SynSE 55/5 leaves the real unseen classes out entirely.
    let v = SplitArgs::named("synse-ntu60-55-5-val")
        .partition(&data, &none)
        .unwrap();
    assert_eq!(v.seen.len(), 50);
    assert!(
        v.seen
            .iter()
            .chain(&v.unseen)
            .all(|c| ![10, 11, 19, 26, 56].contains(c))
    );
    // Class counts must agree.
    let small = fake_dataset(DatasetKind::Ntu60, 59, &rows[..10]);
    assert!(matches!(
        SplitArgs::named("split_1").partition(&small, &none),
        Err(SplitError::ClassCount {
            expected: 60,
            got: 59,
            ..
        })
    ));
    assert!(matches!(
        SplitArgs::named("no-such-split").partition(&data, &none),
        Err(SplitError::Unknown(_))
    ));
}

#[test]
fn validation_split_is_seeded_and_disjoint() {
    let data = msr_like();
    let p = SplitArgs::named("msr2")
        .partition(&data, &ProtocolInputs::default())
        .unwrap();
    let v = p.validation(&data, 3, 42).unwrap();
    assert_eq!(v, p.validation(&data, 3, 42).unwrap());
    assert_ne!(v.unseen, p.validation(&data, 3, 7).unwrap().unseen);
    assert_eq!(v.unseen.len(), 3);
    assert_eq!(v.seen.len(), 12);
    assert!(v.unseen.iter().all(|c| p.seen.contains(c)));
    // Only training samples of the real split are used.
    let real_train: HashSet<_> = p.train.iter().collect();
    assert!(
        v.train
            .iter()
            .chain(&v.gzsl_test)
            .all(|i| real_train.contains(i))
    );
    assert_eq!(v.zsl_test.len(), 3 * 5 * 3);
    // 15 training samples per class, every fifth held out for the GZSL test.
    assert_eq!(v.train.len(), 12 * 12);
    assert_eq!(v.gzsl_test.len(), 3 * 5 * 3 + 12 * 3);
    assert_disjoint_and_sorted(&v);
    assert!(p.validation(&data, 15, 1).is_err());
}

#[test]
fn smie_star_neuron_and_sadvae_texts_load() {
    let smie = texts::read_lines(&shared("text/smie/ntu60_des.txt")).unwrap();
    assert_eq!(smie.len(), 60);
    assert!(smie[0].starts_with("\"Drink water\" refers to"));
    assert_eq!(
        texts::read_lines(&shared("text/smie/ntu120_des.txt"))
            .unwrap()
            .len(),
        120
    );
    assert_eq!(
        texts::read_lines(&shared("text/smie/pku_des.txt"))
            .unwrap()
            .len(),
        51
    );

    let star = texts::read_star_parts(&shared("text/star/ntu120_part_descriptions.txt")).unwrap();
    assert_eq!(star.len(), 120);
    assert_eq!(star[0].0, "drink water");
    assert_eq!(
        star[0].1[0],
        "Tilts slightly back to allow the water to flow down the throat"
    );
    assert!(star[0].1[5].starts_with("May adjust position for stability"));
    let star_pku =
        texts::read_star_parts(&shared("text/star/pkuv1_part_descriptions.txt")).unwrap();
    assert_eq!((star_pku.len(), star_pku[0].0.as_str()), (51, "bow"));

    let neuron =
        texts::read_neuron_json(&shared("text/neuron/ntu/spatial/spatial_cg.json")).unwrap();
    assert_eq!(neuron.len(), 120);
    assert_eq!(neuron[0].0, "drink water");
    assert_eq!(neuron[119].0, "rock-paper-scissors");
    assert!(neuron.iter().all(|(_, p)| p.len() == 10));
    assert_eq!(
        neuron[0].1[0],
        "arm lifts to mouth, head tilts, hand grips bottle"
    );
    let neuron_pku =
        texts::read_neuron_json(&shared("text/neuron/pku/temporal/temporal_fp.json")).unwrap();
    assert_eq!(neuron_pku.len(), 51);

    let sadvae = texts::read_sadvae_csv(&shared("text/sadvae/ntu60.csv")).unwrap();
    assert_eq!(sadvae.len(), 60);
    assert_eq!(
        sadvae[0],
        "fist and move the hand up to the head then look up"
    );
    let pku = texts::read_sadvae_csv(&shared("text/sadvae/pku51.csv")).unwrap();
    assert_eq!((pku.len(), pku[1].as_str()), (51, "brushing hair"));
    assert_eq!(
        texts::read_sadvae_csv(&shared("text/sadvae/ntu120.csv"))
            .unwrap()
            .len(),
        120
    );

    // Assembled: STAR names with SMIE sentences, STAR parts and Neuron phrases.
    let names = texts::read_lines(&shared("text/star/ntu120_label.txt")).unwrap();
    let all = ClassTexts::from_names(names)
        .with_sentence_file(&shared("text/smie/ntu120_des.txt"))
        .unwrap()
        .with_star_parts(&shared("text/star/ntu120_part_descriptions.txt"))
        .unwrap()
        .with_neuron_phrases(&shared("text/neuron/ntu/spatial/spatial_fg.json"))
        .unwrap();
    assert_eq!(all.names[2], "brush teeth");
    assert!(all.sentence_or_name(0).unwrap().contains("Drink water"));
    assert_eq!(all.phrases.as_ref().unwrap()[5].len(), 10);
    // A sentence file with the wrong number of lines names the file.
    let err = ClassTexts::from_names(vec!["a".into(); 20])
        .with_sentence_file(&shared("text/smie/pku_des.txt"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pku_des.txt: 51 lines, but the dataset has 20 classes"),
        "{err}"
    );
}

#[test]
fn msr_tsv_texts_load() {
    let t = ClassTexts::from_tsv_dir(&shared("msr-action3d/text")).unwrap();
    assert_eq!(t.names.len(), 20);
    assert_eq!(t.names[0], "high arm wave");
    assert_eq!(t.names[19], "pick up & throw");
    let parts = t.parts.as_ref().unwrap();
    assert_eq!(
        parts[0][1],
        "right hand sweeps left and right high above the head"
    );
    assert_eq!(
        parts[2][0],
        "head stays level, tilting slightly down toward the hand"
    );
    let phrases = t.phrases.as_ref().unwrap();
    assert!(phrases.iter().all(|p| p.len() == 12));
    assert_eq!(phrases[0][1], "the right arm is raised above the head");
    assert!(
        t.sentences.as_ref().unwrap()[0]
            .starts_with("A person raises the right arm fully above the head")
    );
}

#[test]
fn synthetic_demo_dataset_splits_and_preprocesses() {
    let data = synthetic::generate_dataset(&SynthConfig {
        per_class: 4,
        subjects: 4,
        ..Default::default()
    });
    assert_eq!(data.kind, DatasetKind::Synthetic);
    assert_eq!(data.num_classes(), 26);
    assert_eq!(data.class_counts(), vec![4; 26]);
    let p = SplitArgs::default()
        .partition(&data, &ProtocolInputs::default())
        .unwrap();
    assert_eq!(p.name, "synth-demo");
    assert_eq!(p.unseen, [5, 7, 12, 13, 18, 21]);
    // Odd subjects (1, 3) train, even ones test; every unseen-class sample is a test sample.
    assert_eq!(p.train.len(), 20 * 2);
    assert_eq!(p.zsl_test.len(), 6 * 4);
    assert_eq!(p.gzsl_test.len(), 6 * 4 + 20 * 2);

    let cfg = PreprocessConfig::default();
    let seqs: Vec<&Sequence> = data.samples.iter().map(|s| &s.seq).collect();
    let batch = preprocess::batch_from_sequences(seqs, &cfg).unwrap();
    assert_eq!(batch.len(), data.samples.len() * 3 * 50 * 25 * 2);
    assert!(batch.iter().all(|v| v.is_finite()));
    // Centred on joint 20 every frame: its x, y, z are zero (c stride 50*25*2, t stride 25*2, v stride 2).
    for c in 0..3 {
        for t in [0, 25, 49] {
            assert_eq!(batch[((c * 50 + t) * 25 + 20) * 2], 0.0);
        }
    }
    // The raw sequences are untouched and still in camera coordinates (about 3 m from the camera).
    assert!(data.samples[0].seq.joint(0, 0, 0)[2] > 2.0);
}

#[test]
fn msr_shaped_sequences_preprocess_through_the_ntu_mapping() {
    // An MSR20 sequence with an empty frame: mapped onto NTU25, the empty frame dropped, 50 frames out.
    let mut seq = Sequence::zeros(LayoutId::Msr20, 4, 1).unwrap();
    for t in [0, 1, 3] {
        for j in 0..20 {
            seq.set_joint(t, 0, j, [0.1 * j as f32, 1.0 + t as f32, 2.0]);
        }
    }
    let out = preprocess::preprocessed_from_sequence(&seq, &PreprocessConfig::default()).unwrap();
    assert_eq!((out.frames(), out.bodies(), out.joints()), (50, 2, 25));
    assert!((0..50).all(|t| !out.frame_empty(t)));
    assert!(seq.frame_empty(2));
}

/// `tests/fixtures/aimclr_frame50_parity.bin` holds two synthetic two-person sequences (60 frames of a turn, cut so
/// the shoulder direction sweeps half a circle, and 30 frames of a wave) and the arrays AimCLR's
/// `NTUMotionProcessor(data_type='relative', sampling='resize', y_rotation=True, t_length=50)` makes of them, computed
/// in Python with numpy 2.4 and OpenCV 5.0 `cv2.resize(INTER_LINEAR)` after zero-padding to 300 frames as
/// `ntu_gendata.py` does. Layout per case: `frames: u32, bodies: u32`, raw `[T][M][25][3]` f32, reference
/// `[3][50][25][2]` f32, little-endian.
#[test]
fn default_preprocessing_matches_the_aimclr_reference_arrays() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/aimclr_frame50_parity.bin"
    ))
    .unwrap();
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let mut off = 0;
    let mut cases = 0;
    while off < bytes.len() {
        let word = |o: usize| {
            u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        };
        let (frames, bodies) = (word(off), word(off + 4));
        off += 8;
        let n_raw = frames * bodies * 25 * 3 * 4;
        let raw = f32s(&bytes[off..off + n_raw]);
        off += n_raw;
        let n_ref = 3 * 50 * 25 * 2 * 4;
        let reference = f32s(&bytes[off..off + n_ref]);
        off += n_ref;
        let seq = Sequence::new(LayoutId::Ntu25, frames, bodies, raw).unwrap();
        let ours = preprocess::tensor_from_sequence(&seq, &PreprocessConfig::default()).unwrap();
        let max_diff = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-5, "case {cases}: max difference {max_diff}");
        // The reference is not trivially zero.
        assert!(reference.iter().any(|v| v.abs() > 0.5));
        cases += 1;
    }
    assert_eq!(cases, 2);
}

/// The PKU-MMD interaction protocols on the real recordings, with the official cross-subject lists found beside the
/// data: no training video is a test video, and every class count matches the labels.
#[test]
fn pku_interaction_protocols_on_real_data() {
    let data = skelzero::dataset::load::load_dataset(&shared("pku-mmd-v1"), None).unwrap();
    let inputs = ProtocolInputs::for_dataset(&data).unwrap();
    let lists = inputs
        .pku_cross_subject
        .as_ref()
        .expect("cross-subject.txt is beside the data");
    assert!(lists.train.is_disjoint(&lists.test));
    for name in ["pku-inter1", "pku-inter2", "pku-inter3"] {
        let p = SplitArgs::named(name).partition(&data, &inputs).unwrap();
        assert_eq!((p.seen.len(), p.unseen.len()), (6, 2), "{name}");
        assert_disjoint_and_sorted(&p);
        for &i in &p.train {
            let m = &data.samples[i].meta;
            assert!(
                p.seen.contains(&m.label),
                "{name}: unseen class in training"
            );
            assert!(
                lists.train.contains(&m.video),
                "{name}: {} is not a training video",
                m.video
            );
        }
        let unseen_total = data
            .samples
            .iter()
            .filter(|s| p.unseen.contains(&s.meta.label))
            .count();
        assert_eq!(
            p.zsl_test.len(),
            unseen_total,
            "{name}: every unseen instance is tested"
        );
        assert!(
            !p.train.is_empty() && p.gzsl_test.len() > p.zsl_test.len(),
            "{name}"
        );
    }
}
