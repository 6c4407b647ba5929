//! Editing an InfoCPL run's branch set in the explorer: enable or disable each branch, change or add top-k values
//! (a new k re-uses a chosen trained branch's projection and estimator, see [`crate::zsl::branch_set`]), and score
//! the whole dataset again with the trained weights on a worker (progress, cancel); the accuracy, confusion matrix
//! and predictions follow. The set can be saved with the run as `branch_set.toml`.
//!
//! A run opened from its folder (`predictions.json` written by `skelzero eval --predictions`) is scored again from
//! the feature file its `config.toml` names; a run scored live keeps its features already.

use std::path::{Path, PathBuf};

use super::workers::Workers;
use crate::pipeline::branch_rescore::{BranchSession, load_session, rescore_job, session_from_run};
use crate::pipeline::predictions::{Metrics, Predictions};
use crate::pipeline::scoring::Scored;
use crate::zsl::ClassEmbeddings;
use crate::zsl::branch_set::{BranchSet, BranchSpec};

/// What the branch workers send back, tagged with the editor epoch (the run) they were started for.
pub enum BranchOutput {
    Loaded(u64, Result<Box<BranchSession>, String>),
    /// The set, the predictions scored with it and the seconds it took.
    Rescored(u64, Result<Box<(BranchSet, Predictions, f32)>, String>),
}

/// Each opened run gets a new epoch, so a result for a run no longer shown is dropped.
static EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_epoch() -> u64 {
    EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Default)]
pub struct BranchEditor {
    epoch: u64,
    session: Option<BranchSession>,
    /// A run folder to load the weights of when the view needs them.
    source: Option<PathBuf>,
    loading: Option<u64>,
    /// The set being edited, the set the shown predictions were scored with, and the one being scored.
    pub draft: Option<BranchSet>,
    pub applied: Option<BranchSet>,
    scoring: Option<(u64, BranchSet)>,
    /// Figures with the set the run was opened with.
    opened_metrics: Option<Metrics>,
    new_k: usize,
    new_weights: usize,
    pub message: Option<String>,
}

impl BranchEditor {
    /// A run was opened from `path` (a folder or its `predictions.json`): its weights load when the view needs them.
    pub fn run_opened(&mut self, path: &Path) {
        *self = Self {
            epoch: next_epoch(),
            ..Self::default()
        };
        let dir = if path.extension().is_some_and(|e| e == "json") {
            path.parent().map(Path::to_path_buf)
        } else {
            Some(path.to_path_buf())
        };
        self.source = dir.filter(|d| d.join(crate::experiment::run::WEIGHTS_FILE).is_file());
    }

    /// The class-description editor re-scored edited texts: branch re-scorings use these embeddings from now on.
    pub fn set_class_embeddings(&mut self, classes: &ClassEmbeddings) {
        if let Some(s) = &mut self.session {
            s.set_class_embeddings(classes.clone());
        }
    }

    /// A run scored live: its features and weights are at hand.
    pub fn attach_scored(&mut self, scored: &Scored) {
        *self = Self {
            epoch: next_epoch(),
            ..Self::default()
        };
        let dir = scored
            .run
            .lock()
            .ok()
            .map(|r| r.dir.clone())
            .filter(|d| d.join(crate::experiment::run::WEIGHTS_FILE).is_file());
        if let Ok(s) = session_from_run(
            scored.run.clone(),
            scored.features.clone(),
            dir,
            scored.predictions.method.clone(),
        ) {
            self.start(s, &scored.predictions);
        }
    }

    fn start(&mut self, s: BranchSession, p: &Predictions) {
        self.draft = Some(s.opened.clone());
        self.applied = Some(s.opened.clone());
        self.opened_metrics = Some(p.metrics());
        self.new_k = s.codebook;
        self.session = Some(s);
    }

    pub fn available(&self) -> bool {
        self.session.is_some()
    }

    pub fn busy(&self) -> bool {
        self.loading.is_some() || self.scoring.is_some()
    }

    /// Applies a worker's result; returns predictions for the app to show.
    pub fn handle(
        &mut self,
        out: BranchOutput,
        current: Option<&Predictions>,
    ) -> Option<Predictions> {
        let epoch = match &out {
            BranchOutput::Loaded(e, _) | BranchOutput::Rescored(e, _) => *e,
        };
        if epoch != self.epoch {
            return None;
        }
        match out {
            BranchOutput::Loaded(_, result) => {
                self.loading = None;
                match (result, current) {
                    (Ok(s), Some(p)) => self.start(*s, p),
                    (Ok(_), None) => {}
                    (Err(e), _) => self.message = Some(format!("Cannot edit the branches: {e}")),
                }
                None
            }
            BranchOutput::Rescored(_, result) => {
                self.scoring = None;
                match result {
                    Ok(r) => {
                        let (set, p, seconds) = *r;
                        self.applied = Some(set);
                        self.message = Some(format!(
                            "Re-scored {} samples in {seconds:.2} s",
                            p.num_samples()
                        ));
                        Some(p)
                    }
                    Err(e) => {
                        self.message = Some(format!("Re-scoring failed: {e}"));
                        None
                    }
                }
            }
        }
    }

    /// Starts the jobs the state asks for: loading the run's weights, or scoring an edited set.
    pub fn update(&mut self, ctx: &egui::Context, workers: &mut Workers, p: &Predictions) {
        if self.session.is_none() {
            if self.loading.is_none()
                && let Some(dir) = self.source.take()
            {
                let (p, epoch) = (p.clone(), self.epoch);
                let label = format!("Loading the weights of {}", dir.display());
                self.loading = Some(workers.spawn(ctx, label, move |_| {
                    BranchOutput::Loaded(epoch, load_session(&dir, &p).map(Box::new))
                }));
            }
            return;
        }
        let (Some(s), Some(draft)) = (&self.session, &self.draft) else {
            return;
        };
        let wanted = match &self.scoring {
            Some((_, set)) => set != draft,
            None => self.applied.as_ref() != Some(draft),
        };
        if !wanted || draft.check(s.trained.len()).is_err() {
            return;
        }
        if let Some((id, _)) = self.scoring.take() {
            workers.cancel(id);
        }
        let (run, classes, features, base, set, label) = (
            s.run.clone(),
            s.classes.clone(),
            s.features.clone(),
            p.clone(),
            draft.clone(),
            s.label.clone(),
        );
        let job_set = set.clone();
        let epoch = self.epoch;
        let id = workers.spawn(ctx, "Re-scoring InfoCPL branches", move |handle| {
            let start = std::time::Instant::now();
            let result = rescore_job(&run, &classes, &features, &base, &set, &label, handle)
                .map(|p| Box::new((set, p, start.elapsed().as_secs_f32())));
            BranchOutput::Rescored(epoch, result)
        });
        self.scoring = Some((id, job_set));
    }

    /// Forgets a job cancelled from the status bar.
    pub fn forget_finished(&mut self, workers: &Workers) {
        let gone = |id: u64| !workers.jobs.iter().any(|j| j.id == id);
        if self.loading.is_some_and(gone) {
            self.loading = None;
        }
        if self.scoring.as_ref().is_some_and(|(id, _)| gone(*id)) {
            self.scoring = None;
            // Cancelled: show the set the predictions were scored with.
            self.draft = self.applied.clone();
            self.message =
                Some("Re-scoring cancelled; the predictions keep the previous set".into());
        }
    }

    /// The editing controls (under the branch table); returns a job the user cancelled.
    pub fn ui(&mut self, ui: &mut egui::Ui, workers: &Workers, p: &Predictions) -> Option<u64> {
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
        let draft = self.draft.as_mut()?;
        let mut cancel = None;
        let trained = s.trained.clone();
        let weights_name = |b: usize| format!("branch {b} (top-{})", trained[b]);
        let mut remove = None;
        egui::Grid::new("branch set")
            .num_columns(4)
            .striped(true)
            .show(ui, |ui| {
                ui.weak("branch");
                ui.weak("top-k");
                ui.weak("weights of");
                ui.end_row();
                for (i, b) in draft.branches.iter_mut().enumerate() {
                    let name = BranchSet::name(b, &trained);
                    ui.checkbox(&mut b.enabled, name);
                    ui.add(egui::DragValue::new(&mut b.k).range(1..=s.codebook.max(1)));
                    egui::ComboBox::from_id_salt(("branch weights", i))
                        .selected_text(weights_name(b.weights))
                        .show_ui(ui, |ui| {
                            for w in 0..trained.len() {
                                ui.selectable_value(&mut b.weights, w, weights_name(w));
                            }
                        });
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
            ui.add(egui::DragValue::new(&mut self.new_k).range(1..=s.codebook.max(1)));
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
        ui.horizontal(|ui| {
            if ui.button("Trained set").clicked() {
                *draft = BranchSet::trained(&trained);
            }
            if ui.button("Opened set").clicked() {
                *draft = s.opened.clone();
            }
            let saved_ok = s.dir.is_some() && self.applied.as_ref() == Some(draft);
            let save = ui
                .add_enabled(saved_ok, egui::Button::new("Save with the run"))
                .on_hover_text("Writes branch_set.toml into the run folder; opening the run (and skelzero eval) uses it")
                .on_disabled_hover_text("Wait for the re-score; the embedded demo cannot be saved");
            if save.clicked()
                && let Some(dir) = &s.dir
            {
                self.message = Some(match draft.save(dir) {
                    Ok(path) => format!("Saved {}", path.display()),
                    Err(e) => format!("Save failed: {e}"),
                });
            }
        });
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
        let m = p.metrics();
        let opened = self.opened_metrics.unwrap_or_default();
        ui.label(format!(
            "Test split now: ZSL {:.1} % · H {:.1} % (opened set: ZSL {:.1} % · H {:.1} %)",
            100.0 * m.zsl_accuracy,
            100.0 * m.harmonic,
            100.0 * opened.zsl_accuracy,
            100.0 * opened.harmonic
        ));
        // No seen-class validation figure exists for an edited set (the run keeps only test predictions): say that
        // choosing by these numbers tunes on the unseen test classes, and what a saved set is recorded as.
        ui.colored_label(
            ui.visuals().warn_fg_color,
            "These figures are on the test split: a set chosen by them is tuned on the unseen test classes. A saved \
             set is reported by `skelzero eval --json` as \"branch_set_source\": \"user\".",
        );
        if let Some(msg) = &self.message {
            ui.weak(msg);
        }
        cancel
    }
}
