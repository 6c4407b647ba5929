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
