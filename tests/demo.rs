//! The built-in demo is real zero-shot recognition: the checkpoint compiled into the binary (assets/demo, made by
//! assets/demo/regenerate.sh) scores the synthetic dataset's unseen classes far above chance, and the run's files
//! load from disk and from bytes alike.

use skelzero::pipeline::demo::{demo_dataset, demo_encoder, demo_run, demo_texts};
use skelzero::pipeline::predict::scored_rows;
use skelzero::pipeline::{EncoderModel, predict_dataset};

#[test]
fn embedded_demo_recognises_unseen_classes_far_above_chance() {
    let ds = demo_dataset();
    let model = demo_encoder(&candle_core::Device::Cpu).unwrap();
    let run = demo_run().unwrap();
    assert_eq!(run.config.split.class_names, demo_texts().names);
    assert_eq!(run.config.split.name, model.config.data.split);

    let (rows, on_split) = scored_rows(&ds, &run);
    assert!(on_split, "the demo is scored on its split's test samples");
    let p = predict_dataset(&model, &run, &ds, &mut |_, _| true).unwrap();
    assert_eq!(p.num_samples(), rows.len());
    // Every unseen-class sample is a test sample; seen-class training samples are not scored.
    let unseen = &run.config.split.unseen;
    let unseen_samples = ds
        .samples
        .iter()
        .filter(|s| unseen.contains(&s.meta.label))
        .count();
    let m = p.metrics();
    assert_eq!(m.unseen_samples, unseen_samples);
    assert!(m.seen_samples > 0 && m.seen_samples < ds.samples.len() - unseen_samples);

    let chance = 1.0 / unseen.len() as f32;
    assert!(
        m.zsl_accuracy >= 2.0 * chance,
        "ZSL {:.3} vs chance {chance:.3}: {m:?}",
        m.zsl_accuracy
    );
    // Scoring the dataset live reproduces the evaluation `skelzero train` recorded from the feature file.
    let e = run
        .config
        .evaluation
        .as_ref()
        .expect("the run records its evaluation");
    assert!(
        (f64::from(m.zsl_accuracy) - e.zsl_top1).abs() < 1e-6,
        "{m:?} vs {e:?}"
    );
    assert!(
        (f64::from(m.seen_accuracy) - e.gzsl.s).abs() < 1e-6,
        "{m:?} vs {e:?}"
    );
    assert!(
        (f64::from(m.unseen_accuracy) - e.gzsl.u).abs() < 1e-6,
        "{m:?} vs {e:?}"
    );
    eprintln!(
        "demo: ZSL {:.1}% (chance {:.1}%), GZSL S {:.1}% U {:.1}% H {:.1}%",
        100.0 * m.zsl_accuracy,
        100.0 * chance,
        100.0 * m.seen_accuracy,
        100.0 * m.unseen_accuracy,
        100.0 * m.harmonic
    );
}

#[test]
fn the_demo_files_load_from_disk_like_the_embedded_bytes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let from_disk = skelzero::experiment::run::load_run(&root.join("zsl")).unwrap();
    let embedded = demo_run().unwrap();
    assert_eq!(from_disk.config, embedded.config);
    let a = from_disk.classes.sentences.flatten_all().unwrap();
    let b = embedded.classes.sentences.flatten_all().unwrap();
    assert_eq!(a.to_vec1::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
    let enc = EncoderModel::load(&root.join("encoder"), &candle_core::Device::Cpu).unwrap();
    assert_eq!(
        enc.config,
        demo_encoder(&candle_core::Device::Cpu).unwrap().config
    );
}

#[test]
fn predict_writes_predictions_the_explorer_opens() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .arg("predict")
        .arg("--encoder")
        .arg(root.join("encoder"))
        .arg("--run")
        .arg(root.join("zsl"))
        .args(["--dataset", "synthetic", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let p = skelzero::pipeline::predictions::Predictions::load(&out).unwrap();
    let m = p.metrics();
    assert!(
        stdout.contains(&format!("ZSL top-1 {:.1}%", 100.0 * m.zsl_accuracy)),
        "{stdout}"
    );
    // The same samples and scores as scoring in-process.
    let q = predict_dataset(
        &demo_encoder(&candle_core::Device::Cpu).unwrap(),
        &demo_run().unwrap(),
        &demo_dataset(),
        &mut |_, _| true,
    )
    .unwrap();
    assert_eq!(p.sample_ids, q.sample_ids);
    assert_eq!(p.classes, q.classes);
    assert!(
        p.scores
            .iter()
            .zip(&q.scores)
            .all(|(a, b)| (a - b).abs() < 1e-4)
    );
}
