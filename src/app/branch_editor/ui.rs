//! The branch editor's window contents: the figures (validation first, the test split labelled as such), the branch
//! list with each branch's accuracy alone, the editing controls, the history table and the ZSL-vs-k sweep. A
//! function of `ui`, so the window can become a tab.

use super::{BranchEditor, ScoresKey, TEST_LABEL, Validation};
use crate::app::branch_sweep::TrainedMarks;
use crate::app::palette::Palette;
use crate::app::workers::Workers;
use crate::pipeline::branch_validation::test_branch_accuracy;
use crate::pipeline::predictions::Predictions;
use crate::zsl::branch_set::{BranchSet, BranchSpec, ChosenOn};

fn pct(v: f64) -> String {
    format!("{:.1} %", 100.0 * v)
}

/// A cheap key of `p`'s scores: the per-branch test accuracies are recomputed when it changes.
fn scores_key(p: &Predictions) -> ScoresKey {
    let sum = p
        .scores
        .iter()
        .step_by(31)
        .fold(0u64, |h, v| h.rotate_left(5) ^ u64::from(v.to_bits()));
    (p.method.clone(), sum ^ p.scores.len() as u64)
}

impl BranchEditor {
    /// The editing controls (under the branch table); returns a job the user cancelled.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        workers: &Workers,
        p: &Predictions,
        palette: &Palette,
    ) -> Option<u64> {
        ui.separator();
        ui.strong("Branch set");
        let Some(s) = &self.session else {
            if self.loading.is_some() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Loading the run's weights…");
                });
            } else if let Some(m) = &self.message {
                ui.colored_label(ui.visuals().warn_fg_color, m);
            } else {
                ui.weak(
                    "Open an InfoCPL run folder (with its weights and feature file) or score one live to edit its branches.",
                );
            }
            return None;
        };
        let trained = s.trained.clone();
        let (codebook, has_dir, opened) = (s.codebook, s.dir.is_some(), s.opened.clone());
        self.figures_ui(ui, p, &opened);
        let key = scores_key(p);
        if self.test_alone.as_ref().is_none_or(|(k, _)| *k != key) {
            self.test_alone = Some((key, test_branch_accuracy(p)));
        }
        let applied_val = self
            .applied
            .as_ref()
            .and_then(|a| self.validation_of(a))
            .map(|f| f.branches.clone());
        let test_alone = self
            .test_alone
            .as_ref()
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let applied = self.applied.clone();
        let draft = self.draft.as_mut()?;
        let mut cancel = None;
        let weights_name = |b: usize| format!("branch {b} (top-{})", trained[b]);
        let mut remove = None;
        // Each branch alone: only for the set the predictions use (a changed draft has no figures yet).
        let alone = |i: usize, draft: &BranchSet| -> Option<usize> {
            (applied.as_ref() == Some(draft) && draft.branches[i].enabled)
                .then(|| draft.branches[..i].iter().filter(|b| b.enabled).count())
        };
        egui::Grid::new("branch set")
            .num_columns(6)
            .striped(true)
            .show(ui, |ui| {
                ui.weak("branch");
                ui.weak("top-k");
                ui.weak("weights of");
                ui.strong("alone: validation").on_hover_text(
                    "This branch alone, ZSL top-1 on the seen-class validation folds",
                );
                ui.weak("alone: test")
                    .on_hover_text(format!("This branch alone, ZSL top-1 on the {TEST_LABEL}"));
                ui.end_row();
                for i in 0..draft.branches.len() {
                    let at = alone(i, draft);
                    let b = &mut draft.branches[i];
                    let name = BranchSet::name(b, &trained);
                    ui.checkbox(&mut b.enabled, name);
                    ui.add(egui::DragValue::new(&mut b.k).range(1..=codebook.max(1)));
                    egui::ComboBox::from_id_salt(("branch weights", i))
                        .selected_text(weights_name(b.weights))
                        .show_ui(ui, |ui| {
                            for w in 0..trained.len() {
                                ui.selectable_value(&mut b.weights, w, weights_name(w));
                            }
                        });
                    let val = at.and_then(|j| applied_val.as_ref()?.get(j).map(|v| v.1));
                    ui.strong(val.map_or_else(|| "–".into(), pct));
                    ui.weak(
                        at.and_then(|j| test_alone.get(j))
                            .map_or_else(|| "–".into(), |v| pct(v.1)),
                    );
                    if ui.small_button("Remove").clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
        if let Some(i) = remove {
            draft.branches.remove(i);
        }
        let add_help = "InfoCPL trains one projection and estimator per branch; only k is free when scoring. A new \
                        k re-uses the chosen trained branch's weights with that top-k (an ablation: those weights \
                        were trained for their own k).";
        ui.horizontal(|ui| {
            ui.label("Add k");
            ui.add(egui::DragValue::new(&mut self.new_k).range(1..=codebook.max(1)));
            ui.label("on the weights of");
            self.new_weights = self.new_weights.min(trained.len().saturating_sub(1));
            egui::ComboBox::from_id_salt("new branch weights")
                .selected_text(weights_name(self.new_weights))
                .show_ui(ui, |ui| {
                    for w in 0..trained.len() {
                        ui.selectable_value(&mut self.new_weights, w, weights_name(w));
                    }
                });
            if ui.button("Add").on_hover_text(add_help).clicked() {
                draft.branches.push(BranchSpec {
                    weights: self.new_weights,
                    k: self.new_k.max(1),
                    enabled: true,
                });
            }
        });
        if let Err(e) = draft.check(trained.len()) {
            ui.colored_label(ui.visuals().warn_fg_color, e);
        }
        // The figure a save records: validation where the set was measured there, else the test split.
        let val_of_draft = self
            .val_cache
            .iter()
            .find(|(set, _)| set == &*draft)
            .map(|(_, f)| f.zsl);
        let mut save_msg = None;
        ui.horizontal(|ui| {
            if ui.button("Trained set").clicked() {
                *draft = BranchSet::trained(&trained);
            }
            if ui.button("Opened set").clicked() {
                *draft = opened.clone();
            }
            let saved_ok = has_dir && applied.as_ref() == Some(&*draft);
            let chosen_on = if val_of_draft.is_some() {
                ChosenOn::Validation
            } else {
                ChosenOn::Test
            };
            let save = ui
                .add_enabled(saved_ok, egui::Button::new("Save with the run"))
                .on_hover_text(format!(
                    "Writes branch_set.toml into the run folder, recording that the set was chosen on {} figures; \
                     opening the run (and skelzero eval) uses it",
                    chosen_on.name()
                ))
                .on_disabled_hover_text("Wait for the re-score; the embedded demo cannot be saved");
            if save.clicked()
                && let Some(dir) = self.session.as_ref().and_then(|s| s.dir.as_ref())
            {
                save_msg = Some(match draft.save(dir, chosen_on, val_of_draft) {
                    Ok(path) => format!(
                        "Saved {} (chosen on {} figures)",
                        path.display(),
                        chosen_on.name()
                    ),
                    Err(e) => format!("Save failed: {e}"),
                });
            }
        });
        if save_msg.is_some() {
            self.message = save_msg;
        }
        if let Some((id, _)) = &self.scoring {
            let progress = workers
                .jobs
                .iter()
                .find(|j| j.id == *id)
                .map_or(0.0, |j| j.handle.progress());
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(progress)
                        .desired_width(160.0)
                        .show_percentage(),
                );
                if ui.button("Cancel re-scoring").clicked() {
                    cancel = Some(*id);
                }
            });
        }
        if let Some(msg) = &self.message {
            ui.weak(msg);
        }
        egui::CollapsingHeader::new("History of tried sets")
            .default_open(true)
            .show(ui, |ui| {
                if let Some(set) = self.history.ui(ui, self.applied.as_ref()) {
                    self.draft = Some(set);
                }
            });
        egui::CollapsingHeader::new("ZSL against k")
            .default_open(false)
            .show(ui, |ui| {
                let trained_set = BranchSet::trained(&trained);
                let marks = TrainedMarks {
                    validation: self.validation_of(&trained_set).map(|f| f.zsl),
                    test: self
                        .history
                        .entries
                        .iter()
                        .find(|e| e.set == trained_set)
                        .and_then(|e| e.test_zsl.map(f64::from)),
                };
                let progress = self.sweep.job.and_then(|id| {
                    workers
                        .jobs
                        .iter()
                        .find(|j| j.id == id)
                        .map(|j| j.handle.progress())
                });
                if let Some(id) = self.sweep.ui(ui, &trained, progress, &marks, palette) {
                    cancel = Some(id);
                }
            });
        cancel
    }

    /// The applied set's figures: validation (the one to tune on) first, then the test split, labelled.
    fn figures_ui(&self, ui: &mut egui::Ui, p: &Predictions, opened: &BranchSet) {
        let applied = self.applied.as_ref();
        let val = applied.and_then(|a| self.validation_of(a));
        match &self.validation {
            Validation::Ready(_) => {
                let opened_val = self
                    .validation_of(opened)
                    .map_or_else(|| "…".into(), |f| pct(f.zsl));
                ui.horizontal_wrapped(|ui| {
                    ui.label("Validation (seen classes, the figure to tune on): ZSL");
                    match val {
                        Some(f) => {
                            ui.strong(egui::RichText::new(pct(f.zsl)).size(16.0)).on_hover_text(format!(
                                "Mean over {} pseudo-unseen folds ({}) of {} seen-class samples the fold models \
                                 never trained on",
                                f.per_fold.len(),
                                f.per_fold.iter().map(|v| pct(*v)).collect::<Vec<_>>().join(", "),
                                f.samples
                            ));
                        }
                        None => {
                            ui.spinner();
                        }
                    }
                    ui.weak(format!("(opened set: {opened_val})"));
                });
            }
            Validation::Absent(why) => {
                ui.colored_label(ui.visuals().warn_fg_color, why);
            }
            Validation::Unknown | Validation::Loading(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Loading the validation folds…");
                });
            }
        }
        let m = p.metrics();
        let opened_m = self.opened_metrics.unwrap_or_default();
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{}: ZSL {} · H {} (opened set: ZSL {} · H {})",
                capitalised(TEST_LABEL),
                pct(f64::from(m.zsl_accuracy)),
                pct(f64::from(m.harmonic)),
                pct(f64::from(opened_m.zsl_accuracy)),
                pct(f64::from(opened_m.harmonic))
            ),
        );
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
