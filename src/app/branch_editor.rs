//! Editing an InfoCPL run's branch set in the explorer: enable or disable each branch, change or add top-k values
//! (a new k re-uses a chosen trained branch's projection and estimator, see [`crate::zsl::branch_set`]), and score
//! the whole dataset again with the trained weights on a worker (progress, cancel); the accuracy, confusion matrix
//! and predictions follow. The set can be saved with the run as `branch_set.toml`, recording the figure it was chosen
//! on.
//!
//! The figure to tune on is the set's seen-class validation ZSL ([`crate::pipeline::branch_validation`], from the
//! run's fold models), measured on a worker for each set applied; the test-split figures are shown labelled as such.
//! A history table ([`super::branch_history`]), each branch's accuracy alone and a ZSL-vs-k sweep
//! ([`super::branch_sweep`]) sit in the same window contents.
//!
//! A run opened from its folder (`predictions.json` written by `skelzero eval --predictions`) is scored again from
//! the feature file its `config.toml` names; a run scored live keeps its features already.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod ui;

use super::branch_history::History;
use super::branch_sweep::SweepView;
use super::workers::Workers;
use crate::pipeline::branch_rescore::{
    BranchSession, feature_file_of, load_session, rescore_job, session_from_run,
};
use crate::pipeline::branch_validation::{
    BranchValidation, NO_VALIDATION, SetFigures, Sweep, SweepInput, sweep_job,
};
use crate::pipeline::predictions::{Metrics, Predictions};
use crate::pipeline::scoring::Scored;
use crate::zsl::ClassEmbeddings;
use crate::zsl::branch_set::BranchSet;

/// What the branch workers send back, tagged with the editor epoch (the run) they were started for.
pub enum BranchOutput {
    Loaded(u64, Result<Box<BranchSession>, String>),
    /// The set, the predictions scored with it and the seconds it took.
    Rescored(u64, Result<Box<(BranchSet, Predictions, f32)>, String>),
    /// The run's validation fold models (`None`: the run has none).
    ValidationLoaded(u64, Result<Option<Box<BranchValidation>>, String>),
    /// A set's validation figures.
    Validated(u64, BranchSet, Result<SetFigures, String>),
    Swept(u64, Result<Sweep, String>),
}

/// The run's validation fold models, as far as known.
#[derive(Default)]
enum Validation {
    #[default]
    Unknown,
    Loading(u64),
    /// Why there is no validation figure.
    Absent(String),
    Ready(Arc<Mutex<BranchValidation>>),
}

/// A cheap key of a predictions' scores: its method label and a checksum.
type ScoresKey = (String, u64);

/// The label of test-split figures wherever they appear.
pub const TEST_LABEL: &str = "test split (unseen classes: do not tune on this)";

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
    validation: Validation,
    /// Validation figures of the sets measured so far (with the class embeddings in effect).
    val_cache: Vec<(BranchSet, SetFigures)>,
    validating: Option<(u64, BranchSet)>,
    pub history: History,
    pub sweep: SweepView,
    /// Each branch alone on the test split, for the predictions with this method label and score checksum.
    test_alone: Option<(ScoresKey, Vec<(String, f64)>)>,
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
        // Validation figures were measured against the old texts.
        self.val_cache.clear();
        self.sweep.result = None;
    }

    /// The validation figures of `set`, when measured.
    pub fn validation_of(&self, set: &BranchSet) -> Option<&SetFigures> {
        self.val_cache
            .iter()
            .find(|(s, _)| s == set)
            .map(|(_, f)| f)
    }

    /// The figures the window shows for `--dump-state`: the applied set's validation ZSL (basis "validation") and
    /// whether the run has validation data; `None` while no branch session is open.
    pub fn state_json(&self) -> Option<serde_json::Value> {
        let applied = self.applied.as_ref()?;
        self.session.as_ref()?;
        let val = self.validation_of(applied).map(
            |f| serde_json::json!({"value": f.zsl, "basis": "validation", "samples": f.samples}),
        );
        let absent = match &self.validation {
            Validation::Absent(why) => Some(why.clone()),
            _ => None,
        };
        Some(serde_json::json!({
            "branch_set_validation_zsl": val,
            "branch_set_validation_absent": absent,
            "branch_sets_tried": self.history.entries.len(),
        }))
    }

    fn name_of(&self, set: &BranchSet) -> String {
        let trained = self.session.as_ref().map_or(&[][..], |s| &s.trained[..]);
        set.enabled()
            .map(|b| BranchSet::name(b, trained))
            .collect::<Vec<_>>()
            .join(", ")
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
        let m = p.metrics();
        self.opened_metrics = Some(m);
        self.new_k = s.codebook;
        let opened = s.opened.clone();
        self.session = Some(s);
        let name = self.name_of(&opened);
        self.history
            .tested(&opened, || name, m.zsl_accuracy, m.harmonic);
    }

    pub fn available(&self) -> bool {
        self.session.is_some()
    }

    pub fn busy(&self) -> bool {
        self.loading.is_some()
            || self.scoring.is_some()
            || self.validating.is_some()
            || self.sweep.job.is_some()
            || matches!(self.validation, Validation::Loading(_))
    }

    /// Applies a worker's result; returns predictions for the app to show.
    pub fn handle(
        &mut self,
        out: BranchOutput,
        current: Option<&Predictions>,
    ) -> Option<Predictions> {
        let epoch = match &out {
            BranchOutput::Loaded(e, _)
            | BranchOutput::Rescored(e, _)
            | BranchOutput::ValidationLoaded(e, _)
            | BranchOutput::Validated(e, _, _)
            | BranchOutput::Swept(e, _) => *e,
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
                        let m = p.metrics();
                        let name = self.name_of(&set);
                        self.history
                            .tested(&set, || name, m.zsl_accuracy, m.harmonic);
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
            BranchOutput::ValidationLoaded(_, result) => {
                self.validation = match result {
                    Ok(Some(v)) => Validation::Ready(Arc::new(Mutex::new(*v))),
                    Ok(None) => Validation::Absent(NO_VALIDATION.into()),
                    Err(e) => Validation::Absent(format!("validation data unreadable: {e}")),
                };
                None
            }
            BranchOutput::Validated(_, set, result) => {
                self.validating = None;
                match result {
                    Ok(f) => {
                        let name = self.name_of(&set);
                        self.history.validated(&set, || name, f.zsl);
                        self.val_cache.retain(|(s, _)| s != &set);
                        self.val_cache.push((set, f));
                    }
                    Err(e) => self.message = Some(format!("Validation failed: {e}")),
                }
                None
            }
            BranchOutput::Swept(_, result) => {
                self.sweep.job = None;
                match result {
                    Ok(s) => {
                        self.sweep.message = None;
                        self.sweep.result = Some(s);
                    }
                    Err(e) => self.sweep.message = Some(format!("Sweep failed: {e}")),
                }
                None
            }
        }
    }

    /// Starts the validation jobs the state asks for: reading the fold models, measuring the applied set, a sweep.
    fn update_validation(&mut self, ctx: &egui::Context, workers: &mut Workers, p: &Predictions) {
        let Some(s) = &self.session else {
            return;
        };
        if matches!(self.validation, Validation::Unknown) {
            let Some(dir) = s.dir.clone() else {
                self.validation =
                    Validation::Absent("no validation data: this run has no run folder".into());
                return;
            };
            let (run, epoch) = (s.run.clone(), self.epoch);
            let id = workers.spawn(ctx, "Loading the validation folds", move |_| {
                let loaded = run
                    .lock()
                    .map_err(|_| "the run is poisoned".to_owned())
                    .and_then(|r| {
                        let features = feature_file_of(&r, &dir)?;
                        BranchValidation::load(&r, &dir, &features)
                    });
                BranchOutput::ValidationLoaded(epoch, loaded.map(|v| v.map(Box::new)))
            });
            self.validation = Validation::Loading(id);
            return;
        }
        let Validation::Ready(v) = &self.validation else {
            if self.sweep.requested {
                self.spawn_sweep(ctx, workers, p, None);
            }
            return;
        };
        let v = v.clone();
        if self.sweep.requested {
            self.spawn_sweep(ctx, workers, p, Some(v.clone()));
        }
        let Some(applied) = self.applied.clone() else {
            return;
        };
        if self.validating.is_some() || self.validation_of(&applied).is_some() {
            return;
        }
        let Some(classes) = self.session.as_ref().map(|s| s.classes.clone()) else {
            return;
        };
        let (epoch, set) = (self.epoch, applied.clone());
        let id = workers.spawn(ctx, "Validating the branch set", move |handle| {
            let result = v
                .lock()
                .map_err(|_| "the validation models are poisoned".to_owned())
                .and_then(|mut v| {
                    v.score(&classes, &set, &mut |done, n| {
                        handle.set_progress(done as f32 / n.max(1) as f32);
                        !handle.cancelled()
                    })
                });
            BranchOutput::Validated(epoch, set, result)
        });
        self.validating = Some((id, applied));
    }

    fn spawn_sweep(
        &mut self,
        ctx: &egui::Context,
        workers: &mut Workers,
        p: &Predictions,
        validation: Option<Arc<Mutex<BranchValidation>>>,
    ) {
        self.sweep.requested = false;
        let Some(s) = &self.session else {
            return;
        };
        let (run, classes, features, base) = (
            s.run.clone(),
            s.classes.clone(),
            s.features.clone(),
            p.clone(),
        );
        let (weights, ks, epoch) = (
            self.sweep.weights,
            (1..=s.codebook.max(1)).collect::<Vec<_>>(),
            self.epoch,
        );
        let id = workers.spawn(ctx, "Sweeping InfoCPL k", move |handle| {
            let input = SweepInput {
                run: &run,
                validation: validation.as_deref(),
                classes: &classes,
                features: &features,
                base: &base,
            };
            BranchOutput::Swept(epoch, sweep_job(&input, weights, &ks, handle))
        });
        self.sweep.job = Some(id);
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
        self.update_validation(ctx, workers, p);
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
        if self.validating.as_ref().is_some_and(|(id, _)| gone(*id)) {
            // Cancelled: measured again when next needed.
            self.validating = None;
        }
        if let Validation::Loading(id) = self.validation
            && gone(id)
        {
            self.validation =
                Validation::Absent("loading the validation folds was cancelled".into());
        }
        if self.sweep.job.is_some_and(gone) {
            self.sweep.job = None;
            self.sweep.message = Some("Sweep cancelled".into());
        }
        if self.scoring.as_ref().is_some_and(|(id, _)| gone(*id)) {
            self.scoring = None;
            // Cancelled: show the set the predictions were scored with.
            self.draft = self.applied.clone();
            self.message =
                Some("Re-scoring cancelled; the predictions keep the previous set".into());
        }
    }
}
