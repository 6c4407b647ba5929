//! The class-description editor driven through its accessibility tree on the built-in demo (egui_kittest, wgpu on
//! lavapipe): an edit re-scores the demo and moves the accuracy label, Ctrl+Z and Ctrl+Shift+Z undo and redo it, the
//! diff lists it; unsaved edits are autosaved within a second (egui time, 0.25 s per step) and a new app on the same
//! recovery folder offers them back; Save and Discard remove the recovery file. Needs MiniLM (`skelzero models fetch
//! minilm`, done by .ci/run).

use std::path::Path;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use gui_harness::harness;
use skelzero::app::ExplorerApp;
use skelzero::dataset::description_set::DescriptionSet;

mod gui_harness;

/// The unseen class the edit test rewrites.
const EDITED: &str = "wave right hand and kick with left leg";

fn wait_for(h: &mut Harness<'static, ExplorerApp>, done: impl Fn(&ExplorerApp) -> bool) {
    gui_harness::wait_for(h, Duration::from_secs(240), done);
}

fn pct(x: f32) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The explorer on the demo, with recovery files in `recovery`, scored.
fn demo_app(recovery: &Path) -> Harness<'static, ExplorerApp> {
    let mut h = harness(egui::vec2(1280.0, 800.0));
    h.state_mut()
        .editor
        .set_recovery_dir(recovery.to_path_buf());
    h.run_steps(2);
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Open the demo").click();
    h.run_steps(1);
    wait_for(&mut h, |app| {
        app.dataset.is_some() && app.predictions.is_some() && app.editor.available()
    });
    h.state_mut().notifications.items.clear();
    h.run_steps(2);
    h
}

fn open_editor_on(h: &mut Harness<'static, ExplorerApp>, class: &str) {
    if !h.state().editor.open {
        h.get_by_label("Edit class descriptions…").click();
        h.run_steps(2);
    }
    assert!(
        h.query_by_label("Sentence encoder: all-MiniLM-L6-v2 (installed)")
            .is_some(),
        "MiniLM is not installed: skelzero models fetch minilm"
    );
    h.get_by_label(&format!("{class} (unseen)")).click();
    h.run_steps(2);
}

/// Replaces the text of the sentence field.
fn type_sentence(h: &mut Harness<'static, ExplorerApp>, text: &str) {
    h.get_by_role_and_label(Role::MultilineTextInput, "Sentence")
        .focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run_steps(1);
    h.get_by_role_and_label(Role::MultilineTextInput, "Sentence")
        .type_text(text);
}

/// Saves a rendering of the window into `$SKELZERO_EDITOR_SHOTS/NAME.png` when that is set (to look at).
fn shot(h: &mut Harness<'static, ExplorerApp>, name: &str) {
    if let Some(dir) = std::env::var_os("SKELZERO_EDITOR_SHOTS") {
        let image = h.render().expect("rendering the window");
        image
            .save(Path::new(&dir).join(format!("{name}.png")))
            .expect("writing the PNG");
    }
}

fn sentence_shown(h: &Harness<'static, ExplorerApp>) -> Option<String> {
    h.get_by_role_and_label(Role::MultilineTextInput, "Sentence")
        .value()
}

#[test]
fn an_edit_moves_the_accuracy_and_undo_redo_and_diff_follow() {
    let recovery = tempfile::tempdir().unwrap();
    let mut h = demo_app(recovery.path());
    // On the default run.
    h.run_steps(2);
    let before = h.state().predictions.clone().unwrap();
    open_editor_on(&mut h, EDITED);
    let original = sentence_shown(&h).unwrap();
    // Describe the unseen "wave right hand and kick with left leg" exactly as the unseen "wave right hand and
    // squat": the two now tie, so accuracy must move.
    let wave = h.state().editor.current_set().unwrap().classes[7]
        .sentence
        .clone();
    type_sentence(&mut h, &wave);
    // Committed after a short pause, then re-scored on a worker.
    wait_for(&mut h, |app| {
        app.predictions
            .as_ref()
            .is_some_and(|p| p.scores != before.scores)
    });
    let after = h.state().predictions.clone().unwrap();
    let jump = h
        .state()
        .dataset
        .as_ref()
        .unwrap()
        .classes
        .iter()
        .position(|c| c == EDITED)
        .unwrap();
    let col = before.classes.iter().position(|&c| c == jump).unwrap();
    let c = before.num_classes();
    // Only the edited class's column changed: nothing else was re-embedded.
    for (i, (a, b)) in before.scores.iter().zip(&after.scores).enumerate() {
        if i % c != col {
            assert_eq!(a, b, "score {i} changed");
        }
    }
    let (m0, m1) = (before.metrics(), after.metrics());
    assert_ne!(m0.zsl_accuracy, m1.zsl_accuracy);
    let shown = format!(
        "{} ({:+.1})",
        pct(m1.zsl_accuracy),
        100.0 * (m1.zsl_accuracy - m0.zsl_accuracy)
    );
    assert!(h.query_by_label(&shown).is_some(), "{shown}");
    // The change is shown beside the edit.
    let beside = format!(
        "Last change ({EDITED}: sentence): ZSL accuracy {} -> {} ({:+.1})",
        pct(m0.zsl_accuracy),
        pct(m1.zsl_accuracy),
        100.0 * (m1.zsl_accuracy - m0.zsl_accuracy)
    );
    assert!(h.query_by_label(&beside).is_some(), "{beside}");
    shot(&mut h, "editor-edited");

    // Undo (Ctrl+Z): the run's sentence and scores come back.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    wait_for(&mut h, |app| {
        app.predictions
            .as_ref()
            .is_some_and(|p| p.scores == before.scores)
    });
    assert_eq!(sentence_shown(&h).as_deref(), Some(original.as_str()));
    assert!(
        h.query_by_label(&format!("{} (+0.0)", pct(m0.zsl_accuracy)))
            .is_some()
    );
    // Redo (Ctrl+Shift+Z) applies it again.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    wait_for(&mut h, |app| {
        app.predictions
            .as_ref()
            .is_some_and(|p| p.scores == after.scores)
    });
    assert_eq!(sentence_shown(&h).as_deref(), Some(wave.as_str()));
    assert!(h.query_by_label(&shown).is_some(), "{shown}");
    // The diff lists the change, old -> new.
    h.get_by_label("Diff (1)").click();
    h.run_steps(2);
    assert!(h.query_by_label("sentence").is_some());
    assert!(h.query_by_label(&original).is_some());
    assert!(h.query_by_label(&wave).is_some());
    shot(&mut h, "editor-diff");
}

#[test]
fn unsaved_edits_are_autosaved_within_a_second_and_offered_after_a_crash() {
    let recovery = tempfile::tempdir().unwrap();
    let text = "A person crouches and springs straight up with both feet leaving the floor.";
    let path = {
        let mut h = demo_app(recovery.path());
        // A class whose row shows without scrolling in the docked editor at 1280x800 (a click on a row scrolled out
        // of view would land on whatever is drawn there).
        open_editor_on(&mut h, "wave right hand and squat");
        let path = h.state().editor.recovery_path().unwrap().to_path_buf();
        assert!(path.starts_with(recovery.path()));
        assert!(!path.exists());
        let done = h.state().editor.autosaves_completed();
        type_sentence(&mut h, text);
        h.step();
        let typed_at = h.ctx.input(|i| i.time);
        let mut waited = 0.0;
        while h.state().editor.autosaves_completed() == done {
            assert!(waited <= 1.0, "no autosave {waited} s after the edit");
            h.step();
            std::thread::sleep(Duration::from_millis(20));
            waited = h.ctx.input(|i| i.time) - typed_at;
        }
        assert!(waited <= 1.0, "autosaved {waited} s after the edit");
        let saved = DescriptionSet::load(&path).unwrap();
        assert_eq!(saved.classes[7].sentence, text);
        path
        // The app is dropped here without saving: a crash, as far as the edits know.
    };
    assert!(path.exists());

    // A new app on the same run offers the edits back.
    let mut h = demo_app(recovery.path());
    wait_for(&mut h, |app| app.editor.offers_recovery());
    assert!(
        h.query_by_label_contains("1 unsaved change(s) when skelzero last stopped")
            .is_some()
    );
    shot(&mut h, "editor-recovery");
    let before = h.state().predictions.clone().unwrap();
    h.get_by_label("Restore").click();
    h.run_steps(1);
    assert_eq!(
        h.state().editor.current_set().unwrap().classes[7].sentence,
        text
    );
    wait_for(&mut h, |app| {
        app.predictions
            .as_ref()
            .is_some_and(|p| p.scores != before.scores)
    });
    // Saving writes the set and removes the recovery file.
    let out = recovery.path().join("edited.toml");
    h.get_by_role_and_label(Role::TextInput, "File").focus();
    h.run_steps(1);
    h.get_by_role_and_label(Role::TextInput, "File")
        .type_text(&out.display().to_string());
    h.run_steps(1);
    assert_eq!(h.state().editor.file_input, out.display().to_string());
    h.get_by_label("Save").click();
    wait_for(&mut h, |_| !path.exists());
    assert!(
        h.query_by_label(&format!("Saved to {}", out.display()))
            .is_some()
    );
    let saved = DescriptionSet::load(&out).unwrap();
    assert_eq!(&saved, h.state().editor.current_set().unwrap());
    drop(h);

    // Discarding removes it too.
    let mut set = saved.clone();
    set.classes[7].sentence = "A person walks one step ahead.".into();
    set.save(&path, None).unwrap();
    let mut h = demo_app(recovery.path());
    wait_for(&mut h, |app| app.editor.offers_recovery());
    h.get_by_label("Discard").click();
    wait_for(&mut h, |_| !path.exists());
    assert!(!h.state().editor.offers_recovery());
}
