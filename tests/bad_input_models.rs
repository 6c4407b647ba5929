//! Bad checkpoints, run folders and configs: each gives one clear error naming the file and the field, through the
//! CLI (exit status 1, one `error:` message, no panic or backtrace).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod bad_files;
mod zsl_synth;

use std::path::Path;

use bad_files::{pretrain_run, small_stgcn, wide_stgcn};
use candle_core::Device;
use skelzero::nn::encoder::EncoderConfig;
use skelzero::nn::shiftgcn::ShiftGcnConfig;
use skelzero::pretrain::run::RunDir;
mod cli;
use cli::{skelzero, succeeded};

/// Runs the binary, which must fail with exit status 1 and a single `error:` message containing every `expected`
/// piece and no panic or backtrace. Returns the message.
fn fails(args: &[&std::ffi::OsStr], expected: &[&str]) -> String {
    let out = skelzero()
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.matches("error: ").count(), 1, "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "expected `{e}` in:\n{stderr}");
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace") && !stderr.contains("RUST_"),
        "{stderr}"
    );
    stderr
}

fn os<'a>(items: &'a [&'a dyn AsRef<std::ffi::OsStr>]) -> Vec<&'a std::ffi::OsStr> {
    items.iter().map(|s| s.as_ref()).collect()
}

fn extract_fails(run: &RunDir, expected: &[&str]) -> String {
    let out = run.root.join("feats.npy");
    fails(
        &os(&[
            &"extract",
            &"--dataset",
            &"synthetic",
            &"--run",
            &run.root,
            &"--out",
            &out,
        ]),
        expected,
    )
}

#[test]
fn checkpoint_of_another_encoder_or_shape() {
    let dir = tempfile::tempdir().unwrap();
    // Shift-GCN weights under an ST-GCN config.
    let shift = EncoderConfig::Shiftgcn(ShiftGcnConfig::default());
    let run = pretrain_run(dir.path(), &small_stgcn(), &shift);
    let err = extract_fails(
        &run,
        &[
            "checkpoint.safetensors does not match the network (",
            "a checkpoint of another encoder or configuration?",
            "missing key `",
            "more",
        ],
    );
    assert!(err.lines().count() <= 9, "{err}");

    // The same network, another width: the shapes are named.
    let dir = tempfile::tempdir().unwrap();
    let run = pretrain_run(dir.path(), &small_stgcn(), &wide_stgcn());
    let err = extract_fails(
        &run,
        &[
            "checkpoint.safetensors does not match the network:",
            "expected shape [12], found [18]",
        ],
    );
    assert!(!err.contains("another encoder"), "{err}");

    // A truncated checkpoint (a half-copied file).
    let bytes = std::fs::read(run.checkpoint_path()).unwrap();
    std::fs::write(run.checkpoint_path(), &bytes[..bytes.len() / 3]).unwrap();
    extract_fails(
        &run,
        &["checkpoint.safetensors: not a valid safetensors file"],
    );
    std::fs::write(run.checkpoint_path(), b"").unwrap();
    extract_fails(
        &run,
        &["checkpoint.safetensors: not a valid safetensors file"],
    );
}

#[test]
fn pretrain_config_from_the_future_or_broken() {
    let dir = tempfile::tempdir().unwrap();
    let run = pretrain_run(dir.path(), &small_stgcn(), &small_stgcn());
    let text = std::fs::read_to_string(run.config_path()).unwrap();
    assert!(text.starts_with("format = 1\n"), "{text}");
    let future = text.replacen("format = 1", "format = 2", 1) + "\n[augment]\nmixup = 0.2\n";
    std::fs::write(run.config_path(), future).unwrap();
    extract_fails(
        &run,
        &[
            "config.toml: field `format`: pretraining run format 2 was written by a newer skelzero",
            "reads formats up to 1",
        ],
    );
    // A number field holding text: the line is named.
    let broken = text.replacen("frames = 8", "frames = \"eight\"", 1);
    assert_ne!(broken, text);
    std::fs::write(run.config_path(), broken).unwrap();
    extract_fails(&run, &["config.toml: ", "line ", "frames"]);
    // An impossible body count is named with its field.
    let three = text.replacen("bodies = 2", "bodies = 3", 1);
    assert_ne!(three, text);
    std::fs::write(run.config_path(), three).unwrap();
    extract_fails(&run, &["config.toml: ", "data.bodies = 3"]);
    // Files written before format versions existed still load.
    std::fs::write(run.config_path(), text.replacen("format = 1\n", "", 1)).unwrap();
    succeeded(
        skelzero()
            .args([
                "extract",
                "--dataset",
                "synthetic",
                "--batch-size",
                "64",
                "--run",
            ])
            .arg(&run.root)
            .arg("--out")
            .arg(run.root.join("feats.npy")),
    );
}

fn zsl_inputs(d: &Path) {
    zsl_synth::write_split(&d.join("split1.safetensors"), &d.join("texts.safetensors"));
}

fn train_run(d: &Path, method: &str, out: &str) {
    succeeded(
        skelzero()
            .args([
                "train", "--split", "split1", "--epochs", "3", "--method", method,
            ])
            .arg("--features")
            .arg(d.join("split1.safetensors"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(d.join(out)),
    );
}

#[test]
fn zsl_run_with_foreign_weights_future_config_or_bad_fields() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    zsl_inputs(d);
    train_run(d, "devise", "run");
    train_run(d, "relationnet", "other");
    let run = d.join("run");
    let eval = |expected: &[&str]| fails(&os(&[&"eval", &"--run", &run]), expected);

    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.starts_with("format = 1\n"), "{config}");
    std::fs::write(
        run.join("config.toml"),
        config.replacen("format = 1", "format = 3", 1),
    )
    .unwrap();
    eval(&["config.toml: field `format`: run format 3 was written by a newer skelzero"]);
    std::fs::write(
        run.join("config.toml"),
        config.replacen("format = 1", "format = \"one\"", 1),
    )
    .unwrap();
    eval(&["config.toml: field `format`: expected a format version from 1 to 1"]);
    let gamma = config
        .lines()
        .find(|l| l.starts_with("gamma = "))
        .unwrap()
        .to_string();
    std::fs::write(
        run.join("config.toml"),
        config.replacen(&gamma, "gamma = \"high\"", 1),
    )
    .unwrap();
    eval(&["config.toml: ", "line ", "gamma"]);
    std::fs::write(run.join("config.toml"), &config).unwrap();

    // Weights of another method, then a truncated weights file.
    let good = std::fs::read(run.join("weights.safetensors")).unwrap();
    std::fs::copy(
        d.join("other/weights.safetensors"),
        run.join("weights.safetensors"),
    )
    .unwrap();
    eval(&["weights.safetensors: ", "tensor `"]);
    std::fs::write(run.join("weights.safetensors"), &good[..good.len() - 9]).unwrap();
    eval(&["weights.safetensors: "]);
    std::fs::write(run.join("weights.safetensors"), &good).unwrap();
    // Class embeddings of another dimension.
    std::fs::copy(d.join("texts.safetensors"), run.join("classes.safetensors")).unwrap();
    succeeded(skelzero().args(["eval", "--run"]).arg(&run));
    std::fs::write(
        run.join("classes.safetensors"),
        b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ",
    )
    .unwrap();
    eval(&["classes.safetensors: "]);
}

/// Found by fuzz/zsl_safetensors: a 1-d `train.pooled` gave a candle error that carried a whole backtrace into the
/// message when RUST_BACKTRACE was set.
#[test]
fn feature_file_with_a_wrong_rank() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    zsl_inputs(d);
    let mut m = candle_core::safetensors::load(d.join("split1.safetensors"), &Device::Cpu).unwrap();
    m.insert(
        "train.pooled".into(),
        candle_core::Tensor::new(&[1f32, 2., 3., 4.], &Device::Cpu).unwrap(),
    );
    let bad = d.join("bad.safetensors");
    candle_core::safetensors::save(&m, &bad).unwrap();
    let (texts, out) = (d.join("texts.safetensors"), d.join("run"));
    let err = fails(
        &os(&[
            &"train",
            &"--method",
            &"devise",
            &"--split",
            &"s",
            &"--features",
            &bad,
            &"--texts",
            &texts,
            &"--out",
            &out,
        ]),
        &["bad.safetensors: train: pooled features: expected shape (N, C), got [4]"],
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
