//! The explorer's analysis views driven through egui_kittest on the constructed fixture (`skelzero::pipeline::fixture`,
//! whose run carries constructed features, STAR part scores and InfoCPL branch scores): GZSL calibration, the live t-SNE map, export, and STAR
//! part colours on the skeleton.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too; a failure is a test failure.

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use skelzero::app::ExplorerApp;
use skelzero::pipeline::fixture::{fixture_dataset, fixture_predictions};
use skelzero::pipeline::fixture_analysis::with_fixture_analysis;

mod gui_harness;
mod zsl_synth;

fn harness() -> Harness<'static, ExplorerApp> {
    gui_harness::harness(egui::vec2(1280.0, 860.0))
}

fn wait_for(h: &mut Harness<'static, ExplorerApp>, done: impl Fn(&ExplorerApp) -> bool) {
    gui_harness::wait_for(h, Duration::from_secs(15), done);
}

fn open_fixture(h: &mut Harness<'static, ExplorerApp>) {
    h.run_steps(2);
    let d = fixture_dataset();
    let p = with_fixture_analysis(fixture_predictions(&d), &d);
    h.state_mut().show("fixture", d, p);
    h.run_steps(1);
    wait_for(h, |app| app.dataset.is_some() && app.predictions.is_some());
    h.state_mut().notifications.items.clear();
    h.run_steps(2);
}

fn open_view(h: &mut Harness<'static, ExplorerApp>, name: &str) {
    // The first "View" is the menu (the browser has a View column too).
    h.get_all_by_label("View").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label(name).click();
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
}

fn metrics(h: &Harness<'static, ExplorerApp>) -> skelzero::pipeline::predictions::Metrics {
    h.state().predictions.as_ref().unwrap().metrics()
}

#[test]
fn moving_gamma_trades_seen_for_unseen_accuracy() {
    let mut h = harness();
    open_fixture(&mut h);
    open_view(&mut h, "GZSL calibration");
    let slider = || Role::Slider;
    h.get_by_role_and_label(slider(), "gamma")
        .set_value_accesskit(-0.45);
    h.run_steps(3);
    let down = metrics(&h);
    assert!((h.state().predictions.as_ref().unwrap().gamma + 0.45).abs() < 1e-3);
    h.get_by_role_and_label(slider(), "gamma")
        .set_value_accesskit(0.45);
    h.run_steps(3);
    let up = metrics(&h);
    // A larger gamma lowers seen-class scores: S falls, U rises.
    assert!(up.seen_accuracy < down.seen_accuracy, "{down:?} -> {up:?}");
    assert!(
        up.unseen_accuracy > down.unseen_accuracy,
        "{down:?} -> {up:?}"
    );
    // The panel shows the new S and U.
    for x in [up.seen_accuracy, up.unseen_accuracy] {
        let label = format!("{:.1} %", x * 100.0);
        assert!(h.query_all_by_label(&label).count() > 0, "no label {label}");
    }
    // The GZSL matrix follows the calibration.
    let gzsl_diag = |h: &Harness<'static, ExplorerApp>| {
        let c = h
            .state()
            .predictions
            .as_ref()
            .unwrap()
            .confusion(skelzero::pipeline::predictions::Setting::Gzsl);
        (0..c.size()).map(|k| c.count(k, k)).sum::<u32>()
    };
    let at_down = gzsl_diag(&h);
    h.get_by_label("Best test H").click();
    h.run_steps(3);
    assert!(gzsl_diag(&h) >= at_down);
    let _ = h.render().unwrap();
}

#[test]
fn tsne_runs_on_a_worker_and_maps_every_point() {
    let mut h = harness();
    open_fixture(&mut h);
    open_view(&mut h, "t-SNE");
    h.get_by_label("Run t-SNE").click();
    h.run_steps(1);
    assert!(
        h.state().views.tsne_job.is_some(),
        "the job runs on a worker"
    );
    wait_for(&mut h, |app| app.views.tsne.map.is_some());
    let map = h.state().views.tsne.map.clone().unwrap();
    // 24 samples and 6 class points.
    assert_eq!(map.points.len(), 30);
    assert!(map.points.iter().flatten().all(|v| v.is_finite()));
    let spread = |a: usize| {
        let v: Vec<f32> = map.points.iter().map(|p| p[a]).collect();
        v.iter().copied().fold(f32::MIN, f32::max) - v.iter().copied().fold(f32::MAX, f32::min)
    };
    assert!(spread(0) > 1.0 && spread(1) > 1.0, "degenerate map");
    assert!(h.query_by_label("Re-run t-SNE").is_some());

    // A click on a point selects and plays its sample (and hovering names it).
    let point_at = |h: &Harness<'static, ExplorerApp>, row: usize| {
        let app = h.state();
        let t = app.views.tsne.last_transform.expect("plot drawn");
        let p = app.views.tsne.map.as_ref().unwrap().points[row];
        t.position_from_point(&egui_plot::PlotPoint::new(f64::from(p[0]), f64::from(p[1])))
    };
    let target = 7;
    // Let the plot's automatic bounds settle before aiming.
    h.run_steps(5);
    let id = h.state().dataset.as_ref().unwrap().samples[target]
        .meta
        .id
        .clone();
    let pos = point_at(&h, target);
    h.event(egui::Event::PointerMoved(pos));
    h.run_steps(2);
    assert_eq!(h.state().views.tsne.hovered, Some(target));
    // Named in the tooltip and under the plot.
    assert_eq!(
        h.query_all_by_label_contains(&format!("{id} · ")).count(),
        2
    );
    for pressed in [true, false] {
        h.event(gui_harness::primary_button(pos, pressed));
    }
    h.run_steps(3);
    assert_eq!(h.state().selected, Some(target));
    assert!(h.state().player.playing);

    // In box mode, a drag around the whole map lists every sample in the browser.
    h.get_by_label("Box select").click();
    h.run_steps(2);
    let all: Vec<egui::Pos2> = (0..24).map(|r| point_at(&h, r)).collect();
    let lo = all
        .iter()
        .fold(egui::pos2(f32::MAX, f32::MAX), |a, p| a.min(*p))
        - egui::vec2(4.0, 4.0);
    let hi = all
        .iter()
        .fold(egui::pos2(f32::MIN, f32::MIN), |a, p| a.max(*p))
        + egui::vec2(4.0, 4.0);
    let path: Vec<egui::Pos2> = (0..=5).map(|k| lo + (hi - lo) * (k as f32 / 5.0)).collect();
    drag_path(&mut h, &path);
    assert_eq!(h.state().browser.subset.as_ref().map(Vec::len), Some(24));
    assert!(h.query_by_label("t-SNE selection: 24 samples").is_some());
}

#[test]
fn export_writes_parseable_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness();
    open_fixture(&mut h);
    open_view(&mut h, "Export");
    let folder = dir.path().join("out");
    h.state_mut().views.export_dir = folder.display().to_string();
    h.run_steps(2);
    h.get_by_label("Export tables (CSV + JSON)").click();
    wait_for(&mut h, |app| {
        app.notifications
            .items
            .iter()
            .any(|n| n.text.contains("Exported"))
    });
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("report.json")).unwrap())
            .unwrap();
    let m = metrics(&h);
    assert!((report["zsl_accuracy"].as_f64().unwrap() - f64::from(m.zsl_accuracy)).abs() < 1e-6);
    assert_eq!(report["predictions"].as_array().unwrap().len(), 24);
    let preds = std::fs::read_to_string(folder.join("predictions.csv")).unwrap();
    assert_eq!(preds.lines().count(), 25);
    assert!(preds.lines().all(|l| l.split(',').count() == 7), "{preds}");
    let per_class = std::fs::read_to_string(folder.join("per_class.csv")).unwrap();
    assert_eq!(per_class.lines().count(), 7);
    let conf = std::fs::read_to_string(folder.join("confusion_gzsl.csv")).unwrap();
    let total: u32 = conf
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .skip(1)
                .map(|v| v.parse::<u32>().unwrap())
                .collect::<Vec<_>>()
        })
        .sum();
    assert_eq!(total, 24);

    // A PNG of the window.
    h.state_mut().notifications.items.clear();
    h.get_by_label("Window PNG").click();
    wait_for(&mut h, |app| {
        app.notifications
            .items
            .iter()
            .any(|n| n.text.contains("window.png"))
    });
    let png = image::open(folder.join("window.png")).unwrap();
    assert!(
        png.width() >= 1000 && png.height() >= 600,
        "{}x{}",
        png.width(),
        png.height()
    );
}

#[test]
fn star_part_scores_colour_the_skeleton_per_class() {
    let mut h = harness();
    open_fixture(&mut h);
    let kick = h
        .state()
        .dataset
        .as_ref()
        .unwrap()
        .samples
        .iter()
        .position(|s| s.meta.id == "fixture-kick-2")
        .unwrap();
    h.state_mut()
        .apply(skelzero::app::Command::SelectSample(kick));
    open_view(&mut h, "STAR part scores");
    h.get_by_label("Paint on the skeleton").click();
    h.run_steps(3);
    let colours = h.state().joint_colors.clone().expect("joints painted");
    assert_eq!(colours.len(), 25);
    // Kicking: the feet (joints 14, 15, 18, 19) score above the head (2, 3, 20) for the predicted class.
    let brightness = |c: egui::Color32| u32::from(c.r()) + u32::from(c.g()) + u32::from(c.b());
    assert!(
        brightness(colours[15]) > brightness(colours[3]),
        "{colours:?}"
    );

    // Another class paints another pattern.
    h.state_mut().views.star.class = Some(0);
    h.run_steps(3);
    let wave = h.state().joint_colors.clone().unwrap();
    assert_ne!(wave, colours);
    // Closing the window clears the paint.
    h.state_mut().views.star.open = false;
    h.run_steps(3);
    assert!(h.state().joint_colors.is_none());
}

/// Presses at `path[0]`, moves through `path` a frame a point, releases at its end.
fn drag_path(h: &mut Harness<'static, ExplorerApp>, path: &[egui::Pos2]) {
    gui_harness::drag_path(h, path, |h| h.step());
    h.run_steps(3);
}

#[test]
fn a_lasso_lists_the_samples_inside_it() {
    let mut h = harness();
    open_fixture(&mut h);
    open_view(&mut h, "t-SNE");
    // The dock's taller layout: a map of a few hundred pixels, as a researcher drawing a lasso would use.
    h.get_by_label("Taller").click();
    h.run_steps(3);
    h.get_by_label("Run t-SNE").click();
    wait_for(&mut h, |app| app.views.tsne.map.is_some());
    h.run_steps(5);
    h.get_by_label("Lasso select").click();
    h.run_steps(2);
    assert!(h.state().views.tsne.lasso_mode && !h.state().views.tsne.box_mode);
    let pts: Vec<egui::Pos2> = {
        let app = h.state();
        let t = app.views.tsne.last_transform.unwrap();
        let map = app.views.tsne.map.as_ref().unwrap();
        (0..24)
            .map(|r| {
                let p = map.points[r];
                t.position_from_point(&egui_plot::PlotPoint::new(f64::from(p[0]), f64::from(p[1])))
            })
            .collect()
    };
    let lo = pts
        .iter()
        .fold(egui::pos2(f32::MAX, f32::MAX), |a, p| a.min(*p))
        - egui::vec2(6.0, 6.0);
    let hi = pts
        .iter()
        .fold(egui::pos2(f32::MIN, f32::MIN), |a, p| a.max(*p))
        + egui::vec2(6.0, 6.0);
    // A triangle over the top-left half of the map: not a box, so the box rule would pick other samples.
    let corners = [lo, egui::pos2(hi.x, lo.y), egui::pos2(lo.x, hi.y), lo];
    let mut path = Vec::new();
    for w in corners.windows(2) {
        for k in 0..12 {
            path.push(w[0] + (w[1] - w[0]) * (k as f32 / 12.0));
        }
    }
    path.push(lo + egui::vec2(1.0, 1.0));
    drag_path(&mut h, &path);
    // Which side of the diagonal each point is on, with a margin for the lasso's pixel-rounded vertices.
    let side = |p: egui::Pos2| (p.x - lo.x) / (hi.x - lo.x) + (p.y - lo.y) / (hi.y - lo.y);
    let subset = h.state().browser.subset.clone().expect("a lasso selection");
    let inside: Vec<usize> = (0..24).filter(|&r| side(pts[r]) < 0.97).collect();
    let outside: Vec<usize> = (0..24).filter(|&r| side(pts[r]) > 1.03).collect();
    assert!(!inside.is_empty() && !outside.is_empty(), "degenerate map");
    for r in &inside {
        assert!(
            subset.contains(r),
            "{r} inside the lasso but not listed: {subset:?}"
        );
    }
    for r in &outside {
        assert!(
            !subset.contains(r),
            "{r} outside the lasso but listed: {subset:?}"
        );
    }
    assert!(
        h.query_by_label(&format!("t-SNE selection: {} samples", subset.len()))
            .is_some()
    );
}

/// An InfoCPL run folder over the synthetic split (seeded, untrained weights: the test is about re-scoring) with
/// its `predictions.json`, as `skelzero eval --predictions` writes it.
fn infocpl_run(dir: &std::path::Path) -> std::path::PathBuf {
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
    let cfg = RunConfig {
        method,
        train: Default::default(),
        dims,
        split: SplitInfo {
            name: "synth".into(),
            class_names: (0..zsl_synth::C).map(|c| format!("class {c}")).collect(),
            seen: (0..zsl_synth::SEEN).collect(),
            unseen: (zsl_synth::SEEN..zsl_synth::C).collect(),
        },
        gamma: 0.0,
        epoch: 0,
        features: Some(features.clone()),
        evaluation: None,
    };
    std::fs::create_dir_all(&run).unwrap();
    save_run(&run, &cfg, &varmap, &classes).unwrap();
    let loaded = load_run(&run).unwrap();
    let p = skelzero::pipeline::run_predictions::predictions_from_run(
        &loaded,
        &SplitFeatures::load(&features).unwrap(),
    )
    .unwrap();
    p.save(&run).unwrap();
    run
}

fn wait_rescored(h: &mut Harness<'static, ExplorerApp>) {
    h.run_steps(2);
    wait_for(h, |app| {
        let e = &app.views.branches.editor;
        !e.busy() && e.applied == e.draft
    });
}

#[test]
fn editing_the_branch_set_rescores_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let run = infocpl_run(dir.path());
    let mut h = harness();
    h.run_steps(2);
    h.state_mut()
        .apply(skelzero::app::Command::OpenRun(run.clone()));
    wait_for(&mut h, |app| app.predictions.is_some());
    open_view(&mut h, "InfoCPL branches");
    wait_for(&mut h, |app| app.views.branches.editor.available());
    let scores =
        |h: &Harness<'static, ExplorerApp>| h.state().predictions.as_ref().unwrap().scores.clone();
    let branches = |h: &Harness<'static, ExplorerApp>| {
        h.state()
            .predictions
            .as_ref()
            .unwrap()
            .infocpl
            .as_ref()
            .unwrap()
            .branches
            .clone()
    };
    let before = scores(&h);
    assert_eq!(branches(&h), ["top-1", "top-3"]);

    // Disable top-1: the scores are top-3's alone.
    h.get_by_role_and_label(Role::CheckBox, "top-1").click();
    wait_rescored(&mut h);
    let only3 = scores(&h);
    assert_eq!(branches(&h), ["top-3"]);
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    assert!(
        !close(&only3, &before),
        "disabling a branch changed nothing"
    );
    assert!(
        h.state()
            .predictions
            .as_ref()
            .unwrap()
            .method
            .contains("branches top-3")
    );
    // The panel's accuracy follows the new predictions.
    let m = metrics(&h);
    assert!(
        h.query_all_by_label(&format!("{:.1} %", m.zsl_accuracy * 100.0))
            .count()
            > 0
    );

    // Enabling it again restores the trained scores.
    h.get_by_role_and_label(Role::CheckBox, "top-1").click();
    wait_rescored(&mut h);
    assert!(close(&scores(&h), &before));

    // A new k on top-1's weights (the default: the whole codebook), then saved with the run and applied on load.
    h.get_by_label("Add").click();
    wait_rescored(&mut h);
    assert_eq!(branches(&h), ["top-1", "top-3", "top-4 (top-1 weights)"]);
    assert!(!close(&scores(&h), &before));
    h.get_by_label("Save with the run").click();
    h.run_steps(2);
    let loaded = skelzero::experiment::run::load_run(&run).unwrap();
    assert!(loaded.branch_set.is_some());
    assert_eq!(
        loaded
            .method
            .as_infocpl()
            .unwrap()
            .branch_set()
            .branches
            .len(),
        3
    );
    let _ = h.render().unwrap();
}

/// The calibration view shows the run's epoch against the curves behind it, and says which is which: the
/// seen-class validation folds chose the epoch, the test curve is a diagnosis. A run without curves says so.
#[test]
fn the_epoch_choice_is_shown_against_its_validation_and_test_curves() {
    use skelzero::app::calibration::RunGamma;
    use skelzero::experiment::select::Evaluation;
    let mut h = harness();
    open_fixture(&mut h);
    open_view(&mut h, "GZSL calibration");
    let fold = |curve: &[f64], at: usize| {
        serde_json::json!({"pseudo_unseen": [0, 1], "zsl_top1": curve[at], "gzsl_h": 0.5, "gamma": 0.1,
                           "zsl_curve": curve})
    };
    let gzsl = serde_json::json!({"s": 0.5, "u": 0.5, "h": 0.5, "gamma": 0.1});
    let without: Evaluation = serde_json::from_value(serde_json::json!({
        "zsl_top1": 0.25, "gzsl": gzsl, "epoch": 2, "lr": 1e-3, "val_zsl_top1": 0.6, "val_gzsl_h": 0.5,
        "oracle_zsl_top1": 0.4, "oracle_gzsl": gzsl, "train_seconds": 1.0,
    }))
    .unwrap();
    let mut with = without.clone();
    with.val_folds = vec![
        serde_json::from_value(fold(&[0.3, 0.5, 0.7, 0.6], 2)).unwrap(),
        serde_json::from_value(fold(&[0.2, 0.4, 0.5, 0.5], 2)).unwrap(),
    ];
    with.val_zsl_curve = vec![0.25, 0.45, 0.6, 0.55];
    with.test_zsl_curve = vec![0.1, 0.4, 0.25, 0.2];
    let show = |h: &mut Harness<'static, ExplorerApp>, e: Evaluation| {
        h.state_mut().views.calibration.run = Some(RunGamma {
            evaluation: Some(e),
            ..Default::default()
        });
        h.run_steps(3);
    };
    show(&mut h, with);
    let text = "Epoch 2 was chosen by the validation ZSL of 2 pseudo-unseen folds (60.0 %, their mean). Test ZSL at \
                that epoch 25.0 %; the best test epoch gave 40.0 % (oracle, never used to choose).";
    assert!(h.query_by_label(text).is_some(), "no epoch summary");
    assert!(
        h.query_by_label("- - test, unseen classes (diagnosis only)")
            .is_some()
    );
    assert!(
        h.query_by_label("— validation, mean of folds (chooses)")
            .is_some()
    );
    let _ = h.render().unwrap();
    show(&mut h, without);
    assert!(h.query_by_label(text).is_none());
    assert!(
        h.query_by_label(
            "Epoch curves: not recorded in this run (trained before skelzero kept them)."
        )
        .is_some()
    );
}
