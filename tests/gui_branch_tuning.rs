//! Tuning an InfoCPL branch set in the explorer on seen-class validation (egui_kittest): a run folder with fold
//! models gets a validation figure for every set applied, a history row per set that re-applies it when clicked, a
//! ZSL-vs-k sweep with validation and test series, and a save that records the set as chosen on validation.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use skelzero::app::ExplorerApp;
use skelzero::experiment::fold_models::{FoldModel, FoldModels};
use skelzero::experiment::select::ValidationSplit;
use skelzero::zsl::branch_set::{BranchSet, ChosenOn};

mod gui_harness;
mod zsl_synth;

fn wait_for(h: &mut Harness<'static, ExplorerApp>, done: impl Fn(&ExplorerApp) -> bool) {
    gui_harness::wait_for(h, Duration::from_secs(30), done);
}

/// An InfoCPL run folder over the synthetic split (seeded, untrained weights) with its `predictions.json` and two
/// validation folds whose models carry the run's own weights (the test is about the window, not the figures).
fn infocpl_run_with_folds(dir: &std::path::Path) -> std::path::PathBuf {
    use skelzero::experiment::run::{RunConfig, SplitInfo, load_run, save_run};
    use skelzero::zsl::infocpl::InfoCplConfig;
    use skelzero::zsl::{Dims, MethodConfig, features::SplitFeatures};
    let features = dir.join("split.safetensors");
    zsl_synth::write_split(&features, &dir.join("texts.safetensors"));
    let classes =
        skelzero::zsl::features::load_class_embeddings(&dir.join("texts.safetensors")).unwrap();
    let method = MethodConfig::InfoCpl(InfoCplConfig {
        topk: vec![1, 3],
        hidden: [32, 16],
        ..InfoCplConfig::default()
    });
    let dims = Dims {
        visual: zsl_synth::CV,
        text: zsl_synth::D,
    };
    let (_, varmap) = method
        .build_trainable(dims, &candle_core::Device::Cpu, 5)
        .unwrap();
    let run = dir.join("run");
    let split = SplitInfo {
        name: "synth".into(),
        class_names: (0..zsl_synth::C).map(|c| format!("class {c}")).collect(),
        seen: (0..zsl_synth::SEEN).collect(),
        unseen: (zsl_synth::SEEN..zsl_synth::C).collect(),
    };
    let mut cfg = RunConfig::new(method, dims, split);
    cfg.features = Some(features.clone());
    std::fs::create_dir_all(&run).unwrap();
    save_run(&run, &cfg, &varmap, &classes).unwrap();
    let f = SplitFeatures::load(&features).unwrap();
    let weights: HashMap<String, candle_core::Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let fold = |unseen: Vec<usize>| FoldModel {
        split: ValidationSplit {
            pseudo_seen: (0..zsl_synth::SEEN)
                .filter(|c| !unseen.contains(c))
                .collect(),
            train_rows: Vec::new(),
            val_seen_rows: Vec::new(),
            val_unseen_rows: (0..f.train_labels.len())
                .filter(|&i| unseen.contains(&f.train_labels[i]))
                .collect(),
            pseudo_unseen: unseen,
        },
        weights: weights.clone(),
    };
    FoldModels {
        folds: vec![fold(vec![0, 1, 2, 3, 4]), fold(vec![5, 6, 7, 8, 9])],
        train_samples: f.train_labels.len(),
        lr: 1e-3,
        epoch: 0,
    }
    .save(&run)
    .unwrap();
    let loaded = load_run(&run).unwrap();
    skelzero::pipeline::run_predictions::predictions_from_run(&loaded, &f)
        .unwrap()
        .save(&run)
        .unwrap();
    run
}

fn open_view(h: &mut Harness<'static, ExplorerApp>, name: &str) {
    h.get_all_by_label("View").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label(name).click();
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
}

/// The applied set is scored, and measured on validation.
fn settled(app: &ExplorerApp) -> bool {
    let e = &app.views.branches.editor;
    !e.busy()
        && e.applied == e.draft
        && e.applied
            .as_ref()
            .and_then(|a| e.validation_of(a))
            .is_some()
}

#[test]
fn branch_sets_are_tuned_on_validation_with_a_history_and_a_k_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let run = infocpl_run_with_folds(dir.path());
    let mut h = gui_harness::harness(egui::vec2(1280.0, 1000.0));
    h.run_steps(2);
    h.state_mut()
        .apply(skelzero::app::Command::OpenRun(run.clone()));
    wait_for(&mut h, |app| app.predictions.is_some());
    open_view(&mut h, "InfoCPL branches");
    wait_for(&mut h, settled);
    let state = h.state().views.branches.editor.state_json().unwrap();
    assert_eq!(state["branch_set_validation_zsl"]["basis"], "validation");
    // 16 training samples in each of the 10 pseudo-unseen classes.
    assert_eq!(state["branch_set_validation_zsl"]["samples"], 160);
    assert!(h.query_by_label_contains("the figure to tune on").is_some());
    assert!(
        h.query_by_label_contains("Test split (unseen classes: do not tune on this)")
            .is_some()
    );

    // Disable top-1: a second set, scored and validated; both are in the history.
    h.get_by_role_and_label(Role::CheckBox, "top-1").click();
    h.run_steps(2);
    wait_for(&mut h, settled);
    let e = &h.state().views.branches.editor;
    assert_eq!(e.history.entries.len(), 2);
    assert!(
        e.history
            .entries
            .iter()
            .all(|x| x.validation.is_some() && x.test_zsl.is_some())
    );
    assert_eq!(e.history.entries[1].name, "top-3");
    // top-3 alone on validation is the trained set's per-branch figure for top-3.
    let trained = BranchSet::trained(&[1, 3]);
    let alone = e.validation_of(&trained).unwrap().branches[1].1;
    let only3 = e.history.entries[1].validation.unwrap();
    assert!((alone - only3).abs() < 1e-12, "{alone} {only3}");

    // Clicking the first row applies the trained set again.
    h.get_by_label("top-1, top-3").click();
    h.run_steps(2);
    wait_for(&mut h, settled);
    assert_eq!(
        h.state().views.branches.editor.applied,
        Some(trained.clone())
    );

    // The sweep: every k of the 4-phrase codebook, validation and test series.
    h.get_by_label("ZSL against k").click();
    h.run_steps(2);
    h.get_by_label("Sweep k").click();
    h.run_steps(2);
    wait_for(&mut h, |app| {
        let s = &app.views.branches.editor.sweep;
        s.job.is_none() && s.result.is_some()
    });
    let s = h
        .state()
        .views
        .branches
        .editor
        .sweep
        .result
        .clone()
        .unwrap();
    assert_eq!(s.ks, [1, 2, 3, 4]);
    assert_eq!((s.weights, s.trained_k), (0, 1));
    let val = s.validation.unwrap();
    // k = 1 on branch 0's weights is top-1 alone.
    let e = &h.state().views.branches.editor;
    let top1 = e.validation_of(&trained).unwrap().branches[0].1;
    assert!((val[0] - top1).abs() < 1e-12, "{val:?} {top1}");
    assert_eq!(s.test.len(), 4);

    // Saved: recorded as chosen on validation, with its figure.
    h.get_by_label("Save with the run").click();
    h.run_steps(2);
    let path = run.join("branch_set.toml");
    assert_eq!(BranchSet::chosen_on(&path).unwrap(), ChosenOn::Validation);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("validation_zsl"), "{text}");
    let _ = h.render().unwrap();

    // A run without fold models (trained before they were kept) says so, and a save there counts as chosen on test.
    std::fs::remove_file(run.join("validation.safetensors")).unwrap();
    h.state_mut()
        .apply(skelzero::app::Command::OpenRun(run.clone()));
    wait_for(&mut h, |app| {
        let e = &app.views.branches.editor;
        !e.busy()
            && e.state_json()
                .is_some_and(|s| s["branch_set_validation_absent"].is_string())
    });
    let state = h.state().views.branches.editor.state_json().unwrap();
    let why = state["branch_set_validation_absent"].as_str().unwrap();
    assert!(why.contains("no validation data in this run"), "{why}");
    assert!(state["branch_set_validation_zsl"].is_null(), "{state}");
    h.get_by_label("Save with the run").click();
    h.run_steps(2);
    assert_eq!(BranchSet::chosen_on(&path).unwrap(), ChosenOn::Test);
}
