//! Pretraining defaults per dataset: MSR Action3D (one actor) trains on one body, turned once from the first frame,
//! with less dropout, and every later step (feature extraction) preprocesses the same way; flags override each.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use skelzero::nn::encoder::EncoderConfig;
use skelzero::pretrain::run::RunDir;
use skelzero::skeleton::preprocess::Rotation;
use skelzero::zsl::features::SplitFeatures;
mod cli;
use cli::{skelzero, succeeded};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pretrain_msr1(out: &Path, extra: &[&str]) {
    succeeded(
        skelzero()
            .args([
                "pretrain",
                "--dataset",
                "msr",
                "--split",
                "msr1",
                "--epochs",
                "1",
            ])
            .args(["--batch-size", "64", "--data"])
            .arg(root().join("../shared/data/msr-action3d"))
            .args(extra)
            .arg("--out")
            .arg(out),
    );
}

#[test]
fn msr_pretrains_on_one_body_turned_once_and_extracts_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("enc");
    pretrain_msr1(&enc, &[]);
    let cfg = RunDir::new(&enc).load_config().unwrap();
    assert_eq!(cfg.data.bodies, 1);
    assert_eq!(cfg.data.rotation, Rotation::FirstFrameY);
    match &cfg.encoder {
        EncoderConfig::Stgcn(c) => assert_eq!(c.dropout, 0.2),
        other => panic!("{other:?}"),
    }
    let text = std::fs::read_to_string(RunDir::new(&enc).config_path()).unwrap();
    assert!(text.contains("rotation = \"first_frame_y\""), "{text}");

    // Extraction reads the run's preprocessing: one-body inputs fit the one-body encoder.
    let feats = dir.path().join("msr1.safetensors");
    succeeded(
        skelzero()
            .args(["extract", "--dataset", "msr", "--split", "msr1", "--run"])
            .arg(&enc)
            .arg("--data")
            .arg(root().join("../shared/data/msr-action3d"))
            .arg("--out")
            .arg(&feats),
    );
    let f = SplitFeatures::load(&feats).unwrap();
    assert!(f.test_ids.as_ref().is_some_and(|ids| ids.len() > 100));

    // The reference preprocessing stays one flag away.
    let two = dir.path().join("two");
    pretrain_msr1(
        &two,
        &[
            "--bodies",
            "2",
            "--rotation",
            "per-frame-y",
            "--dropout",
            "0.5",
        ],
    );
    let cfg = RunDir::new(&two).load_config().unwrap();
    assert_eq!(
        (cfg.data.bodies, cfg.data.rotation),
        (2, Rotation::PerFrameY)
    );
}

/// `--early-stop PATIENCE`: training stops once the held-out subjects' accuracy has not improved for PATIENCE epochs,
/// the run keeps the best epoch's weights, and a rerun of the same command trains no further.
#[test]
fn early_stopping_keeps_the_best_held_out_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("enc");
    let args = |val: &str| {
        let mut cmd = skelzero();
        cmd.args([
            "pretrain",
            "--dataset",
            "synthetic",
            "--split",
            "synth-demo",
            "--bodies",
            "1",
            "--epochs",
            "6",
            "--lr",
            "5e-3",
            "--batch-size",
            "16",
            "--early-stop",
            "1",
            "--val-fraction",
            val,
        ])
        .arg("--out")
        .arg(&out);
        cmd
    };
    // Without a hold-out there is nothing to stop on: one clear error, no run written.
    let bad = args("0").output().unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("early stopping needs a validation hold-out"),
        "{stderr}"
    );

    assert!(!out.exists());
    succeeded(&mut args("0.3"));
    let run = RunDir::new(&out);
    let progress = run.load_progress().unwrap();
    let metrics = run.load_metrics().unwrap();
    assert_eq!(metrics.len(), progress.epochs_done);
    // The first epoch of the highest validation accuracy.
    let best = metrics
        .iter()
        .fold((0, f64::NEG_INFINITY), |(e, a), m| {
            let v = m.val_acc.unwrap();
            if v > a { (m.epoch, v) } else { (e, a) }
        })
        .0;
    assert_eq!(progress.best_epoch, Some(best), "{metrics:?}");
    if progress.stopped_early {
        assert_eq!(progress.epochs_done, best + 1, "{metrics:?}");
    } else {
        assert_eq!(progress.epochs_done, 6);
    }
    // The run's weights are the best epoch's.
    let ckpt = std::fs::read(run.checkpoint_path()).unwrap();
    assert_eq!(ckpt, std::fs::read(run.best_checkpoint_path()).unwrap());

    // The same command again: nothing left to train, the checkpoint stays.
    let again = succeeded(&mut args("0.3"));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already trained"), "{stderr}");
    assert_eq!(std::fs::read(run.checkpoint_path()).unwrap(), ckpt);
    assert_eq!(run.load_metrics().unwrap().len(), metrics.len());
}
