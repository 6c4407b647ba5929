//! The explorer: an eframe app over a dataset and, optionally, a run's predictions.
//!
//! Views (`*_ui` functions) read the state and push [`Command`]s; [`ExplorerApp::apply`] is the one place that
//! changes it. Loading happens on worker threads ([`workers`]); failures become notifications.

pub use crate::eval::analysis;
pub mod branch_editor;
pub mod browser;
pub mod calibration;
pub mod command;
pub mod confusion;
pub mod demo;
pub mod editor;
pub mod export;
pub mod fixture;
pub mod fixture_analysis;
pub mod notifications;
pub mod palette;
pub mod player;
pub mod results;
pub mod run_predictions;
pub mod scoring;
pub mod star_parts;
pub mod tsne;
pub mod views;
pub mod workers;

/// The predictions type lives with the evaluation (the pipeline writes it too); the views keep their path.
pub use crate::eval::predictions;

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::skeleton::Sequence;

pub use command::Command;
use notifications::{Level, Notifications};
use palette::{Palette, Theme};
pub use predictions::{Predictions, Setting};
use workers::{JobOutput, PickTarget, Workers};

/// How the app was started (command line).
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub data: Option<PathBuf>,
    pub run: Option<PathBuf>,
    /// A `skelzero pretrain` run folder: with it, a `skelzero train` run folder is scored live on the dataset.
    pub encoder: Option<PathBuf>,
    pub screenshot: Option<PathBuf>,
    pub exit_after_frames: Option<u64>,
    pub bench_frames: Option<u64>,
    /// Where inference runs (the status bar can change it).
    pub device: crate::nn::device::DeviceChoice,
    /// Start playing the selected sample at once.
    pub autoplay: bool,
    /// Ignore the persisted settings (tests and scripted runs start from defaults).
    pub fresh: bool,
    /// Analysis windows to open at start.
    pub views: Vec<views::AnalysisView>,
}

/// UI state kept between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub theme: Theme,
    pub recent: Vec<PathBuf>,
    pub speed: f32,
    pub looping: bool,
    pub show_browser: bool,
    pub show_predictions: bool,
    pub matrix_gzsl: bool,
    pub top_k: usize,
    pub path_input: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::Dark,
            recent: Vec::new(),
            speed: 1.0,
            looping: true,
            show_browser: true,
            show_predictions: true,
            matrix_gzsl: false,
            top_k: 5,
            path_input: String::new(),
        }
    }
}

const MAX_RECENT: usize = 8;

/// Frame-time samples for `--bench-frames`.
struct Bench {
    frames: u64,
    cpu_ms: Vec<f32>,
    frame_ms: Vec<f32>,
    last: Option<Instant>,
}

pub struct ExplorerApp {
    pub settings: Settings,
    palette: Palette,
    options: AppOptions,
    ctx: egui::Context,
    gpu: bool,
    /// Where the skeleton encoder runs when a run is scored live.
    pub device: candle_core::Device,
    pub dataset: Option<Dataset>,
    pub predictions: Option<Predictions>,
    metrics: Option<predictions::Metrics>,
    confusion: [Option<predictions::Confusion>; 2],
    joined: browser::Joined,
    /// Bumped whenever the dataset or predictions change (invalidates the browser's cached order).
    generation: u64,
    pub selected: Option<usize>,
    /// Colours painted on the joints (and the bones ending in them) instead of the body colours, e.g. attention.
    pub joint_colors: Option<Vec<egui::Color32>>,
    pub preprocessed: bool,
    preprocessed_seq: Option<(usize, Sequence)>,
    pub player: player::Player,
    pub browser: browser::BrowserState,
    pub workers: Workers,
    pub notifications: Notifications,
    /// The class-description editor (for runs scored live).
    pub editor: editor::Editor,
    pub views: views::AnalysisViews,
    pub show_help: bool,
    pending: Vec<Command>,
    frame_count: u64,
    screenshot_rx: Option<std::sync::mpsc::Receiver<std::sync::Arc<egui::ColorImage>>>,
    bench: Option<Bench>,
}

impl ExplorerApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        let settings: Settings = if options.fresh {
            Settings::default()
        } else {
            cc.storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default()
        };
        let gpu = crate::bridge::install(cc.wgpu_render_state.as_ref());
        let mut app = Self {
            palette: Palette::for_theme(settings.theme),
            settings,
            ctx: cc.egui_ctx.clone(),
            gpu,
            device: candle_core::Device::Cpu,
            dataset: None,
            predictions: None,
            metrics: None,
            confusion: [None, None],
            joined: browser::Joined::default(),
            generation: 0,
            selected: None,
            joint_colors: None,
            preprocessed: false,
            preprocessed_seq: None,
            player: player::Player::default(),
            browser: browser::BrowserState::default(),
            workers: Workers::default(),
            notifications: Notifications::default(),
            editor: editor::Editor::default(),
            views: views::AnalysisViews::default(),
            show_help: false,
            pending: Vec::new(),
            frame_count: 0,
            screenshot_rx: None,
            bench: options.bench_frames.map(|frames| Bench {
                frames,
                cpu_ms: Vec::new(),
                frame_ms: Vec::new(),
                last: None,
            }),
            options,
        };
        app.apply_theme();
        app.choose_device(app.options.device);
        for &view in &app.options.views {
            if view == views::AnalysisView::Editor {
                app.editor.open = true;
            } else {
                app.views.open(view);
            }
        }
        if let Some(path) = app.options.data.clone() {
            app.pending.push(Command::OpenDataset(path));
        }
        if let Some(path) = app.options.run.clone() {
            app.pending.push(Command::OpenRun(path));
        }
        app
    }

    /// The sequence the player shows (the preprocessed tensor when that view is on).
    fn current_sequence(&self) -> Option<&Sequence> {
        let i = self.selected?;
        if self.preprocessed
            && let Some((j, seq)) = &self.preprocessed_seq
            && *j == i
        {
            return Some(seq);
        }
        self.dataset.as_ref()?.samples.get(i).map(|s| &s.seq)
    }

    fn apply_theme(&mut self) {
        self.palette = Palette::for_theme(self.settings.theme);
        self.ctx.set_visuals(match self.settings.theme {
            Theme::Dark => egui::Visuals::dark(),
            Theme::Light => egui::Visuals::light(),
        });
    }

    fn remember(&mut self, path: &std::path::Path) {
        if path.as_os_str() == "demo" {
            return;
        }
        self.settings.recent.retain(|p| p != path);
        self.settings.recent.insert(0, path.to_path_buf());
        self.settings.recent.truncate(MAX_RECENT);
    }

    fn data_changed(&mut self) {
        self.generation += 1;
        self.metrics = self.predictions.as_ref().map(Predictions::metrics);
        self.confusion = [
            self.predictions.as_ref().map(|p| p.confusion(Setting::Zsl)),
            self.predictions
                .as_ref()
                .map(|p| p.confusion(Setting::Gzsl)),
        ];
        self.joined = match &self.dataset {
            Some(d) => browser::Joined::new(d, self.predictions.as_ref()),
            None => browser::Joined::default(),
        };
        if let Some(p) = &self.predictions
            && let Some(d) = &self.dataset
        {
            let matched = self.joined.pred_row.iter().flatten().count();
            if matched == 0 {
                self.notifications.push(
                    Level::Warning,
                    format!(
                        "The run's {} predictions match none of the {} samples (sample ids differ)",
                        p.num_samples(),
                        d.samples.len()
                    ),
                );
            }
        }
    }

    fn select(&mut self, i: usize) {
        let Some(seq) = self
            .dataset
            .as_ref()
            .and_then(|d| d.samples.get(i))
            .map(|s| &s.seq)
        else {
            return;
        };
        self.selected = Some(i);
        self.preprocessed_seq = None;
        let seq = seq.clone();
        self.player.show_sequence(&seq);
    }

    /// Applies one command; the only place app state changes in response to the user.
    pub fn apply(&mut self, command: Command) {
        let frames = self.current_sequence().map_or(0, Sequence::frames);
        match command {
            Command::Pick(target) => {
                self.workers.spawn(&self.ctx, "Choosing a file", move |_| {
                    JobOutput::Picked(target, workers::pick_path(target))
                });
            }
            Command::Open(path) => {
                // A run folder holds predictions.json (or at least a trained run's config.toml).
                if path.join("predictions.json").is_file()
                    || path.join("config.toml").is_file()
                    || path.extension().is_some_and(|e| e == "json")
                {
                    self.apply(Command::OpenRun(path));
                } else {
                    self.apply(Command::OpenDataset(path));
                }
            }
            Command::OpenDataset(path) => {
                let label = format!("Loading {}", path.display());
                self.workers.spawn(&self.ctx, label, move |handle| {
                    let result = workers::load_dataset_job(&path, handle);
                    JobOutput::Dataset(path, result)
                });
            }
            Command::OpenRun(path) => {
                if let Some(source) = self.live_source(&path) {
                    let label = format!(
                        "Scoring {} on {}",
                        path.display(),
                        crate::nn::device::device_label(&self.device)
                    );
                    let device = self.device.clone();
                    self.workers.spawn(&self.ctx, label, move |handle| {
                        let result = scoring::score_job(&source, &device, handle).map(Box::new);
                        JobOutput::Scored(path, result)
                    });
                    return;
                }
                let label = format!("Loading run {}", path.display());
                self.workers.spawn(&self.ctx, label, move |_| {
                    let result = Predictions::load(&path)
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    JobOutput::Run(path, result)
                });
            }
            Command::SelectSample(i) => self.select(i),
            Command::SelectRelative(step) => {
                let order = &self.browser.order;
                if order.is_empty() {
                    return;
                }
                let pos = self
                    .selected
                    .and_then(|s| order.iter().position(|&o| o == s));
                let next = match pos {
                    Some(p) => {
                        (p as i64 + i64::from(step)).clamp(0, order.len() as i64 - 1) as usize
                    }
                    None => 0,
                };
                let i = order[next];
                self.select(i);
            }
            Command::TogglePlay => {
                if frames > 0 {
                    if !self.player.playing && self.player.frame(frames) + 1 >= frames {
                        self.player.position = 0.0;
                    }
                    self.player.playing = !self.player.playing;
                }
            }
            Command::StepFrames(step) => {
                self.player.playing = false;
                let f = self.player.frame(frames) as i64 + i64::from(step);
                self.player.seek(f.max(0) as usize, frames);
            }
            Command::FirstFrame => self.player.seek(0, frames),
            Command::LastFrame => self.player.seek(frames.saturating_sub(1), frames),
            Command::SeekFrame(f) => self.player.seek(f, frames),
            Command::SetSpeed(s) => self.settings.speed = s.clamp(0.05, 8.0),
            Command::ScaleSpeed(k) => {
                self.settings.speed = (self.settings.speed * k).clamp(0.05, 8.0)
            }
            Command::ToggleLoop => self.settings.looping = !self.settings.looping,
            Command::TogglePreprocessed => self.toggle_preprocessed(),
            Command::ResetView => self.player.reset_view(),
            Command::Orbit { dx, dy } => self.player.camera.orbit(dx, dy),
            Command::Pan { dx, dy, height_px } => self.player.camera.pan(dx, dy, height_px),
            Command::Zoom(steps) => self.player.camera.zoom(steps),
            Command::ToggleHelp => self.show_help = !self.show_help,
            Command::ToggleTheme => {
                self.settings.theme = self.settings.theme.toggled();
                self.apply_theme();
            }
            Command::ToggleBrowser => self.settings.show_browser = !self.settings.show_browser,
            Command::TogglePredictions => {
                self.settings.show_predictions = !self.settings.show_predictions;
            }
            Command::SetMatrixSetting(s) => self.settings.matrix_gzsl = s == Setting::Gzsl,
            Command::FilterCell {
                truth,
                pred,
                setting,
            } => {
                self.browser.cell = Some((truth, pred, setting));
                self.settings.show_browser = true;
                if let Some(d) = &self.dataset {
                    self.browser.refresh(
                        d,
                        &self.joined,
                        self.predictions.as_ref(),
                        self.generation,
                    );
                }
                if let Some(&first) = self.browser.order.first() {
                    self.select(first);
                }
            }
            Command::ClearCellFilter => {
                self.browser.cell = None;
                self.browser.subset = None;
            }
            c @ (Command::RunTsne(_)
            | Command::PlaySample(_)
            | Command::FilterSamples(_)
            | Command::SetGamma(_)
            | Command::ExportTables(_)
            | Command::SavePng { .. }) => self.apply_analysis(c),
            Command::UndoEdit => self.editor.undo(),
            Command::RedoEdit => self.editor.redo(),
            Command::CancelJob(id) => self.workers.cancel(id),
            Command::Dismiss(id) => self.notifications.dismiss(id),
        }
    }

    /// Runs scored live rather than read from `predictions.json`: the demo, and a `skelzero train` run folder when
    /// an encoder was given.
    fn live_source(&self, path: &std::path::Path) -> Option<scoring::ScoreSource> {
        if path.as_os_str() == "demo" {
            return Some(scoring::ScoreSource::Demo);
        }
        let encoder = self.options.encoder.clone()?;
        let trained = path.join(crate::zsl::run::WEIGHTS_FILE).is_file();
        let data = self.options.data.clone()?;
        trained.then(|| scoring::ScoreSource::Folders {
            data,
            encoder,
            run: path.to_path_buf(),
        })
    }

    fn toggle_preprocessed(&mut self) {
        self.preprocessed = !self.preprocessed;
        if !self.preprocessed {
            self.preprocessed_seq = None;
        }
        let frames = self.current_sequence().map_or(0, Sequence::frames);
        if let Some(seq) = self.current_sequence().cloned() {
            self.player.show_sequence(&seq);
        }
        self.player.seek(0, frames);
    }

    /// Shows an in-memory dataset and run, as if both had been opened (tests and programs embedding the explorer).
    pub fn show(&mut self, name: &str, dataset: Dataset, predictions: Predictions) {
        let path = PathBuf::from(name);
        self.handle_job_output(JobOutput::Dataset(path.clone(), Ok(dataset)));
        self.handle_job_output(JobOutput::Run(path, Ok(Box::new(predictions))));
    }

    fn handle_job_output(&mut self, out: JobOutput) {
        match out {
            JobOutput::Dataset(path, Ok(dataset)) => {
                self.remember(&path);
                let msg = format!(
                    "Loaded {} samples of {} classes from {}{}",
                    dataset.samples.len(),
                    dataset.classes.len(),
                    path.display(),
                    if dataset.skipped.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} skipped)", dataset.skipped.len())
                    }
                );
                self.notifications.push(Level::Info, msg);
                self.dataset = Some(dataset);
                self.browser.cell = None;
                self.selected = None;
                self.data_changed();
                // The benchmark plays a two-person sequence when there is one.
                let first = match (&self.bench, &self.dataset) {
                    (Some(_), Some(d)) => d.samples.iter().position(|s| s.seq.bodies() == 2),
                    _ => None,
                };
                self.select(first.unwrap_or(0));
                if self.options.autoplay {
                    self.player.playing = true;
                }
            }
            JobOutput::Dataset(path, Err(e)) | JobOutput::Run(path, Err(e)) => {
                // Reader errors usually name the file already (and the line); do not name it twice.
                let text = if e.contains(&*path.to_string_lossy()) {
                    format!("Open failed: {e}")
                } else {
                    format!("Could not open {}: {e}", path.display())
                };
                self.notifications.push(Level::Error, text);
            }
            JobOutput::Run(path, Ok(predictions)) => {
                self.remember(&path);
                self.notifications.push(
                    Level::Info,
                    format!(
                        "Loaded {} predictions over {} classes from {}",
                        predictions.num_samples(),
                        predictions.num_classes(),
                        path.display()
                    ),
                );
                self.predictions = Some(*predictions);
                self.data_changed();
                // Only a run scored live can be re-scored (its `Scored` arm attaches the editor again).
                self.editor.detach();
                self.views.branches.editor.run_opened(&path);
                self.analysis_run_loaded();
            }
            JobOutput::Scored(path, Ok(scored)) => {
                self.notifications.push(
                    Level::Info,
                    format!("Scored {} samples in {:.1} s", scored.predictions.num_samples(), scored.seconds),
                );
                let demo = path.as_os_str() == "demo";
                // The editor stays open across a re-scoring (e.g. `--view editor` while the demo is scored).
                let editor_open = self.editor.open;
                self.handle_job_output(JobOutput::Run(path, Ok(Box::new(scored.predictions.clone()))));
                self.editor.attach(&scored);
                self.views.branches.editor.attach_scored(&scored);
                self.editor.open = editor_open;
                // The demo opens on an unseen-class test sample, so the first view shows a zero-shot prediction:
                // a recognised one when there is one (the misclassified ones are a click away in the matrix).
                let unscored = self
                    .selected
                    .is_none_or(|i| self.joined.pred_row.get(i).copied().flatten().is_none());
                let unseen_test = |i: &usize| {
                    self.joined.pred_row[*i].is_some() && self.joined.rows[*i].unseen == Some(true)
                };
                let rows = 0..self.joined.rows.len();
                let first = rows
                    .clone()
                    .filter(unseen_test)
                    .find(|&i| self.joined.rows[i].correct == Some(true))
                    .or_else(|| rows.clone().find(unseen_test));
                if demo
                    && unscored
                    && let Some(i) = first
                {
                    self.select(i);
                    if self.options.autoplay {
                        self.player.playing = true;
                    }
                }
            }
            JobOutput::Scored(path, Err(e)) => self.handle_job_output(JobOutput::Run(path, Err(e))),
            out @ (JobOutput::Rescored(_) | JobOutput::ModelFetched(_)) => {
                if let Some(p) = self.editor.handle(out) {
                    self.predictions = Some(p);
                    self.data_changed();
                    self.analysis_run_loaded();
                }
            }
            out @ (JobOutput::Tsne(_) | JobOutput::Exported(_) | JobOutput::Branches(_)) => {
                self.handle_analysis_output(out)
            }
            JobOutput::Picked(target, Some(path)) => match target {
                PickTarget::RunFolder => self.apply(Command::OpenRun(path)),
                PickTarget::DatasetFolder | PickTarget::DatasetFile => {
                    self.apply(Command::OpenDataset(path));
                }
                PickTarget::DescriptionSetOpen | PickTarget::DescriptionSetSave => {
                    self.editor.picked(target, path);
                }
            },
            JobOutput::Picked(_, None) => self.notifications.push(
                Level::Info,
                "No file chosen (with no desktop portal the dialog cannot open: type the path instead)",
            ),
        }
    }

    fn menu_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open dataset folder…").clicked() {
                    self.pending.push(Command::Pick(PickTarget::DatasetFolder));
                }
                if ui.button("Open skeleton file…").clicked() {
                    self.pending.push(Command::Pick(PickTarget::DatasetFile));
                }
                if ui.button("Open run folder…").clicked() {
                    self.pending.push(Command::Pick(PickTarget::RunFolder));
                }
                if ui.button("Open the demo").clicked() {
                    self.pending.push(Command::OpenDataset("demo".into()));
                    self.pending.push(Command::OpenRun("demo".into()));
                }
                ui.menu_button("Recent", |ui| {
                    if self.settings.recent.is_empty() {
                        ui.weak("nothing yet");
                    }
                    for path in &self.settings.recent {
                        if ui.button(path.display().to_string()).clicked() {
                            self.pending.push(Command::Open(path.clone()));
                        }
                    }
                });
            });
            ui.menu_button("View", |ui| {
                let mut b = self.settings.show_browser;
                if ui.checkbox(&mut b, "Browser (B)").changed() {
                    self.pending.push(Command::ToggleBrowser);
                }
                let mut p = self.settings.show_predictions;
                if ui.checkbox(&mut p, "Predictions and matrix (M)").changed() {
                    self.pending.push(Command::TogglePredictions);
                }
                if ui.button("Dark / light theme (Ctrl+T)").clicked() {
                    self.pending.push(Command::ToggleTheme);
                }
                self.analysis_menu_ui(ui);
            });
            if ui.button("Help").clicked() {
                self.pending.push(Command::ToggleHelp);
            }
            ui.separator();
            let label = ui.label("Path");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.settings.path_input)
                        .hint_text("dataset folder/file or run folder")
                        .desired_width(360.0),
                )
                .labelled_by(label.id);
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Open").clicked() || enter) && !self.settings.path_input.trim().is_empty()
            {
                let path = PathBuf::from(self.settings.path_input.trim());
                self.pending.push(Command::Open(path));
            }
        });
    }

    /// Resolves `choice`; a device that cannot be had is reported and the CPU kept.
    fn choose_device(&mut self, choice: crate::nn::device::DeviceChoice) {
        match crate::nn::device::device_from_choice(choice) {
            Ok(d) => self.device = d,
            Err(e) => {
                self.notifications.push(Level::Error, e.to_string());
                self.device = candle_core::Device::Cpu;
            }
        }
    }

    /// The device selector of the status bar: applies to the next scoring (open the run again to re-score).
    fn device_ui(&mut self, ui: &mut egui::Ui) {
        use crate::nn::device::{DeviceChoice, cuda_built, device_label};
        let current = device_label(&self.device);
        let mut choice = None;
        egui::ComboBox::from_id_salt("device")
            .selected_text(format!("Device: {current}"))
            .show_ui(ui, |ui| {
                if ui.selectable_label(self.device.is_cpu(), "CPU").clicked() {
                    choice = Some(DeviceChoice::Cpu);
                }
                let cuda = ui
                    .add_enabled(
                        cuda_built(),
                        egui::Button::selectable(self.device.is_cuda(), "CUDA 0"),
                    )
                    .on_disabled_hover_text("built without the `cuda` feature");
                if cuda.clicked() {
                    choice = Some(DeviceChoice::Cuda);
                }
            })
            .response
            .on_hover_text("Where the skeleton encoder runs when a run is scored live");
        if let Some(c) = choice {
            self.choose_device(c);
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            self.device_ui(ui);
            ui.separator();
            match &self.dataset {
                Some(d) => ui.label(format!(
                    "{} · {} samples · {} classes",
                    d.root.display(),
                    d.samples.len(),
                    d.classes.len()
                )),
                None => ui.weak("no dataset"),
            };
            if let Some(p) = &self.predictions {
                ui.separator();
                ui.label(format!("run: {}", p.method));
            }
            for job in &self.workers.jobs {
                ui.separator();
                ui.add(egui::Spinner::new());
                ui.label(&job.label);
                ui.add(
                    egui::ProgressBar::new(job.handle.progress())
                        .desired_width(100.0)
                        .show_percentage(),
                );
                if ui.small_button("Cancel").clicked() {
                    self.pending.push(Command::CancelJob(job.id));
                }
            }
        });
    }

    fn predictions_ui(&mut self, ui: &mut egui::Ui) {
        let (Some(p), Some(m)) = (&self.predictions, &self.metrics) else {
            ui.heading("Predictions");
            ui.weak(
                "Open a run folder (Ctrl+R) to see predictions, accuracy and the confusion matrix.",
            );
            return;
        };
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Predictions");
            results::metrics_ui(ui, p, m);
            if self.editor.available() && ui.button("Edit class descriptions…").clicked() {
                self.editor.open = !self.editor.open;
            }
            ui.separator();
            if let (Some(d), Some(i)) = (&self.dataset, self.selected) {
                let sample = &d.samples[i];
                ui.label(format!("Sample {}", sample.meta.id));
                match self.joined.pred_row.get(i).copied().flatten() {
                    Some(row) => results::top_k_ui(
                        ui,
                        p,
                        row,
                        sample.meta.label,
                        self.settings.top_k,
                        d,
                        &self.palette,
                    ),
                    None => {
                        ui.weak("not scored by this run");
                    }
                }
                ui.separator();
            }
            ui.horizontal(|ui| {
                ui.heading("Confusion matrix");
                let mut gzsl = self.settings.matrix_gzsl;
                ui.selectable_value(&mut gzsl, false, "ZSL matrix");
                ui.selectable_value(&mut gzsl, true, "GZSL matrix");
                if gzsl != self.settings.matrix_gzsl {
                    self.pending.push(Command::SetMatrixSetting(if gzsl {
                        Setting::Gzsl
                    } else {
                        Setting::Zsl
                    }));
                }
            });
            let which = usize::from(self.settings.matrix_gzsl);
            if let (Some(c), Some(d)) = (&self.confusion[which], &self.dataset) {
                confusion::confusion_ui(ui, c, &d.classes, &self.palette, &mut self.pending);
            }
        });
    }

    fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        for path in dropped {
            self.pending.push(Command::Open(path));
        }
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop"),
            ));
            let rect = ctx.content_rect();
            painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Drop to open",
                egui::FontId::proportional(28.0),
                egui::Color32::WHITE,
            );
        }
    }

    /// `--screenshot` / `--exit-after-frames` / `--bench-frames`: scripted runs end by themselves.
    fn scripted_frame(&mut self, ctx: &egui::Context, frame: &eframe::Frame) {
        self.frame_count += 1;
        if let Some(bench) = &mut self.bench {
            let now = Instant::now();
            if let Some(last) = bench.last {
                bench.frame_ms.push((now - last).as_secs_f32() * 1000.0);
                if let Some(cpu) = frame.info().cpu_usage {
                    bench.cpu_ms.push(cpu * 1000.0);
                }
            }
            bench.last = Some(now);
            if self.frame_count == bench.frames {
                print_bench(bench);
            }
        }
        let limit = self
            .bench
            .as_ref()
            .map(|b| b.frames)
            .or(self.options.exit_after_frames)
            .or(self.options.screenshot.as_ref().map(|_| 10));
        let Some(limit) = limit else {
            return;
        };
        ctx.request_repaint();
        if let Some(rx) = &self.screenshot_rx {
            if let Ok(image) = rx.try_recv() {
                if let Some(path) = &self.options.screenshot {
                    match save_png(path, &image) {
                        Ok(()) => eprintln!("screenshot saved to {}", path.display()),
                        Err(e) => eprintln!("error: {}: {e}", path.display()),
                    }
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            return;
        }
        // A screenshot waits for loading and scoring to finish, so that it shows their result.
        if self.options.screenshot.is_some() && self.workers.busy() {
            return;
        }
        if self.frame_count >= limit {
            if self.options.screenshot.is_some() {
                let (tx, rx) = std::sync::mpsc::channel();
                let repaint = ctx.clone();
                ctx.request_screenshot(move |image| {
                    tx.send(image).ok();
                    // The screenshot arrives after the frame; wake the app to save it.
                    repaint.request_repaint();
                });
                self.screenshot_rx = Some(rx);
            } else {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }
}

fn percentile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let i = ((v.len() - 1) as f32 * q).round() as usize;
    v[i]
}

fn print_bench(bench: &Bench) {
    println!(
        "frames: {} measured\napp CPU time per frame: median {:.2} ms, p95 {:.2} ms\ntotal frame time: median {:.2} ms, p95 {:.2} ms ({:.1} fps)",
        bench.frame_ms.len(),
        percentile(&bench.cpu_ms, 0.5),
        percentile(&bench.cpu_ms, 0.95),
        percentile(&bench.frame_ms, 0.5),
        percentile(&bench.frame_ms, 0.95),
        1000.0 / percentile(&bench.frame_ms, 0.5),
    );
}

fn save_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let png = export::png_from_image(image, None, 1.0)?;
    crate::util::write_bytes_atomic(path, &png).map_err(|e| e.to_string())
}

impl eframe::App for ExplorerApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        for out in self.workers.poll() {
            self.handle_job_output(out);
        }
        self.handle_dropped_files(&ctx);
        let shortcuts = command::shortcut_commands(&ctx);
        self.pending.extend(shortcuts);
        self.apply_pending();

        let dt = f64::from(ctx.input(|i| i.stable_dt).min(0.1));
        let (frames, fps) = self
            .current_sequence()
            .map_or((0, 30.0), |s| (s.frames(), s.fps));
        self.player
            .advance(dt, fps, self.settings.speed, self.settings.looping, frames);

        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        if self.settings.show_browser {
            egui::Panel::left("browser")
                .resizable(true)
                .default_size(480.0)
                .show(ui, |ui| match &self.dataset {
                    Some(d) => {
                        self.browser.refresh(
                            d,
                            &self.joined,
                            self.predictions.as_ref(),
                            self.generation,
                        );
                        browser::browser_ui(
                            ui,
                            &mut self.browser,
                            d,
                            &self.joined,
                            self.selected,
                            &self.palette,
                            &mut self.pending,
                        );
                    }
                    None => {
                        ui.heading("Samples");
                        ui.weak("No dataset open.");
                    }
                });
        }
        if self.settings.show_predictions {
            egui::Panel::right("predictions")
                .resizable(true)
                .default_size(320.0)
                .show(ui, |ui| self.predictions_ui(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let settings = player::PlayerSettings {
                speed: self.settings.speed,
                looping: self.settings.looping,
                preprocessed: self.preprocessed,
                can_preprocess: self.selected.is_some(),
            };
            let title = match (&self.dataset, self.selected) {
                (Some(d), Some(i)) => {
                    let s = &d.samples[i];
                    format!(
                        "{} · {} · {} bodies · {} fps",
                        s.meta.id,
                        d.classes.get(s.meta.label).map_or("?", String::as_str),
                        s.seq.bodies(),
                        s.seq.fps
                    )
                }
                _ => "No sample selected".to_owned(),
            };
            ui.label(title);
            player::controls_ui(ui, &self.player, frames, fps, &settings, &mut self.pending);
            let hovered = self.player.hovered.and_then(|(_, j)| {
                self.current_sequence()
                    .and_then(|s| s.layout().joints.get(j).copied())
            });
            ui.label(format!("Joint: {}", hovered.unwrap_or("–")));
            let seq = self.current_sequence().cloned();
            player::viewport_ui(
                ui,
                &mut self.player,
                seq.as_ref(),
                self.joint_colors.as_deref(),
                &self.palette,
                self.gpu,
                &mut self.pending,
            );
        });

        self.editor
            .window_ui(&ctx, &mut self.workers, &self.palette);
        self.analysis_windows_ui(&ctx);
        if self.show_help && command::help_ui(&ctx) {
            self.pending.push(Command::ToggleHelp);
        }
        if let Some(id) = self.notifications.ui(&ctx, &self.palette) {
            self.pending.push(Command::Dismiss(id));
        }
        self.apply_pending();
        if self.player.playing {
            ctx.request_repaint();
        }
        self.scripted_frame(&ctx, frame);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.options.fresh {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        }
    }
}

impl ExplorerApp {
    fn apply_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for c in pending {
            self.apply(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_older_versions_get_defaults() {
        let old: Settings = serde_json::from_str(r#"{"speed": 2.0, "gone_field": 1}"#).unwrap();
        assert_eq!(old.speed, 2.0);
        assert_eq!(old.top_k, Settings::default().top_k);
        assert!(old.show_browser);
        let round: Settings = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(round, old);
    }
}
