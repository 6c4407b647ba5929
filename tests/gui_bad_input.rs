//! Bad files opened in the explorer through its real open paths (a typed path, a file dropped on the window, a run
//! folder scored live with `--data`/`--encoder`): each gives an error notification naming the file and the problem,
//! and the app goes on: frames render, and the dataset and run loaded before are still there and still play.
//! The bad files are made in temporary folders from ../shared/data at test time.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod bad_files;
mod gui_harness;
mod zsl_synth;

use std::path::{Path, PathBuf};
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use skelzero::app::notifications::Level;
use skelzero::app::{AppOptions, ExplorerApp};
use skelzero::pipeline::predictions::Predictions;
mod cli;
use cli::{skelzero, succeeded};

type App = Harness<'static, ExplorerApp>;

fn wait_for(h: &mut App, done: impl Fn(&ExplorerApp) -> bool) {
    gui_harness::wait_for(h, Duration::from_secs(240), done);
}

/// A file dropped on the window, as the windowing layer hands it to egui.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn type_path(h: &mut App, path: &Path) {
    h.state_mut().settings.path_input.clear();
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path").type_text(path.to_str().unwrap());
    h.run_steps(1);
    h.get_by_label("Open").click();
    h.run_steps(1);
}

fn drop_file(h: &mut App, path: &Path) {
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(path.to_path_buf())));
    h.run_steps(1);
}

/// Waits for the error notification of the last open and returns its text; it is also on screen.
fn error_shown(h: &mut App) -> String {
    wait_for(h, |app| {
        app.notifications
            .items
            .iter()
            .any(|n| n.level == Level::Error)
            && !app.workers.busy()
    });
    let errors: Vec<String> = h
        .state()
        .notifications
        .items
        .iter()
        .filter(|n| n.level == Level::Error)
        .map(|n| n.text.clone())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let text = errors[0].clone();
    assert!(
        h.query_by_label_contains(&text).is_some(),
        "not on screen: {text}"
    );
    text
}

/// What was loaded before the bad file: the dataset (sample count) and the run (method), if any.
fn loaded(h: &App) -> (usize, Option<String>) {
    let app = h.state();
    (
        app.dataset.as_ref().map_or(0, |d| d.samples.len()),
        app.predictions.as_ref().map(|p| p.method.clone()),
    )
}

/// The loaded state is unchanged, a frame renders, and the selected sample plays.
fn still_running(h: &mut App, before: &(usize, Option<String>)) {
    assert_eq!(&loaded(h), before);
    h.state_mut().notifications.items.clear();
    h.run_steps(2);
    let image = h.render().expect("a frame renders after the error");
    assert!(image.width() > 0);
    let start = h.state().player.position;
    h.get_by_label("Play").click();
    h.run_steps(6);
    assert!(h.state().player.playing);
    assert!(
        h.state().player.position != start,
        "the sample does not play"
    );
    h.get_by_label("Pause").click();
    h.run_steps(2);
    assert!(!h.state().player.playing);
}

/// A run folder with predictions for every sample of `dataset` (the first class scores highest everywhere).
fn written_run(dir: &Path, dataset: &skelzero::dataset::Dataset) -> PathBuf {
    let run = dir.join("written-run");
    std::fs::create_dir_all(&run).unwrap();
    let c = dataset.classes.len();
    let n = dataset.samples.len();
    Predictions {
        method: "written run".into(),
        sample_ids: dataset.samples.iter().map(|s| s.meta.id.clone()).collect(),
        labels: dataset.samples.iter().map(|s| s.meta.label).collect(),
        classes: (0..c).collect(),
        unseen: (0..c).map(|k| k % 2 == 1).collect(),
        scores: (0..n * c)
            .map(|i| if i % c == 0 { 1.0 } else { 0.0 })
            .collect(),
        ..Default::default()
    }
    .save(&run)
    .unwrap();
    run
}

/// Opens the NTU sample folder (typed) and a run over it (dropped); returns what is loaded.
fn open_dataset_and_run(h: &mut App, tmp: &Path) -> (usize, Option<String>) {
    let ntu = bad_files::data("ntu-rgbd-samples");
    if h.state().dataset.is_none() {
        type_path(h, &ntu);
        wait_for(h, |app| app.dataset.is_some());
    }
    let dataset = skelzero::dataset::load_dataset(&ntu, None).unwrap();
    drop_file(h, &written_run(tmp, &dataset));
    wait_for(h, |app| app.predictions.is_some());
    let before = loaded(h);
    assert_eq!(before, (dataset.samples.len(), Some("written run".into())));
    still_running(h, &before);
    before
}

#[test]
fn bad_files_typed_or_dropped_are_named_and_the_loaded_dataset_keeps_playing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut h = gui_harness::harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    let before = open_dataset_and_run(&mut h, d);

    // A truncated NTU file, typed.
    let bad = d.join("truncated");
    std::fs::create_dir(&bad).unwrap();
    let ntu = bad_files::truncated_ntu(&bad);
    type_path(&mut h, &ntu);
    let text = error_shown(&mut h);
    assert!(
        text.contains(&*ntu.to_string_lossy())
            && text.contains("line 41: file ends early: expected a joint line"),
        "{text}"
    );
    still_running(&mut h, &before);

    // A pickled .npy, dropped.
    let npy = bad_files::write(d, "joints.npy", bad_files::pickled_npy_bytes());
    drop_file(&mut h, &npy);
    let text = error_shown(&mut h);
    assert!(
        text.contains("joints.npy, field `descr`") && text.contains("never unpickles"),
        "{text}"
    );
    still_running(&mut h, &before);

    // Binary garbage under an NTU name, typed; then under no known name, dropped.
    let junk = bad_files::write(d, "S001C001P001R001A001.skeleton", bad_files::garbage(4096));
    type_path(&mut h, &junk);
    let text = error_shown(&mut h);
    assert!(
        text.contains("S001C001P001R001A001.skeleton")
            && text.contains("binary data, not an NTU .skeleton text file"),
        "{text}"
    );
    still_running(&mut h, &before);
    let blob = bad_files::write(d, "blob.bin", bad_files::garbage(4096));
    drop_file(&mut h, &blob);
    let text = error_shown(&mut h);
    assert!(
        text.contains("blob.bin") && text.contains("unknown format: it holds binary data"),
        "{text}"
    );
    still_running(&mut h, &before);

    // A file dropped and gone before it is read.
    let gone = d.join("gone.skeleton");
    drop_file(&mut h, &gone);
    let text = error_shown(&mut h);
    assert!(
        text.contains(&*gone.to_string_lossy()) && text.contains("No such file"),
        "{text}"
    );
    still_running(&mut h, &before);
}

/// A `skelzero train` run (DeViSE on the synthetic split) in `d/name`.
fn zsl_run(d: &Path, name: &str) -> PathBuf {
    let split = d.join("split1.safetensors");
    let texts = d.join("texts.safetensors");
    if !split.exists() {
        zsl_synth::write_split(&split, &texts);
    }
    succeeded(
        skelzero()
            .args([
                "train", "--method", "devise", "--split", "split1", "--epochs", "2",
            ])
            .arg("--features")
            .arg(&split)
            .arg("--texts")
            .arg(&texts)
            .arg("--out")
            .arg(d.join(name)),
    );
    d.join(name)
}

fn live_harness(encoder: &Path) -> App {
    gui_harness::harness_with(
        egui::vec2(1280.0, 800.0),
        AppOptions {
            data: Some(bad_files::data("ntu-rgbd-samples")),
            encoder: Some(encoder.to_path_buf()),
            ..AppOptions::default()
        },
    )
}

#[test]
fn bad_run_folders_scored_live_are_named_and_the_loaded_run_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let small = bad_files::small_stgcn();
    let encoder = bad_files::pretrain_run_named(d, "encoder", &small, &small);

    // A run whose config comes from a newer skelzero, and one whose weights have other shapes.
    let future = zsl_run(d, "future");
    let config = std::fs::read_to_string(future.join("config.toml")).unwrap();
    std::fs::write(
        future.join("config.toml"),
        bad_files::config_with_format(&config, "3"),
    )
    .unwrap();
    let reshaped = zsl_run(d, "reshaped");
    let tensor = bad_files::reshape_first_tensor(&reshaped.join("weights.safetensors"));

    let mut h = live_harness(&encoder.root);
    h.run_steps(2);
    // `--data` opens the dataset at start.
    wait_for(&mut h, |app| app.dataset.is_some());
    let before = open_dataset_and_run(&mut h, d);

    type_path(&mut h, &future);
    let text = error_shown(&mut h);
    let file = future.join("config.toml");
    assert!(
        text.contains(&format!(
            "{}: field `format`: run format 3 was written by a newer skelzero",
            file.display()
        )),
        "{text}"
    );
    still_running(&mut h, &before);

    drop_file(&mut h, &reshaped);
    let text = error_shown(&mut h);
    let file = reshaped.join("weights.safetensors");
    assert!(
        text.contains(&format!("{}: tensor `{tensor}` is [", file.display()))
            && text.contains("the devise config expects"),
        "{text}"
    );
    still_running(&mut h, &before);
    drop(h);

    // An encoder whose checkpoint has other shapes than its config: named when a run is scored with it.
    let wide = bad_files::pretrain_run_named(d, "wide-encoder", &small, &bad_files::wide_stgcn());
    let good = zsl_run(d, "good");
    let mut h = live_harness(&wide.root);
    h.run_steps(2);
    wait_for(&mut h, |app| app.dataset.is_some());
    let before = open_dataset_and_run(&mut h, d);
    type_path(&mut h, &good);
    let text = error_shown(&mut h);
    assert!(
        text.contains(&*good.to_string_lossy())
            && text.contains(&*wide.root.to_string_lossy())
            && text.contains("checkpoint.safetensors does not match the network:")
            && text.contains("expected shape [12], found [18]"),
        "{text}"
    );
    still_running(&mut h, &before);
}
