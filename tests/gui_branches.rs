//! The InfoCPL branch window on a real `skelzero train` run over MSR Action3D, read back through `gui --dump-state`:
//! the applied branch set's figure to tune on is computed on seen-class validation (the run's fold models), and a
//! saved set is reported by `skelzero eval --json` with the figure it was chosen on.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{Device, Tensor};
use serde_json::Value;
use skelzero::zsl::ClassEmbeddings;
use skelzero::zsl::features::save_class_embeddings;

mod cli;
mod xvfb;
use cli::{skelzero, succeeded};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn msr() -> PathBuf {
    root().join("../shared/data/msr-action3d")
}

/// Seeded unit class texts for MSR's 20 classes with the phrase codebook InfoCPL reads (4 phrases per class).
fn texts(path: &Path) {
    let dev = Device::Cpu;
    let unit = |shape: &[usize], seed: u64| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| (((i as u64 + 1) * 2_654_435_761 + seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let t = Tensor::from_vec(v, shape, &dev).unwrap();
        let norm = t
            .sqr()
            .unwrap()
            .sum_keepdim(shape.len() - 1)
            .unwrap()
            .sqrt()
            .unwrap();
        t.broadcast_div(&norm).unwrap()
    };
    let ce = ClassEmbeddings {
        names: unit(&[20, 8], 1),
        sentences: unit(&[20, 8], 2),
        parts: None,
        phrases: Some(unit(&[20, 4, 8], 3)),
        motion: Some(unit(&[20, 8], 4)),
    };
    save_class_embeddings(path, &ce).unwrap();
}

fn eval_json(run: &Path) -> Value {
    let out = succeeded(skelzero().args(["eval", "--json", "--run"]).arg(run));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_branch_window_shows_a_validation_figure_and_a_saved_set_records_its_basis() {
    let d = tempfile::tempdir().unwrap();
    let d = d.path();
    let features = d.join("msr1.safetensors");
    succeeded(
        skelzero()
            .args(["extract", "--dataset", "msr", "--split", "msr1", "--run"])
            .arg(root().join("assets/demo/encoder"))
            .arg("--data")
            .arg(msr())
            .arg("--out")
            .arg(&features),
    );
    texts(&d.join("texts.safetensors"));
    let run = d.join("run");
    succeeded(
        skelzero()
            .args([
                "train", "--method", "infocpl", "--split", "msr1", "--epochs", "3", "--lr", "1e-3",
            ])
            .arg("--features")
            .arg(&features)
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--class-names")
            .arg(msr().join("text/classes.tsv"))
            .arg("--out")
            .arg(&run),
    );
    assert!(
        run.join("validation.safetensors").is_file(),
        "an InfoCPL run keeps its validation fold models"
    );
    succeeded(
        skelzero()
            .args(["eval", "--predictions", "--run"])
            .arg(&run),
    );
    let json = eval_json(&run);
    assert_eq!(json["branch_set_source"], "trained", "{json}");
    assert!(json["branch_set_basis"].is_null(), "{json}");

    let xvfb = xvfb::Xvfb::start();
    let state_file = d.join("state.json");
    let output = Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .arg("gui")
        .arg("--data")
        .arg(msr())
        .arg("--run")
        .arg(&run)
        .args(["--view", "branches", "--fresh", "--exit-after-frames", "5"])
        .arg("--dump-state")
        .arg(&state_file)
        .env("DISPLAY", &xvfb.display)
        .env("WGPU_BACKEND", "vulkan")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr:\n{stderr}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let figures = &state["figures"];
    assert_eq!(state["run"]["matches_dataset"], true, "{state}");
    let val = &figures["branch_set_validation_zsl"];
    assert_eq!(val["basis"], "validation", "{state}");
    let v = val["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&v), "{val}");
    assert!(val["samples"].as_u64().unwrap() > 0, "{val}");
    assert!(figures["branch_set_validation_absent"].is_null(), "{state}");
    assert!(
        figures["branch_sets_tried"].as_u64().unwrap() >= 1,
        "{state}"
    );
    // The run's other figures stay on the test split.
    assert_eq!(figures["zsl_accuracy"]["basis"], "test", "{state}");
    assert!(
        state["views"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "InfoCPL branches"),
        "{state}"
    );

    // A set saved as chosen on validation is reported so; an old file without the field as chosen on test figures.
    let loaded = skelzero::experiment::run::load_run(&run).unwrap();
    let topk = loaded.method.as_infocpl().unwrap().trained_topk();
    let mut set = skelzero::zsl::branch_set::BranchSet::trained(&topk);
    set.branches[0].enabled = false;
    set.save(
        &run,
        skelzero::zsl::branch_set::ChosenOn::Validation,
        Some(v),
    )
    .unwrap();
    let json = eval_json(&run);
    assert_eq!(json["branch_set_source"], "user", "{json}");
    assert_eq!(json["branch_set_basis"], "validation", "{json}");
    std::fs::write(
        run.join("branch_set.toml"),
        "format = 1\n[[branch]]\nweights = 0\nk = 1\n",
    )
    .unwrap();
    assert_eq!(eval_json(&run)["branch_set_basis"], "test");

    // The same folder trained again with another method drops the fold models and the saved branch set of the old
    // weights.
    succeeded(
        skelzero()
            .args([
                "train", "--method", "devise", "--split", "msr1", "--epochs", "1", "--lr", "1e-2",
            ])
            .arg("--features")
            .arg(&features)
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(&run),
    );
    assert!(!run.join("validation.safetensors").exists());
    assert!(!run.join("branch_set.toml").exists());
}
