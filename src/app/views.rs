//! The analysis windows (t-SNE, GZSL calibration, STAR part scores, InfoCPL branches, export) and their commands,
//! kept out of `mod.rs`: the app calls [`ExplorerApp::analysis_windows_ui`], [`ExplorerApp::analysis_menu_ui`],
//! [`ExplorerApp::apply_analysis`] and [`ExplorerApp::handle_analysis_output`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use super::ExplorerApp;
use super::branch_editor::BranchOutput;
use super::calibration::CalibrationView;
use super::command::AnalysisView;
use super::command::Command;
use super::compare::{CompareLoaded, CompareView};
use super::notifications::Level;
use super::research_views::{ResearchContext, ResearchViews, Training, TrainingDone};
use super::star_parts::{BranchView, StarView};
use super::tsne::{TsneContext, TsneView};
use super::workers::{JobOutput, take};
use crate::pipeline::predictions::Setting;
use crate::pipeline::tsne::{TsneMap, tsne_job};

/// A t-SNE job's result.
struct TsneDone(Result<TsneMap, String>);

/// An export job's result: the files written.
struct Exported(Result<Vec<PathBuf>, String>);

pub struct AnalysisViews {
    pub tsne: TsneView,
    pub calibration: CalibrationView,
    pub star: StarView,
    pub branches: BranchView,
    pub research: ResearchViews,
    /// The open dataset's class texts (its `text/` folder), shown beside a prediction of a run opened from its
    /// folder; `None` when the dataset has none that fit its classes.
    pub dataset_texts: Option<crate::dataset::texts::ClassTexts>,
    pub compare: CompareView,
    pub export_open: bool,
    /// The confusion matrix as a dock tab (the predictions panel then shows a note instead of a second copy).
    pub matrix_open: bool,
    /// The confusion cell last clicked (truth, predicted, setting; dataset classes): outlined until another is.
    pub matrix_mark: Option<(usize, usize, Setting)>,
    pub export_dir: String,
    /// Bumped when a run is loaded (gamma changes do not count): t-SNE maps belong to one run.
    pub run_key: u64,
    pub tsne_job: Option<u64>,
    /// Run t-SNE as soon as a run with features is loaded (`--view tsne`).
    pub tsne_on_load: bool,
    /// Whether the STAR view painted the joints last frame (so closing it clears them).
    painted: bool,
    /// The joint colours the STAR tab asks for this frame.
    paint: Option<Vec<egui::Color32>>,
    /// Screen rectangle of each shown dock tab last frame, for PNGs of one view and `--dump-state`.
    pub rects: Vec<(AnalysisView, egui::Rect)>,
    png_rx: Option<(PathBuf, Option<egui::Rect>, Receiver<Arc<egui::ColorImage>>)>,
}

impl Default for AnalysisViews {
    fn default() -> Self {
        Self {
            tsne: TsneView::default(),
            calibration: CalibrationView::default(),
            star: StarView::default(),
            branches: BranchView::default(),
            research: ResearchViews::default(),
            dataset_texts: None,
            compare: CompareView::default(),
            export_open: false,
            matrix_open: false,
            matrix_mark: None,
            export_dir: "export".into(),
            run_key: 0,
            tsne_job: None,
            tsne_on_load: false,
            painted: false,
            paint: None,
            rects: Vec::new(),
            png_rx: None,
        }
    }
}

impl AnalysisViews {
    pub fn open(&mut self, view: AnalysisView) {
        match view {
            AnalysisView::Tsne => {
                self.tsne.open = true;
                self.tsne_on_load = true;
            }
            AnalysisView::Calibration => self.calibration.open = true,
            AnalysisView::Star => {
                self.star.open = true;
                self.star.paint = true;
            }
            AnalysisView::Branches => self.branches.open = true,
            AnalysisView::Export => self.export_open = true,
            AnalysisView::ClassAccuracy => self.research.accuracy_open = true,
            AnalysisView::Neighbours => self.research.neighbours_open = true,
            AnalysisView::Compare => self.compare.open = true,
            AnalysisView::Matrix => self.matrix_open = true,
            AnalysisView::Editor => {}
        }
    }
}

impl ExplorerApp {
    pub(super) fn analysis_menu_ui(&mut self, ui: &mut egui::Ui) {
        ui.separator();
        let v = &mut self.views;
        ui.checkbox(&mut v.matrix_open, "Confusion matrix");
        ui.checkbox(&mut v.tsne.open, "t-SNE");
        ui.checkbox(&mut v.calibration.open, "GZSL calibration");
        ui.checkbox(&mut v.star.open, "STAR part scores");
        ui.checkbox(&mut v.branches.open, "InfoCPL branches");
        ui.checkbox(&mut v.research.accuracy_open, "Per-class accuracy");
        ui.checkbox(&mut v.research.neighbours_open, "Nearest samples");
        ui.checkbox(&mut v.compare.open, "Run comparison");
        ui.checkbox(&mut v.export_open, "Export");
    }

    /// Applies the analysis commands (called from [`ExplorerApp::apply`]).
    pub(super) fn apply_analysis(&mut self, command: Command) {
        match command {
            Command::RunTsne(cfg) => {
                let Some(p) = self.predictions.clone() else {
                    return;
                };
                if let Some(id) = self.views.tsne_job.take() {
                    self.workers.cancel(id);
                }
                let key = self.views.run_key;
                let id = self.workers.spawn(&self.ctx, "t-SNE", move |handle| {
                    TsneDone(tsne_job(&p, key, cfg, handle))
                });
                self.views.tsne_job = Some(id);
            }
            Command::OpenCompare(path) => self.open_compare(path),
            Command::PlaySample(i) => {
                self.select(i);
                self.player.position = 0.0;
                self.player.playing = true;
            }
            Command::FilterSamples(samples) => {
                self.browser.cell = None;
                self.browser.subset = Some(samples);
                self.settings.show_browser = true;
            }
            Command::SetGamma(gamma) => {
                if let Some(p) = &mut self.predictions
                    && gamma.is_finite()
                    && self.mismatch.is_none()
                {
                    p.gamma = gamma;
                    // As `data_changed`, without its once-per-load warnings: the slider sends many of these.
                    self.generation += 1;
                    self.metrics = Some(p.metrics());
                    self.confusion = [
                        Some(p.confusion(crate::pipeline::predictions::Setting::Zsl)),
                        Some(p.confusion(crate::pipeline::predictions::Setting::Gzsl)),
                    ];
                    if let Some(d) = &self.dataset {
                        let b = super::compare::bound_b(&self.views.compare, Some(d));
                        self.joined = super::browser::Joined::new(d, Some(p), b);
                    }
                }
            }
            Command::SaveGamma(save) => self.save_gamma(save),
            Command::ExportTables(dir) => {
                let (Some(p), Some(d)) = (self.predictions.clone(), self.dataset.as_ref()) else {
                    self.notifications.push(
                        Level::Warning,
                        "Nothing to export: open a dataset and a run first",
                    );
                    return;
                };
                let names: Vec<String> = (0..d.classes.len().max(p.class_names.len()))
                    .map(|c| p.class_name(c, &d.classes))
                    .collect();
                let run_gamma = self.opened_gamma;
                self.workers.spawn(&self.ctx, "Exporting", move |_| {
                    Exported(
                        super::export::export_tables(&dir, &p, &names, run_gamma)
                            .map_err(|e| e.to_string()),
                    )
                });
            }
            Command::SavePng { path, view } => {
                let region = view.and_then(|v| {
                    self.views
                        .rects
                        .iter()
                        .find(|(w, _)| *w == v)
                        .map(|(_, r)| *r)
                });
                let (tx, rx) = std::sync::mpsc::channel();
                let repaint = self.ctx.clone();
                self.ctx.request_screenshot(move |image| {
                    tx.send(image).ok();
                    // The pixels arrive after the frame; wake the app to save them.
                    repaint.request_repaint();
                });
                self.views.png_rx = Some((path, region, rx));
            }
            _ => {}
        }
    }

    /// The analysis views' job results (t-SNE maps, exports, InfoCPL branch loads and re-scorings).
    pub(super) fn handle_analysis_output(&mut self, out: JobOutput) {
        let out = match take::<TsneDone>(out) {
            Ok(TsneDone(result)) => {
                self.views.tsne_job = None;
                match result {
                    Ok(map) => self.views.tsne.map = Some(map),
                    Err(e) => self
                        .notifications
                        .push(Level::Error, format!("t-SNE failed: {e}")),
                }
                return;
            }
            Err(out) => out,
        };
        let out = match take::<TrainingDone>(out) {
            Ok(done) => {
                self.training_done(done);
                return;
            }
            Err(out) => out,
        };
        let out = match take::<CompareLoaded>(out) {
            Ok(loaded) => {
                self.compare_loaded(loaded);
                return;
            }
            Err(out) => out,
        };
        let out = match take::<Exported>(out) {
            Ok(Exported(Ok(paths))) => {
                let dir = paths
                    .first()
                    .and_then(|p| p.parent())
                    .map_or(String::new(), |d| d.display().to_string());
                self.notifications.push(
                    Level::Info,
                    format!("Exported {} files to {dir}", paths.len()),
                );
                return;
            }
            Ok(Exported(Err(e))) => {
                self.notifications
                    .push(Level::Error, format!("Export failed: {e}"));
                return;
            }
            Err(out) => out,
        };
        match take::<BranchOutput>(out) {
            Ok(out) => {
                if let Some(p) = self
                    .views
                    .branches
                    .editor
                    .handle(out, self.predictions.as_ref())
                {
                    let moved = self.predictions.as_ref().map(|q| &q.features) != Some(&p.features);
                    self.predictions = Some(p);
                    self.data_changed();
                    if moved {
                        // The t-SNE map belongs to the old points (another first branch projects them).
                        self.analysis_run_loaded();
                    }
                }
            }
            Err(_) => tracing::warn!("a job's result had no taker"),
        }
    }

    /// Called when a run has been loaded.
    pub(super) fn analysis_run_loaded(&mut self) {
        self.views.run_key += 1;
        self.views.matrix_mark = None;
        self.views.tsne.map = None;
        self.views.tsne.picked_row = None;
        if self.views.tsne_on_load
            && self
                .predictions
                .as_ref()
                .is_some_and(|p| p.features.is_some())
        {
            let cfg = self.views.tsne.config();
            self.apply_analysis(Command::RunTsne(cfg));
        }
    }

    /// The views' per-frame work, whether or not their tabs show: saved PNGs, finished or cancelled jobs.
    pub(super) fn analysis_update(&mut self, ctx: &egui::Context) {
        self.receive_png(ctx);
        if self
            .views
            .tsne_job
            .is_some_and(|id| !self.workers.jobs.iter().any(|j| j.id == id))
        {
            // Cancelled from the status bar.
            self.views.tsne_job = None;
        }
        self.views.branches.editor.forget_finished(&self.workers);
        self.research_update();
        if self.views.tsne_job.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        self.views.paint = None;
        if self.views.branches.open
            && let Some(p) = self
                .predictions
                .as_ref()
                .filter(|_| self.mismatch.is_none())
            && p.infocpl.is_some()
        {
            self.views.branches.editor.update(ctx, &mut self.workers, p);
        }
    }

    /// The prediction row the row-wise views show: the selected sample's, else the t-SNE point last clicked.
    fn view_row(&self) -> Option<usize> {
        self.selected
            .and_then(|s| self.joined.pred_row.get(s).copied().flatten())
            .or(self.views.tsne.picked_row)
            .filter(|&r| {
                self.predictions
                    .as_ref()
                    .is_some_and(|p| r < p.num_samples())
            })
    }

    /// One view's contents, in its dock tab.
    pub(super) fn pane_ui(&mut self, ui: &mut egui::Ui, view: AnalysisView) {
        // A run over another dataset's samples shows nothing (the banner says why).
        let shown = self
            .predictions
            .as_ref()
            .filter(|_| self.mismatch.is_none());
        match view {
            AnalysisView::Tsne => {
                let running = self.views.tsne_job.and_then(|id| {
                    self.workers
                        .jobs
                        .iter()
                        .find(|j| j.id == id)
                        .map(|j| (id, j.handle.progress()))
                });
                let cx = TsneContext {
                    predictions: shown,
                    dataset: self.dataset.as_ref(),
                    joined: &self.joined,
                    run_key: self.views.run_key,
                    running,
                    selected: self.selected,
                    palette: &self.palette,
                    gpu: self.gpu,
                };
                self.views.tsne.ui(ui, &cx, &mut self.pending);
            }
            AnalysisView::Export => self.export_ui(ui),
            AnalysisView::Matrix => {
                // In a short dock the matrix keeps a legible size and scrolls: 26 classes squeezed into 300 points
                // would draw neither counts nor readable labels (*Taller* shows it whole).
                let width = ui.available_width();
                let avail = egui::vec2(width, ui.available_height().max(width.min(800.0) * 0.75));
                egui::ScrollArea::vertical()
                    .id_salt("matrix tab")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.matrix_ui(ui, avail, false));
            }
            AnalysisView::Compare => self.compare_ui(ui),
            AnalysisView::Editor => self.editor.tab_ui(ui, &mut self.workers, &self.palette),
            AnalysisView::Calibration
            | AnalysisView::Star
            | AnalysisView::Branches
            | AnalysisView::ClassAccuracy
            | AnalysisView::Neighbours => {
                let Some(p) = shown else {
                    ui.weak(if self.predictions.is_some() {
                        "The open run does not belong to this dataset (see the banner)."
                    } else {
                        "Open a run folder (Ctrl+R) to see this view."
                    });
                    return;
                };
                let row = self.view_row();
                let layout_joints = self.current_sequence().map_or(0, |s| s.joints());
                let d = &self.class_names[..];
                match view {
                    AnalysisView::Calibration => self.views.calibration.ui(
                        ui,
                        p,
                        self.opened_gamma,
                        self.views.run_key,
                        &self.palette,
                        &mut self.pending,
                    ),
                    AnalysisView::ClassAccuracy | AnalysisView::Neighbours => {
                        let cx = ResearchContext {
                            predictions: p,
                            dataset: self.dataset.as_ref(),
                            joined: &self.joined,
                            names: d,
                            key: self.generation,
                            row,
                            palette: &self.palette,
                            run_key: self.views.run_key,
                            training_progress: match self.views.research.training {
                                Training::Running(id, _) => self
                                    .workers
                                    .jobs
                                    .iter()
                                    .find(|j| j.id == id)
                                    .map(|j| j.handle.progress()),
                                _ => None,
                            },
                        };
                        let r = &mut self.views.research;
                        if view == AnalysisView::ClassAccuracy {
                            r.accuracy_ui(ui, &cx, &mut self.pending);
                        } else {
                            r.neighbours_ui(ui, &cx, &mut self.pending);
                        }
                    }
                    AnalysisView::Star => {
                        egui::ScrollArea::vertical()
                            .id_salt("star_tab")
                            .auto_shrink([false, false])
                            .show(ui, |ui| {
                                self.views.paint =
                                    self.views
                                        .star
                                        .ui(ui, p, d, row, layout_joints, &self.palette);
                            });
                    }
                    _ => {
                        let cancel = egui::ScrollArea::vertical()
                            .id_salt("branches_tab")
                            .auto_shrink([false, false])
                            .show(ui, |ui| {
                                self.views
                                    .branches
                                    .ui(ui, p, d, row, &self.palette, &self.workers)
                            })
                            .inner;
                        if let Some(id) = cancel {
                            self.pending.push(Command::CancelJob(id));
                        }
                    }
                }
            }
        }
    }

    /// Paints the STAR part colours on the skeleton while the STAR tab shows them, and clears them after.
    pub(super) fn apply_paint(&mut self) {
        let paint = self.views.paint.take();
        if paint.is_some() || self.views.painted {
            self.views.painted = paint.is_some();
            self.joint_colors = paint;
        }
    }

    fn export_ui(&mut self, ui: &mut egui::Ui) {
        ui.scope(|ui| {
                ui.horizontal(|ui| {
                    let label = ui.label("Folder");
                    ui.text_edit_singleline(&mut self.views.export_dir)
                        .labelled_by(label.id);
                });
                let dir = PathBuf::from(self.views.export_dir.trim());
                let ready = !self.views.export_dir.trim().is_empty();
                ui.add_enabled_ui(ready && self.predictions.is_some(), |ui| {
                    if ui
                        .button("Export tables (CSV + JSON)")
                        .on_hover_text("predictions.csv, per_class.csv, confusion_zsl.csv, confusion_gzsl.csv, report.json")
                        .clicked()
                    {
                        self.pending.push(Command::ExportTables(dir.clone()));
                    }
                });
                ui.horizontal(|ui| {
                    ui.add_enabled_ui(ready, |ui| {
                        if ui.button("Window PNG").clicked() {
                            self.pending.push(Command::SavePng {
                                path: dir.join("window.png"),
                                view: None,
                            });
                        }
                        let shown = self.views.rects.iter().any(|(v, _)| *v == AnalysisView::Tsne);
                        if ui.add_enabled(shown, egui::Button::new("t-SNE PNG")).clicked() {
                            self.pending.push(Command::SavePng {
                                path: dir.join("tsne.png"),
                                view: Some(AnalysisView::Tsne),
                            });
                        }
                    });
                });
        });
    }

    /// Saves a requested PNG once its pixels have arrived.
    fn receive_png(&mut self, ctx: &egui::Context) {
        let Some((path, region, rx)) = &self.views.png_rx else {
            return;
        };
        let Ok(image) = rx.try_recv() else {
            return;
        };
        let saved = super::export::png_from_image(&image, *region, ctx.pixels_per_point())
            .and_then(|png| crate::util::write_bytes_atomic(path, &png).map_err(|e| e.to_string()));
        match saved {
            Ok(()) => self
                .notifications
                .push(Level::Info, format!("Saved {}", path.display())),
            Err(e) => self
                .notifications
                .push(Level::Error, format!("{}: {e}", path.display())),
        }
        self.views.png_rx = None;
    }
}

impl ExplorerApp {
    /// The shown run's gamma record (from its folder or its live-scored run): the validation gamma becomes the one
    /// "Run's (validation)" restores, and a gamma saved with the run is applied (the run scores with it).
    pub(super) fn set_run_gamma(&mut self, record: Option<super::calibration::RunGamma>) {
        if let Some(r) = &record {
            self.opened_gamma = r.validation_gamma;
            if let (Some(saved), Some(p)) = (&r.saved, &mut self.predictions)
                && (p.gamma - saved.gamma as f32).abs() >= 5e-4
            {
                p.gamma = saved.gamma as f32;
                self.data_changed();
            }
        }
        self.views.calibration.run = record;
    }

    /// Saves the gamma in use with the run folder (`gamma.toml`, chosen on the test split the curves show), or
    /// deletes the saved one and goes back to the validation gamma.
    fn save_gamma(&mut self, save: bool) {
        use crate::experiment::saved_gamma::SavedGamma;
        use crate::zsl::branch_set::ChosenOn;
        let (Some(run), Some(p)) = (&mut self.views.calibration.run, &self.predictions) else {
            return;
        };
        let Some(dir) = run.dir.clone() else {
            return;
        };
        if save {
            let saved = SavedGamma {
                gamma: f64::from(p.gamma),
                chosen_on: ChosenOn::Test,
                validation_gamma: f64::from(run.validation_gamma),
            };
            match saved.save(&dir) {
                Ok(path) => {
                    self.notifications.push(
                        Level::Info,
                        format!(
                            "Saved gamma {:.3} with the run ({}), recorded as chosen on the test split",
                            saved.gamma,
                            path.display()
                        ),
                    );
                    run.saved = Some(saved);
                }
                Err(e) => self
                    .notifications
                    .push(Level::Error, format!("Could not save gamma: {e}")),
            }
        } else {
            match SavedGamma::forget(&dir) {
                Ok(_) => {
                    run.saved = None;
                    let g = run.validation_gamma;
                    self.notifications.push(
                        Level::Info,
                        format!("Forgot the saved gamma: the run scores with its validation gamma {g:.3} again"),
                    );
                    self.apply_analysis(Command::SetGamma(g));
                }
                Err(e) => self.notifications.push(
                    Level::Error,
                    format!("Could not delete the saved gamma: {e}"),
                ),
            }
        }
    }

    /// The run's label as the window shows it: its method, and a gamma saved with it.
    pub(super) fn run_label(&self, p: &crate::pipeline::predictions::Predictions) -> String {
        match self
            .views
            .calibration
            .run
            .as_ref()
            .and_then(|r| r.saved.as_ref())
        {
            Some(saved) if !p.method.contains("saved gamma") => {
                format!("{} · {}", p.method, saved.label())
            }
            _ => p.method.clone(),
        }
    }
}
