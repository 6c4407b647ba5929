//! The fixed panels around the player: the menu bar, the status bar (device, dataset, run, running jobs), the
//! predictions panel (figures, the selected sample's top-k, the confusion matrix), and the drop-to-open overlay.

use std::path::PathBuf;

use super::dialogs::PickTarget;
use super::{Command, ExplorerApp, confusion, results};
use crate::pipeline::predictions::Setting;

impl ExplorerApp {
    pub(super) fn menu_ui(&mut self, ui: &mut egui::Ui) {
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
                if ui.button("Compare with run folder…").clicked() {
                    self.pending.push(Command::Pick(PickTarget::CompareRun));
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

    /// The device selector of the status bar: applies to the next scoring (open the run again to re-score).
    pub(super) fn device_ui(&mut self, ui: &mut egui::Ui) {
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

    pub(super) fn status_ui(&mut self, ui: &mut egui::Ui) {
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
                if self.mismatch.is_some() {
                    ui.colored_label(
                        self.palette.incorrect,
                        format!("run: {} (not this dataset's)", p.method),
                    );
                } else {
                    ui.label(format!("run: {}", self.run_label(p)));
                }
            }
            // No spinner: it repaints the whole window every frame, and under a software renderer (lavapipe) that
            // drawing took about a third of the 2 cores the job itself needs. The bar moves five times a second.
            if !self.workers.jobs.is_empty() {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(200));
            }
            for job in &self.workers.jobs {
                ui.separator();
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

    /// The banner shown while the open run does not belong to the open dataset: it stays until either changes.
    pub(super) fn mismatch_ui(&mut self, ui: &mut egui::Ui, why: &str) {
        let method = self.predictions.as_ref().map_or("", |p| p.method.as_str());
        let data = self
            .dataset
            .as_ref()
            .map_or(String::new(), |d| d.root.display().to_string());
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(
                self.palette.incorrect,
                egui::RichText::new(format!(
                    "The run \"{method}\" was not computed on {data}: {why}."
                ))
                .strong(),
            );
            ui.label(
                "Its figures, confusion matrix and predictions are hidden. Open the run's own dataset, or a run of this one.",
            );
        });
    }

    pub(super) fn predictions_ui(&mut self, ui: &mut egui::Ui) {
        if let (Some(p), Some(why)) = (&self.predictions, &self.mismatch) {
            ui.heading("Predictions");
            ui.colored_label(
                self.palette.incorrect,
                format!(
                    "Not shown: the run \"{}\" does not belong to this dataset ({why}).",
                    p.method
                ),
            );
            return;
        }
        if self.predictions.is_none() || self.metrics.is_none() {
            ui.heading("Predictions");
            ui.weak(
                "Open a run folder (Ctrl+R) to see predictions, accuracy and the confusion matrix.",
            );
            return;
        }
        let compare_line = self.selected.and_then(|i| self.compare_prediction(i));
        let compared_demo_run = self
            .views
            .compare
            .run
            .as_ref()
            .and_then(|r| crate::pipeline::demo::demo_run_index(&r.path));
        egui::ScrollArea::vertical().show(ui, |ui| {
            // Borrowed here, not outside, so that the matrix below can take `self` mutably.
            let (Some(p), Some(m)) = (&self.predictions, &self.metrics) else {
                return;
            };
            ui.heading("Predictions");
            let saved = self
                .views
                .calibration
                .run
                .as_ref()
                .is_some_and(|r| r.is_saved(p.gamma) && p.gamma != self.opened_gamma);
            results::metrics_ui(ui, p, m, self.opened_gamma, &self.run_label(p), saved);
            demo_run_ui(ui, self.demo_run, compared_demo_run, &mut self.pending);
            if self.editor.available() && ui.button("Edit class descriptions…").clicked() {
                self.editor.open = !self.editor.open;
            }
            ui.separator();
            if let (Some(d), Some(i)) = (&self.dataset, self.selected) {
                let sample = &d.samples[i];
                ui.label(format!("Sample {}", sample.meta.id));
                match self.joined.pred_row.get(i).copied().flatten() {
                    Some(row) => {
                        results::top_k_ui(
                            ui,
                            p,
                            row,
                            sample.meta.label,
                            self.settings.top_k,
                            &self.class_names,
                            &self.palette,
                        );
                        results::class_texts_ui(
                            ui,
                            p,
                            row,
                            self.editor.current_set(),
                            self.views.dataset_texts.as_ref(),
                            &self.class_names,
                            &self.palette,
                        );
                        if let Some((method, predicted)) = &compare_line {
                            ui.label(format!("Run B ({method}) predicts {predicted}"));
                        }
                    }
                    None => {
                        ui.weak("not scored by this run");
                    }
                }
                ui.separator();
            }
            if self.views.matrix_open {
                // One matrix on screen: two would double every cell (and its name for screen readers).
                ui.heading("Confusion matrix");
                ui.weak("Shown in the \"Confusion matrix\" tab below.");
            } else {
                // The panel's matrix fits its width, or the height left in view when that is taller (the panel
                // scrolls: squeezing 26 rows into the last 100 points would leave no room for labels); the tab
                // gives it the dock's larger area.
                let left = ui.clip_rect().bottom() - ui.cursor().top() - 30.0;
                let width = ui.available_width();
                let avail = egui::vec2(width, left.max(width));
                self.matrix_ui(ui, avail, true);
            }
        });
    }

    /// The confusion matrix with its ZSL / GZSL switch, fitted to `avail`; `in_panel` adds a button that opens it
    /// as a dock tab.
    pub(super) fn matrix_ui(&mut self, ui: &mut egui::Ui, avail: egui::Vec2, in_panel: bool) {
        if self.mismatch.is_some() || self.predictions.is_none() {
            ui.weak("Open a run of this dataset (Ctrl+R) to see its confusion matrix.");
            return;
        }
        let top = ui.cursor().top();
        // Wrapped: in a narrow panel the button goes to the next line rather than widening the panel over the player.
        ui.horizontal_wrapped(|ui| {
            if in_panel {
                ui.heading("Confusion matrix")
                    .on_hover_text("On the test split: the run's GZSL test samples");
            } else {
                ui.strong("On the test split");
            }
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
            if in_panel
                && ui
                    .button("Open as a tab")
                    .on_hover_text("The matrix in the dock, larger, with counts in its cells")
                    .clicked()
            {
                self.views.matrix_open = true;
            }
        });
        let which = usize::from(self.settings.matrix_gzsl);
        let setting = if self.settings.matrix_gzsl {
            Setting::Gzsl
        } else {
            Setting::Zsl
        };
        let marked = self
            .views
            .matrix_mark
            .filter(|m| m.2 == setting)
            .map(|(t, p, _)| (t, p));
        let avail = avail - egui::vec2(0.0, ui.cursor().top() - top);
        if let Some(c) = &self.confusion[which] {
            // Labelled with the run's own class names, never the open dataset's.
            confusion::confusion_ui(
                ui,
                c,
                &self.class_names,
                &self.palette,
                avail,
                marked,
                &mut self.pending,
            );
        }
    }

    pub(super) fn handle_dropped_files(&mut self, ctx: &egui::Context) {
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
}

/// The demo's run switcher: each embedded run with its seen-class validation figure (what picked the default).
fn demo_run_ui(
    ui: &mut egui::Ui,
    demo_run: Option<usize>,
    compared: Option<usize>,
    pending: &mut Vec<Command>,
) {
    use crate::pipeline::demo::{DEMO_RUNS, default_demo_run, demo_run_config, demo_run_path};
    let Some(current) = demo_run else {
        return;
    };
    let default = default_demo_run();
    let title = |i: usize| {
        let val = demo_run_config(i)
            .ok()
            .and_then(|c| c.evaluation.as_ref())
            .map_or(String::new(), |e| {
                format!(" · val ZSL {:.0} %", 100.0 * e.val_zsl_top1)
            });
        let mark = if i == default { " (default)" } else { "" };
        format!("{}{val}{mark}", DEMO_RUNS[i].method)
    };
    let mut chosen = current;
    ui.horizontal(|ui| {
        let label = ui.label("Demo run");
        egui::ComboBox::from_id_salt("demo run")
            .selected_text(title(current))
            .show_ui(ui, |ui| {
                for i in 0..DEMO_RUNS.len() {
                    ui.selectable_value(&mut chosen, i, title(i));
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text(
                "The demo's runs; it opens on the best on seen-class validation (pseudo-unseen ZSL top-1)",
            );
    });
    if chosen != current {
        pending.push(Command::OpenRun(demo_run_path(DEMO_RUNS[chosen].method)));
    }
    // Run B of the run comparison, among the other embedded runs (scored live like the shown one).
    ui.horizontal(|ui| {
        let label = ui.label("Compare with");
        egui::ComboBox::from_id_salt("demo compare run")
            .selected_text(compared.map_or("none", |i| DEMO_RUNS[i].method))
            .show_ui(ui, |ui| {
                for (i, run) in DEMO_RUNS.iter().enumerate() {
                    if i != current
                        && ui
                            .selectable_label(compared == Some(i), run.method)
                            .clicked()
                    {
                        pending.push(Command::OpenCompare(demo_run_path(run.method)));
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text(
                "Score another of the demo's runs and compare it with this one (agreement matrix, disagreements, \
                 its prediction beside this run's)",
            );
    });
}
