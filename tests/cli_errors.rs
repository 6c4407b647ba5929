//! One clear sentence for each command-line mistake found by users (issue 22, item 11): a safetensors file is not a
//! pickle; a run folder given to the wrong flag is named with its kind and the flag that takes it; an error's cause
//! prints once; a dataset flag that matches none of the files names the layout they look like.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

mod cli;
use cli::skelzero;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd`, which must fail; returns its stderr.
fn failed(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded:\n{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    stderr
}

fn encoder_run() -> PathBuf {
    root().join("assets/demo/encoder")
}

fn train_run() -> PathBuf {
    // The demo's runs share one classes file one folder up; a method folder holds its config and weights.
    root().join("assets/demo/runs/devise")
}

#[test]
fn a_safetensors_file_is_not_called_a_pickle() {
    let dir = tempfile::tempdir().unwrap();
    // A 128-byte header: the file's first byte is 0x80, the pickle protocol opcode.
    let mut header = br#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.to_vec();
    header.resize(128, b' ');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    assert_eq!(bytes[0], 0x80);
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&1.0f32.to_le_bytes());
    for name in ["features.safetensors", "features.npy"] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = failed(skelzero().arg("inspect").arg(&path));
        assert!(
            err.contains("safetensors file") && err.contains(name),
            "{err}"
        );
        assert!(!err.contains("pickle"), "{err}");
    }
}

#[test]
fn a_pretrain_run_given_as_run_is_named_with_the_flag_that_takes_it() {
    for args in [vec!["gui", "--run"], vec!["eval", "--run"]] {
        let err = failed(skelzero().args(&args).arg(encoder_run()));
        assert!(
            err.contains("this is a `skelzero pretrain` run") && err.contains("--encoder"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("predictions.json") && !err.contains("No such file"),
            "{args:?}: {err}"
        );
    }
    // Swapped in `predict`: the encoder as --run, the zero-shot run as --encoder.
    let err = failed(
        skelzero()
            .args(["predict", "--dataset", "synthetic", "--encoder"])
            .arg(train_run())
            .arg("--run")
            .arg(encoder_run()),
    );
    assert!(
        err.contains("this is a `skelzero train` run")
            && err.contains("--encoder takes a `skelzero pretrain` run"),
        "{err}"
    );
    // The swapped pair in the explorer: named before the window opens.
    let err = failed(
        skelzero()
            .args(["gui", "--data", "demo", "--encoder"])
            .arg(train_run())
            .arg("--run")
            .arg(encoder_run()),
    );
    assert!(
        err.contains("--run takes a `skelzero train` run") && err.contains("gui --encoder"),
        "{err}"
    );
}

#[test]
fn extract_with_a_train_run_says_what_it_is_not_a_toml_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = failed(
        skelzero()
            .args(["extract", "--dataset", "synthetic", "--run"])
            .arg(train_run())
            .arg("--out")
            .arg(dir.path().join("f.npy")),
    );
    assert!(
        err.contains("this is a `skelzero train` run")
            && err.contains("--run takes a `skelzero pretrain` run"),
        "{err}"
    );
    assert!(
        !err.contains("TOML") && !err.contains("missing field"),
        "{err}"
    );
}

#[test]
fn eval_prints_its_error_once() {
    let err = failed(skelzero().args(["eval", "--run"]).arg(encoder_run()));
    assert!(err.contains("skelzero pretrain"), "{err}");
    assert_eq!(err.matches("skelzero pretrain").count(), 1, "{err}");
    // A missing file's cause is in the message once, not repeated by the error chain.
    let dir = tempfile::tempdir().unwrap();
    let err = failed(skelzero().args(["eval", "--run"]).arg(dir.path()));
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn a_dataset_flag_that_fits_no_file_names_the_layout_they_look_like() {
    let pku = root().join("../shared/data/pku-mmd-v1");
    let dir = tempfile::tempdir().unwrap();
    let pretrain = failed(
        skelzero()
            .args(["pretrain", "--dataset", "msr", "--data"])
            .arg(&pku)
            .arg("--out")
            .arg(dir.path().join("run")),
    );
    let predict = failed(
        skelzero()
            .args(["predict", "--dataset", "msr", "--encoder"])
            .arg(encoder_run())
            .arg("--run")
            .arg(train_run())
            .arg("--data")
            .arg(&pku)
            .arg("--out")
            .arg(dir.path().join("p.json")),
    );
    for err in [pretrain, predict] {
        assert!(
            err.contains("no msr skeleton files")
                && err.contains("PKU-MMD")
                && err.contains("--dataset pku"),
            "{err}"
        );
        assert!(!err.contains("no skeleton files recognised"), "{err}");
    }
}
