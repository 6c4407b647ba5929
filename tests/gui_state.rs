//! `skelzero gui --dump-state` in a real window under a private Xvfb server: what the explorer shows, read back as
//! JSON. A run shows its figures (each saying what it is computed on) only over the dataset it was computed on; over
//! another dataset the figures are gone and the state says the run does not match. A real run opens on a sample it
//! scored.
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

/// Runs the window with `args` until it has loaded and scored, and returns the state it wrote.
fn dump_state(xvfb: &xvfb::Xvfb, args: &[&std::ffi::OsStr]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let output = Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .arg("gui")
        .args(args)
        .args(["--fresh", "--exit-after-frames", "5", "--dump-state"])
        .arg(&state)
        .env("DISPLAY", &xvfb.display)
        .env("WGPU_BACKEND", "vulkan")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr:\n{stderr}");
    let text = std::fs::read_to_string(&state)
        .unwrap_or_else(|e| panic!("{}: {e}\nstderr:\n{stderr}", state.display()));
    serde_json::from_str(&text).unwrap()
}

fn view_names(state: &Value) -> Vec<String> {
    state["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let r = v["rect"].as_array().unwrap();
            assert_eq!(r.len(), 4, "{v}");
            assert!(
                r[2].as_f64().unwrap() > 0.0 && r[3].as_f64().unwrap() > 0.0,
                "{v}"
            );
            v["name"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Every figure shown has a value and says what it is computed on.
fn assert_figures_have_a_basis(figures: &Value) {
    let figures = figures
        .as_object()
        .expect("figures while a matching run is shown");
    let mut n = 0;
    for (name, f) in figures {
        if f.is_object() {
            assert!(f["value"].is_number(), "{name}: {f}");
            let basis = f["basis"].as_str().unwrap_or_default();
            assert!(basis == "test" || basis == "validation", "{name}: {f}");
            n += 1;
        }
    }
    assert!(n >= 5, "{figures:?}");
    assert_eq!(figures["zsl_accuracy"]["basis"], "test");
    assert_eq!(figures["gamma"]["basis"], "validation");
    assert_eq!(figures["gamma"]["source"], "validation");
}

#[test]
fn the_demo_shows_its_figures_and_the_demo_run_over_msr_shows_none() {
    let xvfb = xvfb::Xvfb::start();
    let demo = dump_state(&xvfb, &["--view".as_ref(), "calibration".as_ref()]);
    assert_eq!(demo["dataset"]["classes"], 26, "{demo}");
    assert_eq!(demo["run"]["name"], "demo");
    assert_eq!(demo["run"]["matches_dataset"], true, "{demo}");
    assert_figures_have_a_basis(&demo["figures"]);
    assert_eq!(demo["selected"]["scored"], true, "{demo}");
    assert!(demo["player"]["frames"].as_u64().unwrap() > 0);
    assert_eq!(demo["player"]["preprocessed"], false);
    // The player holds still while the demo is scored, then plays the sample the scores chose.
    assert_eq!(demo["player"]["playing"], true, "{demo}");
    let views = view_names(&demo);
    for v in ["browser", "player", "predictions", "GZSL calibration"] {
        assert!(views.iter().any(|n| n == v), "{v}: {views:?}");
    }
    assert!(!views.iter().any(|n| n.contains("mismatch")), "{views:?}");

    // Another of the demo's embedded runs as run B: scored live like run A, on the same 320 test samples.
    let compared = dump_state(
        &xvfb,
        &[
            "--compare".as_ref(),
            "demo:star".as_ref(),
            "--view".as_ref(),
            "compare".as_ref(),
        ],
    );
    let ag = &compared["figures"]["agreement"];
    assert_eq!(ag["basis"], "test", "{compared}");
    let common = ag["common"].as_u64().unwrap();
    assert_eq!(
        common,
        demo["figures"]["unseen_samples"].as_u64().unwrap()
            + demo["figures"]["seen_samples"].as_u64().unwrap(),
        "{ag}"
    );
    assert!(
        view_names(&compared).iter().any(|n| n == "Run comparison"),
        "{compared}"
    );

    // The demo run over MSR Action3D: its 26 classes are not MSR's 20.
    let msr = msr();
    let over = dump_state(
        &xvfb,
        &[
            "--data".as_ref(),
            msr.as_os_str(),
            "--run".as_ref(),
            "demo".as_ref(),
        ],
    );
    assert_eq!(over["dataset"]["classes"], 20, "{over}");
    assert_eq!(over["run"]["matches_dataset"], false, "{over}");
    assert!(over["figures"].is_null(), "{over}");
    let why = over["run"]["mismatch"].as_str().unwrap();
    assert!(why.contains("26 classes") && why.contains("20"), "{why}");
    assert_eq!(over["selected"]["scored"], false, "{over}");
    assert!(
        view_names(&over).iter().any(|n| n == "run mismatch banner"),
        "{over}"
    );
}

/// The demo holds its encoder: the nearest-samples view lists the nearest training samples of the selected test
/// sample, of seen classes, sorted by cosine, beside the nearest test samples.
#[test]
fn the_demo_lists_the_nearest_training_samples_sorted_by_cosine() {
    let xvfb = xvfb::Xvfb::start();
    let state = dump_state(
        &xvfb,
        &[
            "--view".as_ref(),
            "neighbours".as_ref(),
            "--view".as_ref(),
            "class-accuracy".as_ref(),
        ],
    );
    let near = &state["figures"]["nearest"];
    let training = near["training"]
        .as_array()
        .unwrap_or_else(|| panic!("no training list: {near}"));
    assert_eq!(training.len(), 10, "{near}");
    let cosines: Vec<f64> = training
        .iter()
        .map(|t| {
            assert_eq!(t["split"], "training", "{t}");
            t["cosine"].as_f64().unwrap()
        })
        .collect();
    assert!(cosines.windows(2).all(|w| w[0] >= w[1]), "{cosines:?}");
    assert!(
        cosines.iter().all(|c| (-1.0..=1.0001).contains(c)),
        "{cosines:?}"
    );
    // Training samples are of seen classes: none is an unseen class (the ZSL bars list the unseen ones).
    let unseen: Vec<&str> = state["figures"]["class_accuracy"]["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert!(!unseen.is_empty());
    for t in training {
        let class = t["class"].as_str().unwrap();
        assert!(!unseen.contains(&class), "{class} is unseen: {t}");
    }
    // And none of them is a scored (test) sample listed beside them.
    let selected = state["selected"]["id"].as_str().unwrap();
    for t in training {
        assert_ne!(t["id"].as_str().unwrap(), selected);
    }
    for s in near["samples"].as_array().unwrap() {
        assert_eq!(s["split"], "test", "{s}");
        assert!(!training.iter().any(|t| t["id"] == s["id"]), "{s}");
    }
}

/// Random unit class embeddings for MSR's 20 classes (the test is about binding, not accuracy).
fn texts(path: &Path) {
    let dev = Device::Cpu;
    let t = |seed: u64| {
        let v: Vec<f32> = (0..20 * 8)
            .map(|i| (((i as u64 + 1) * 2_654_435_761 + seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let t = Tensor::from_vec(v, (20, 8), &dev).unwrap();
        t.broadcast_div(&t.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap())
            .unwrap()
    };
    let ce = ClassEmbeddings {
        names: t(1),
        sentences: t(2),
        parts: None,
        phrases: None,
        motion: None,
    };
    save_class_embeddings(path, &ce).unwrap();
}

#[test]
fn a_real_msr_run_opens_on_a_scored_sample_and_not_over_pku_mmd() {
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
                "train", "--method", "devise", "--split", "msr1", "--epochs", "2", "--lr", "1e-2",
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
    succeeded(
        skelzero()
            .args(["eval", "--predictions", "--run"])
            .arg(&run),
    );

    let xvfb = xvfb::Xvfb::start();
    let msr = msr();
    let state = dump_state(
        &xvfb,
        &[
            "--data".as_ref(),
            msr.as_os_str(),
            "--run".as_ref(),
            run.as_os_str(),
            "--view".as_ref(),
            "neighbours".as_ref(),
        ],
    );
    assert_eq!(state["run"]["matches_dataset"], true, "{state}");
    // A run opened from predictions.json has no training features: the view says so.
    let why = state["figures"]["nearest"]["training"]["unavailable"]
        .as_str()
        .unwrap_or_else(|| panic!("{state}"));
    assert!(why.contains("predictions.json"), "{why}");
    // The true and predicted classes' sentences come from MSR's text files for a folder run.
    assert_eq!(state["selected"]["class_texts"], "dataset", "{state}");

    // A gamma saved with the run (as the calibration view's "Save with the run" writes it) is applied when the run
    // is opened, labelled in the window, and reported with the basis it was chosen on.
    let validation = state["figures"]["gamma"]["value"].as_f64().unwrap();
    skelzero::experiment::saved_gamma::SavedGamma {
        gamma: validation + 0.25,
        chosen_on: skelzero::zsl::branch_set::ChosenOn::Test,
        validation_gamma: validation,
    }
    .save(&run)
    .unwrap();
    let saved = dump_state(
        &xvfb,
        &[
            "--data".as_ref(),
            msr.as_os_str(),
            "--run".as_ref(),
            run.as_os_str(),
            "--view".as_ref(),
            "calibration".as_ref(),
        ],
    );
    let g = &saved["figures"]["gamma"];
    assert!(
        (g["value"].as_f64().unwrap() - (validation + 0.25)).abs() < 1e-4,
        "{g}"
    );
    assert_eq!(g["source"], "user", "{g}");
    assert_eq!(g["basis"], "test", "{g}");
    assert_eq!(g["saved"], true, "{g}");
    let label = saved["run"]["label"].as_str().unwrap();
    assert!(
        label.contains("saved gamma") && label.contains("chosen on test"),
        "{label}"
    );
    std::fs::remove_file(run.join(skelzero::experiment::saved_gamma::GAMMA_FILE)).unwrap();
    assert_figures_have_a_basis(&state["figures"]);
    assert_eq!(state["selected"]["scored"], true, "{state}");
    assert!(
        state["selected"]["id"].as_str().unwrap().starts_with('a'),
        "{state}"
    );

    // A second run on the same data, compared with the first: both runs bound to MSR, figures on the test split.
    let run2 = d.join("run2");
    succeeded(
        skelzero()
            .args([
                "train", "--method", "devise", "--split", "msr1", "--epochs", "1", "--lr", "5e-2",
            ])
            .arg("--features")
            .arg(&features)
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--class-names")
            .arg(msr.join("text/classes.tsv"))
            .arg("--out")
            .arg(&run2),
    );
    succeeded(
        skelzero()
            .args(["eval", "--predictions", "--run"])
            .arg(&run2),
    );
    let compared = dump_state(
        &xvfb,
        &[
            "--data".as_ref(),
            msr.as_os_str(),
            "--run".as_ref(),
            run.as_os_str(),
            "--compare".as_ref(),
            run2.as_os_str(),
            "--view".as_ref(),
            "compare".as_ref(),
        ],
    );
    // The selected (scored) sample shows B's prediction too (the browser's B column).
    assert!(
        compared["selected"]["prediction_b"].is_string(),
        "{compared}"
    );
    let ag = &compared["figures"]["agreement"];
    assert_eq!(ag["basis"], "test", "{compared}");
    let common = ag["common"].as_u64().unwrap();
    assert_eq!(
        common,
        state["figures"]["unseen_samples"].as_u64().unwrap()
            + state["figures"]["seen_samples"].as_u64().unwrap(),
        "{ag}"
    );
    let cells: u64 = ["both_right", "only_a_right", "only_b_right", "both_wrong"]
        .iter()
        .map(|k| ag[k].as_u64().unwrap())
        .sum();
    assert_eq!(cells, common, "{ag}");
    let agree = ag["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&agree), "{ag}");
    assert!(
        view_names(&compared).iter().any(|n| n == "Run comparison"),
        "{compared}"
    );

    // The same run over PKU-MMD: 20 MSR classes against PKU's 51.
    let pku = root().join("../shared/data/pku-mmd-v1");
    let over = dump_state(
        &xvfb,
        &[
            "--data".as_ref(),
            pku.as_os_str(),
            "--run".as_ref(),
            run.as_os_str(),
        ],
    );
    assert_eq!(over["run"]["matches_dataset"], false, "{over}");
    assert!(over["figures"].is_null(), "{over}");
}

/// A view's rectangle by name, as `egui::Rect`.
fn view_rect(state: &Value, name: &str) -> Option<egui::Rect> {
    state["views"].as_array()?.iter().find_map(|v| {
        (v["name"] == name).then(|| {
            let r: Vec<f32> = v["rect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            egui::Rect::from_min_size(egui::pos2(r[0], r[1]), egui::vec2(r[2], r[3]))
        })
    })
}

#[test]
fn with_every_view_open_the_dock_covers_neither_the_player_nor_the_browser() {
    let xvfb = xvfb::Xvfb::start();
    let mut args: Vec<&std::ffi::OsStr> = vec!["--size".as_ref(), "1280x800".as_ref()];
    for v in [
        "tsne",
        "calibration",
        "star",
        "branches",
        "export",
        "editor",
        "class-accuracy",
        "neighbours",
    ] {
        args.push("--view".as_ref());
        args.push(v.as_ref());
    }
    let state = dump_state(&xvfb, &args);
    let player = view_rect(&state, "player").expect("the player");
    let browser = view_rect(&state, "browser").expect("the browser");
    let dock = view_rect(&state, "dock").expect("the dock");
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    // Every view has a tab in the dock.
    let dock_entry = state["views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "dock")
        .unwrap();
    let tabs: Vec<&str> = dock_entry["tabs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for t in [
        "t-SNE",
        "GZSL calibration",
        "STAR part scores",
        "InfoCPL branches",
        "Export",
        "Class descriptions",
    ] {
        assert!(tabs.contains(&t), "{t}: {tabs:?}");
    }
    // Overlap of more than a pixel's width (neighbouring panels share an edge).
    let overlaps = |a: egui::Rect, b: egui::Rect| {
        let i = a.intersect(b);
        i.width() > 1.0 && i.height() > 1.0
    };
    let names = view_names(&state);
    let mut tab_shown = false;
    for name in &names {
        if name == "player" || name == "browser" {
            continue;
        }
        let r = view_rect(&state, name).unwrap();
        assert!(
            !overlaps(r, player),
            "{name} {r:?} covers the player {player:?}"
        );
        assert!(
            !overlaps(r, browser),
            "{name} {r:?} covers the browser {browser:?}"
        );
        assert!(
            window.expand(1.0).contains_rect(r),
            "{name} {r:?} outside the window"
        );
        tab_shown |= tabs.contains(&name.as_str());
        if tabs.contains(&name.as_str()) {
            assert!(
                dock.expand(1.0).contains_rect(r),
                "{name} {r:?} outside the dock {dock:?}"
            );
        }
    }
    assert!(tab_shown, "no tab drawn: {names:?}");
    // The player and the browser keep usable room beside the dock.
    assert!(
        player.width() >= 400.0 && player.height() >= 250.0,
        "{player:?}"
    );
    assert!(browser.height() >= 600.0, "{browser:?}");
    assert!(dock.width() >= 700.0 && dock.height() >= 200.0, "{dock:?}");
}
