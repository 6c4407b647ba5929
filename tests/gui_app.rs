//! The explorer driven as a person would, through its accessibility tree (egui_kittest), rendered with wgpu on the
//! software adapter: open data by typing a path and through the menu, select a sample, play, click a confusion
//! cell, and see an error named. Snapshots are pinned to Vulkan (lavapipe): other backends rasterise differently.

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use skelzero::app::{AppOptions, ExplorerApp, Setting};

fn harness(size: egui::Vec2) -> Harness<'static, ExplorerApp> {
    static BACKEND: std::sync::Once = std::sync::Once::new();
    BACKEND.call_once(|| {
        // SAFETY: every test in this binary reaches wgpu only through `harness`, so no other thread reads the
        // environment while it is set here (the Once blocks them until done).
        unsafe { std::env::set_var("WGPU_BACKEND", "vulkan") };
    });
    Harness::builder()
        .with_size(size)
        .wgpu()
        .build_eframe(|cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    device: "CPU".into(),
                    fresh: true,
                    ..AppOptions::default()
                },
            )
        })
}

/// Steps until `done` holds (worker threads finish in real time).
fn wait_for(h: &mut Harness<'static, ExplorerApp>, done: impl Fn(&ExplorerApp) -> bool) {
    for _ in 0..400 {
        h.step();
        if done(h.state()) {
            h.run_steps(2);
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for the app");
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
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path").type_text("demo");
    h.run_steps(1);
    h.get_by_label("Open").click();
    wait_for(&mut h, |app| app.dataset.is_some());
    assert!(h.query_by_label("24 of 24 samples").is_some());

    h.get_by_label("demo-handshake-2").click();
    h.run_steps(2);
    let app = h.state();
    let selected = app.selected.expect("a sample is selected");
    let dataset = app.dataset.as_ref().unwrap();
    assert_eq!(dataset.samples[selected].meta.id, "demo-handshake-2");
    assert!(
        h.query_by_label_contains("demo-handshake-2 · handshake · 2 bodies")
            .is_some()
    );
    assert!(h.query_by_label("Frame 1 / 60").is_some());

    h.get_by_label("Play").click();
    h.run_steps(10);
    assert!(h.state().player.playing);
    assert!(h.state().player.position > 1.0);
    assert!(h.query_by_label("Pause").is_some());
    h.get_by_label("Pause").click();
    h.run_steps(2);
    assert!(!h.state().player.playing);

    // The search box filters by class name.
    h.get_by_label("Search").click();
    h.run_steps(1);
    h.get_by_label("Search").type_text("clap");
    h.run_steps(2);
    assert!(h.query_by_label("4 of 24 samples").is_some());
    assert!(h.query_by_label("demo-wave-1").is_none());
}

#[test]
fn confusion_cell_lists_its_samples_and_metrics_are_shown() {
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    open_demo_from_menu(&mut h);
    // Constructed predictions: ZSL 10/12 unseen-class samples right; GZSL S 11/12, U 10/12.
    assert_eq!(h.query_all_by_label("83.3 %").count(), 2);
    assert!(h.query_by_label("91.7 %").is_some());

    h.get_by_label("kick -> clap: 1").click();
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.browser.cell, Some((3, 4, Setting::Zsl)));
    assert_eq!(app.browser.order.len(), 1);
    let selected = app.selected.unwrap();
    assert_eq!(
        app.dataset.as_ref().unwrap().samples[selected].meta.id,
        "demo-kick-4"
    );
    assert!(h.query_by_label("1 of 24 samples").is_some());
    assert!(
        h.query_by_label_contains("ZSL cell: kick -> clap")
            .is_some()
    );

    // GZSL shows every class: the seen-class mistake (jump taken for clap) has its own cell.
    h.get_by_label("GZSL matrix").click();
    h.run_steps(2);
    assert!(h.query_by_label("jump -> clap: 1").is_some());
    h.get_by_label("Show all").click();
    h.run_steps(2);
    assert!(h.query_by_label("24 of 24 samples").is_some());
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
    h.key_press(egui::Key::ArrowRight);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert!(h.query_by_label("Frame 3 / 60").is_some());
    h.key_press(egui::Key::End);
    h.run_steps(2);
    assert!(h.query_by_label("Frame 60 / 60").is_some());
    h.key_press(egui::Key::ArrowDown);
    h.run_steps(2);
    assert_eq!(h.state().selected, Some(1));
    // Hovering a joint names it.
    let head = {
        let app = h.state();
        let seq = &app.dataset.as_ref().unwrap().samples[1].seq;
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
    // Player alone: a two-person sample at a fixed frame and the home camera.
    let handshake = h
        .state()
        .dataset
        .as_ref()
        .unwrap()
        .samples
        .iter()
        .position(|s| s.meta.id == "demo-handshake-1")
        .unwrap();
    h.state_mut()
        .apply(skelzero::app::Command::SelectSample(handshake));
    h.state_mut().apply(skelzero::app::Command::SeekFrame(12));
    h.key_press(egui::Key::B);
    h.key_press(egui::Key::M);
    h.run_steps(3);
    let image = h.render().expect("render");
    // Both bodies' colours are on screen (orange and blue dominate some pixels).
    let orange = image
        .pixels()
        .filter(|p| p[0] > 150 && p[0] > p[2] + 90)
        .count();
    let blue = image
        .pixels()
        .filter(|p| p[2] > 150 && p[2] > p[0] + 90)
        .count();
    assert!(orange > 400 && blue > 400, "orange {orange}, blue {blue}");
    h.snapshot("gui_player");

    // Predictions and the GZSL matrix.
    h.key_press(egui::Key::M);
    h.run_steps(2);
    h.get_by_label("GZSL matrix").click();
    h.set_size(egui::vec2(900.0, 860.0));
    h.run_steps(3);
    h.snapshot("gui_matrix");
}

#[test]
fn a_run_folder_is_opened_by_path_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let dataset = skelzero::app::demo::demo_dataset();
    let mut preds = skelzero::app::demo::demo_predictions(&dataset);
    preds.method = "written run".into();
    std::fs::write(
        run.join("predictions.json"),
        serde_json::to_string(&preds).unwrap(),
    )
    .unwrap();
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
    assert!(h.query_by_label("91.7 %").is_some());

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
        h.query_by_label_contains("high arm wave · 1 bodies · 15 fps")
            .is_some()
    );
    let image = h.render().unwrap();
    let orange = image
        .pixels()
        .filter(|p| p[0] > 150 && p[0] > p[2] + 90)
        .count();
    assert!(orange > 300, "orange {orange}");
}
