//! The controller: [`ExplorerApp::apply`] is the one place app state changes in response to the user, and job
//! results come back here to the feature that asked for them.

use std::path::PathBuf;

use super::dialogs::{self, PickTarget, Picked};
use super::notifications::Level;
use super::workers::{JobOutput, take};
use super::{Command, ExplorerApp, browser, editor, player};
use crate::dataset::Dataset;
use crate::pipeline::binding;
use crate::pipeline::predictions::{Predictions, Setting};
use crate::pipeline::scoring::{self, Scored};
use crate::skeleton::Sequence;

/// What the app's own loading jobs send back.
pub(super) enum Loaded {
    Dataset(PathBuf, Result<Dataset, String>),
    Run(PathBuf, Result<Box<Predictions>, String>),
    /// A run scored live (the demo, or `--encoder` with a run folder).
    Scored(PathBuf, Result<Box<Scored>, String>),
}

impl ExplorerApp {
    pub(super) fn data_changed(&mut self) {
        self.generation += 1;
        self.mismatch = match (&self.predictions, &self.dataset) {
            (Some(p), Some(d)) => binding::dataset_mismatch(p, d),
            _ => None,
        };
        // A run over data it does not belong to shows no figures, matrix or predictions (the banner says why).
        let shown = self
            .predictions
            .as_ref()
            .filter(|_| self.mismatch.is_none());
        self.class_names = shown.map_or_else(Vec::new, |p| {
            binding::run_class_names(p, self.dataset.as_ref())
        });
        self.metrics = shown.map(Predictions::metrics);
        self.confusion = [
            shown.map(|p| p.confusion(Setting::Zsl)),
            shown.map(|p| p.confusion(Setting::Gzsl)),
        ];
        self.joined = match &self.dataset {
            Some(d) => browser::Joined::new(
                d,
                shown,
                shown.and(super::compare::bound_b(&self.views.compare, Some(d))),
            ),
            None => browser::Joined::default(),
        };
    }

    /// Puts the selection on a sample the run scored (an unseen-class test sample, a recognised one when there is
    /// one), so that the first view shows a zero-shot prediction and the STAR/InfoCPL windows have a sample; the
    /// misclassified ones are a click away in the matrix. Leaves a scored selection alone.
    pub(super) fn select_scored_sample(&mut self) {
        if self.bench.is_some() {
            return;
        }
        let scored = |i: usize| self.joined.pred_row.get(i).copied().flatten().is_some();
        if self.selected.is_some_and(scored) {
            return;
        }
        let rows = 0..self.joined.rows.len();
        let unseen_test = |i: &usize| scored(*i) && self.joined.rows[*i].unseen == Some(true);
        let recognised = |i: &usize| unseen_test(i) && self.joined.rows[*i].correct == Some(true);
        // Some recordings start with empty frames (MSR a07_s04_e01): the first view should show a skeleton.
        let drawn = |i: &usize| {
            self.dataset
                .as_ref()
                .and_then(|d| d.samples.get(*i))
                .is_some_and(|s| s.seq.frames() > 0 && !s.seq.frame_empty(0))
        };
        let first = rows
            .clone()
            .find(|i| recognised(i) && drawn(i))
            .or_else(|| rows.clone().find(|i| unseen_test(i) && drawn(i)))
            .or_else(|| rows.clone().find(recognised))
            .or_else(|| rows.clone().find(unseen_test))
            .or_else(|| rows.clone().find(|&i| scored(i)));
        if let Some(i) = first {
            self.select(i);
            if self.options.autoplay {
                self.player.playing = true;
            }
        }
    }

    /// Whether a live scoring job is still running (a cancelled one is dropped from the workers' list).
    fn scoring(&self) -> bool {
        self.score_job
            .is_some_and(|id| self.workers.jobs.iter().any(|j| j.id == id))
    }

    pub(super) fn select(&mut self, i: usize) {
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
        if self.preprocessed {
            self.build_preprocessed();
        }
        let shown = self.current_sequence().cloned().unwrap_or(seq);
        self.player.show_sequence(&shown);
    }

    /// Builds the preprocessed view of the selected sample; when that fails the raw sequence stays on screen and
    /// the reason is shown.
    fn build_preprocessed(&mut self) {
        let Some((i, seq)) = self
            .selected
            .and_then(|i| Some((i, &self.dataset.as_ref()?.samples.get(i)?.seq)))
        else {
            return;
        };
        match player::preprocessed_view(seq, &self.preprocess) {
            Ok(pre) => self.preprocessed_seq = Some((i, pre)),
            Err(e) => {
                self.preprocessed = false;
                self.preprocessed_seq = None;
                self.notifications.push(
                    Level::Warning,
                    format!("Cannot preprocess this sample: {e}"),
                );
            }
        }
    }

    /// Applies one command; the only place app state changes in response to the user.
    pub fn apply(&mut self, command: Command) {
        let frames = self.current_sequence().map_or(0, Sequence::frames);
        match command {
            Command::Pick(target) => {
                dialogs::spawn_pick(&self.ctx, &mut self.workers, target);
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
                    let result = scoring::load_dataset_job(&path, handle);
                    Loaded::Dataset(path, result)
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
                    let id = self.workers.spawn(&self.ctx, label, move |handle| {
                        let result = scoring::score_job(&source, &device, handle).map(Box::new);
                        Loaded::Scored(path, result)
                    });
                    self.score_job = Some(id);
                    return;
                }
                let label = format!("Loading run {}", path.display());
                self.workers.spawn(&self.ctx, label, move |_| {
                    let result = Predictions::load(&path)
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    Loaded::Run(path, result)
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
            Command::ToggleTrails => {
                self.settings.trails = !self.settings.trails;
                self.player.trails = self.settings.trails;
            }
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
                self.views.matrix_mark = Some((truth, pred, setting));
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
            | Command::SaveGamma(_)
            | Command::ExportTables(_)
            | Command::SavePng { .. }
            | Command::OpenCompare(_)) => self.apply_analysis(c),
            Command::UndoEdit => self.editor.undo(),
            Command::RedoEdit => self.editor.redo(),
            Command::CancelJob(id) => self.workers.cancel(id),
            Command::Dismiss(id) => self.notifications.dismiss(id),
        }
    }

    /// Runs scored live rather than read from `predictions.json`: the demo, and a `skelzero train` run folder when
    /// an encoder was given.
    pub(super) fn live_source(&self, path: &std::path::Path) -> Option<scoring::ScoreSource> {
        if let Some(i) = crate::pipeline::demo::demo_run_index(path) {
            return Some(scoring::ScoreSource::Demo(i));
        }
        let encoder = self.options.encoder.clone()?;
        let trained = path.join(crate::experiment::run::WEIGHTS_FILE).is_file();
        let data = self.options.data.clone()?;
        trained.then(|| scoring::ScoreSource::Folders {
            data,
            encoder,
            run: path.to_path_buf(),
        })
    }

    pub(super) fn toggle_preprocessed(&mut self) {
        self.preprocessed = !self.preprocessed;
        self.preprocessed_seq = None;
        if self.preprocessed {
            self.build_preprocessed();
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
        self.handle_loaded(Loaded::Dataset(path.clone(), Ok(dataset)));
        self.handle_loaded(Loaded::Run(path, Ok(Box::new(predictions))));
    }

    /// A finished job's result, handed to the feature whose type it is.
    pub(super) fn handle_job_output(&mut self, out: JobOutput) {
        let out = match take::<Loaded>(out) {
            Ok(loaded) => return self.handle_loaded(loaded),
            Err(out) => out,
        };
        let out = match take::<Picked>(out) {
            Ok(picked) => return self.handle_picked(picked),
            Err(out) => out,
        };
        let out = match take::<editor::EditorOutput>(out) {
            Ok(out) => {
                if let Some(p) = self.editor.handle(out) {
                    // The InfoCPL branch editor scores with the edited texts too.
                    if let Some(classes) = self.editor.class_embeddings() {
                        self.views.branches.editor.set_class_embeddings(classes);
                    }
                    self.predictions = Some(p);
                    self.data_changed();
                    self.analysis_run_loaded();
                }
                return;
            }
            Err(out) => out,
        };
        self.handle_analysis_output(out);
    }

    fn handle_picked(&mut self, Picked(target, path): Picked) {
        let Some(path) = path else {
            self.notifications.push(
                Level::Info,
                "No file chosen (with no desktop portal the dialog cannot open: type the path instead)",
            );
            return;
        };
        match target {
            PickTarget::RunFolder => self.apply(Command::OpenRun(path)),
            PickTarget::CompareRun => self.apply(Command::OpenCompare(path)),
            PickTarget::DatasetFolder | PickTarget::DatasetFile => {
                self.apply(Command::OpenDataset(path));
            }
            PickTarget::DescriptionSetOpen | PickTarget::DescriptionSetSave => {
                self.editor.picked(target, path);
            }
        }
    }

    fn handle_loaded(&mut self, out: Loaded) {
        match out {
            Loaded::Dataset(path, Ok(dataset)) => {
                self.remember(&path);
                self.show_path(&path);
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
                // Class texts beside a prediction, for runs opened from their folder: the dataset's own files,
                // when they name one text per class (a few small files, read here once per dataset).
                self.views.dataset_texts =
                    crate::dataset::texts::ClassTexts::from_tsv_dir(&dataset.root.join("text"))
                        .ok()
                        .filter(|t| t.names.len() == dataset.classes.len());
                self.dataset = Some(dataset);
                // The training points' sample indices belong to the old data.
                self.views.research.training = Default::default();
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
                    if self.scoring() {
                        self.play_when_scored = true;
                    } else {
                        self.player.playing = true;
                    }
                }
                // The run may have arrived first.
                self.select_scored_sample();
            }
            Loaded::Dataset(path, Err(e)) | Loaded::Run(path, Err(e)) => {
                // Reader errors usually name the file already (and the line); do not name it twice.
                let text = if e.contains(&*path.to_string_lossy()) {
                    format!("Open failed: {e}")
                } else {
                    format!("Could not open {}: {e}", path.display())
                };
                self.notifications.push(Level::Error, text);
            }
            Loaded::Run(path, Ok(predictions)) => {
                self.remember(&path);
                self.show_path(&path);
                self.notifications.push(
                    Level::Info,
                    format!(
                        "Loaded {} predictions over {} classes from {}",
                        predictions.num_samples(),
                        predictions.num_classes(),
                        path.display()
                    ),
                );
                self.opened_gamma = predictions.gamma;
                self.predictions = Some(*predictions);
                self.run_path = Some(path.clone());
                self.data_changed();
                self.select_scored_sample();
                // Only a run scored live can be re-scored (its `Scored` arm attaches the editor again).
                self.editor.detach();
                self.views.research.detach();
                match super::calibration::RunGamma::from_folder(&path) {
                    Ok(record) => self.set_run_gamma(record),
                    Err(e) => {
                        self.notifications
                            .push(Level::Error, format!("The run's gamma record: {e}"));
                        self.set_run_gamma(None);
                    }
                }
                self.views.branches.editor.run_opened(&path);
                self.analysis_run_loaded();
            }
            Loaded::Scored(path, Ok(scored)) => {
                self.score_job = None;
                self.notifications.push(
                    Level::Info,
                    format!(
                        "Scored {} samples in {:.1} s",
                        scored.predictions.num_samples(),
                        scored.seconds
                    ),
                );
                self.demo_run = crate::pipeline::demo::demo_run_index(&path);
                // The editor stays open across a re-scoring (e.g. `--view editor` while the demo is scored).
                let editor_open = self.editor.open;
                self.handle_loaded(Loaded::Run(path, Ok(Box::new(scored.predictions.clone()))));
                self.editor.attach(&scored);
                self.views.branches.editor.attach_scored(&scored);
                self.views.research.attach_scored(&scored);
                let record = scored.run.lock().ok().map(|run| {
                    let folder = self.demo_run.is_none();
                    super::calibration::RunGamma::from_run(&run, folder)
                });
                self.set_run_gamma(record);
                self.editor.open = editor_open;
                self.select_scored_sample();
                if std::mem::take(&mut self.play_when_scored) {
                    self.player.playing = true;
                }
            }
            Loaded::Scored(path, Err(e)) => {
                self.score_job = None;
                self.handle_loaded(Loaded::Run(path, Err(e)));
                // The player held still for the scores; play what is shown instead.
                if std::mem::take(&mut self.play_when_scored) {
                    self.player.playing = true;
                }
            }
        }
    }

    /// The Path field shows what was opened last (never an older, typed path); the demo has none.
    fn show_path(&mut self, path: &std::path::Path) {
        self.settings.path_input = if path.as_os_str() == "demo" {
            String::new()
        } else {
            path.display().to_string()
        };
    }

    /// Resolves `choice`; a device that cannot be had is reported and the CPU kept.
    pub(super) fn choose_device(&mut self, choice: crate::nn::device::DeviceChoice) {
        match crate::nn::device::device_from_choice(choice) {
            Ok(d) => self.device = d,
            Err(e) => {
                self.notifications.push(Level::Error, e.to_string());
                self.device = candle_core::Device::Cpu;
            }
        }
    }
}
