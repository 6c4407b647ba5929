//! Editing an InfoCPL run's branch set in the explorer: enable or disable each branch, change or add top-k values
//! (a new k re-uses a chosen trained branch's projection and estimator, see [`crate::zsl::branch_set`]), and score
//! the whole dataset again with the trained weights on a worker (progress, cancel); the accuracy, confusion matrix
//! and predictions follow. The set can be saved with the run as `branch_set.toml`.
//!
//! A run opened from its folder (`predictions.json` written by `skelzero eval --predictions`) is scored again from
//! the feature file its `config.toml` names; a run scored live keeps its features already.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::eval::analysis::method_analysis;
use crate::zsl::FeatureBatch;
use crate::zsl::branch_set::{BranchSet, BranchSpec};
use crate::zsl::features::SplitFeatures;
use crate::zsl::infocpl::InfoCpl;
use crate::zsl::run::{LoadedRun, load_run};

use super::predictions::{Metrics, Predictions};
use super::scoring::Scored;
use super::workers::{JobHandle, JobOutput, Workers};

/// Rows scored per batch (bounds memory and sets how often cancel is checked).
const BATCH: usize = 64;

/// A run whose branches can be scored again.
pub struct BranchSession {
    run: Arc<Mutex<LoadedRun>>,
    features: FeatureBatch,
    /// Where `branch_set.toml` is saved (none for the embedded demo).
    dir: Option<PathBuf>,
    trained: Vec<usize>,
    /// Phrases per class (the largest useful k).
    codebook: usize,
    /// The set the run was opened with, and the method label then.
    opened: BranchSet,
    label: String,
}

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

fn session_from_run(
    run: Arc<Mutex<LoadedRun>>,
    features: FeatureBatch,
    dir: Option<PathBuf>,
    label: String,
) -> Result<BranchSession, String> {
    let (trained, codebook, opened) = {
        let r = run.lock().map_err(|_| "the run is poisoned".to_owned())?;
        let info = r
            .method
            .as_infocpl()
            .ok_or_else(|| format!("{} has no branches", r.config.method.kind().title()))?;
        let trained = info.trained_topk();
        let set = info.branch_set().clone();
        let codebook = r
            .classes
            .phrases
            .as_ref()
            .and_then(|p| p.dims().get(1).copied())
            .unwrap_or(1);
        (trained, codebook, set)
    };
    Ok(BranchSession {
        run,
        features,
        dir,
        trained,
        codebook,
        opened,
        label,
    })
}

/// The feature file a run records, as given or relative to the run folder.
fn feature_file_of(run: &LoadedRun, dir: &Path) -> Result<PathBuf, String> {
    let recorded = run.config.features.clone().ok_or_else(|| {
        format!(
            "{}: the run records no feature file to score again",
            dir.display()
        )
    })?;
    [recorded.clone(), dir.join(&recorded)]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "{}: its feature file {} is not there",
                dir.display(),
                recorded.display()
            )
        })
}

/// Loads a run folder's weights and its test features in the order of `p` (the worker body).
pub fn load_session(dir: &Path, p: &Predictions) -> Result<BranchSession, String> {
    let run = load_run(dir).map_err(|e| e.to_string())?;
    if run.method.as_infocpl().is_none() {
        return Err(format!("{}: not an InfoCPL run", dir.display()));
    }
    let path = feature_file_of(&run, dir)?;
    let f = SplitFeatures::load(&path).map_err(|e| e.to_string())?;
    if f.test_ids_or_fallback() != p.sample_ids || f.test_labels != p.labels {
        return Err(format!(
            "{}: its test samples are not the ones predictions.json scores",
            path.display()
        ));
    }
    session_from_run(
        Arc::new(Mutex::new(run)),
        f.test,
        Some(dir.to_owned()),
        p.method.clone(),
    )
}

/// Scores `base`'s samples again with `set` (the worker body). The run keeps `set` on success and its previous set
/// on failure or cancel.
pub fn rescore_job(
    run: &Mutex<LoadedRun>,
    features: &FeatureBatch,
    base: &Predictions,
    set: &BranchSet,
    label: &str,
    handle: &JobHandle,
) -> Result<Predictions, String> {
    let mut run = run.lock().map_err(|_| "the run is poisoned".to_owned())?;
    let kind = run.method.kind();
    let info = run
        .method
        .as_infocpl_mut()
        .ok_or_else(|| format!("{} has no branches to choose", kind.title()))?;
    let previous = info.branch_set().clone();
    info.set_branch_set(set.clone())
        .map_err(|e| e.to_string())?;
    let scored = run
        .classes
        .select(&base.classes)
        .map_err(|e| e.to_string())
        .and_then(|classes| {
            method_analysis(
                run.method.as_ref(),
                features,
                &classes,
                BATCH,
                &mut |done, n| {
                    handle.set_progress(done as f32 / n.max(1) as f32);
                    !handle.cancelled()
                },
            )
            .map_err(|e| e.to_string())
        });
    let a = match scored {
        Ok(a) => a,
        Err(e) => {
            if let Some(info) = run.method.as_infocpl_mut() {
                info.set_branch_set(previous).ok();
            }
            return Err(e);
        }
    };
    let topk = run
        .method
        .as_infocpl()
        .map(InfoCpl::trained_topk)
        .unwrap_or_default();
    let trained = *set == BranchSet::trained(&topk);
    let names: Vec<String> = set.enabled().map(|b| BranchSet::name(b, &topk)).collect();
    let p = Predictions {
        method: if trained {
            label.to_owned()
        } else {
            format!("{label} · branches {}", names.join(", "))
        },
        scores: a.scores,
        infocpl: a.infocpl,
        features: Some(a.features),
        ..base.clone()
    };
    p.validate(&run.dir.display().to_string())
        .map_err(|e| e.to_string())?;
    Ok(p)
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
        self.source = dir.filter(|d| d.join(crate::zsl::run::WEIGHTS_FILE).is_file());
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
            .filter(|d| d.join(crate::zsl::run::WEIGHTS_FILE).is_file());
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
                    JobOutput::Branches(BranchOutput::Loaded(
                        epoch,
                        load_session(&dir, &p).map(Box::new),
                    ))
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
        let (run, features, base, set, label) = (
            s.run.clone(),
            s.features.clone(),
            p.clone(),
            draft.clone(),
            s.label.clone(),
        );
        let job_set = set.clone();
        let epoch = self.epoch;
        let id = workers.spawn(ctx, "Re-scoring InfoCPL branches", move |handle| {
            let start = std::time::Instant::now();
            let result = rescore_job(&run, &features, &base, &set, &label, handle)
                .map(|p| Box::new((set, p, start.elapsed().as_secs_f32())));
            JobOutput::Branches(BranchOutput::Rescored(epoch, result))
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
            "Now: ZSL {:.1} % · H {:.1} % (opened set: ZSL {:.1} % · H {:.1} %)",
            100.0 * m.zsl_accuracy,
            100.0 * m.harmonic,
            100.0 * opened.zsl_accuracy,
            100.0 * opened.harmonic
        ));
        if let Some(msg) = &self.message {
            ui.weak(msg);
        }
        cancel
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsl::infocpl::InfoCplConfig;
    use crate::zsl::run::{RunConfig, SplitInfo};
    use crate::zsl::{ClassEmbeddings, Dims, MethodConfig};
    use candle_core::{Device, Tensor};

    fn tensor(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i as u64 * 7919 + seed * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    fn small_run() -> (Mutex<LoadedRun>, FeatureBatch, Predictions) {
        let method = MethodConfig::InfoCpl(InfoCplConfig {
            topk: vec![1, 3],
            hidden: [16, 8],
            ..InfoCplConfig::default()
        });
        let dims = Dims { visual: 6, text: 4 };
        let (m, _) = method.build_trainable(dims, &Device::Cpu, 2).unwrap();
        let (n, c) = (10, 5);
        let config = RunConfig {
            method,
            train: Default::default(),
            dims,
            split: SplitInfo {
                name: "s".into(),
                class_names: (0..c).map(|k| format!("class {k}")).collect(),
                seen: vec![0, 1, 2],
                unseen: vec![3, 4],
            },
            gamma: 0.0,
            epoch: 0,
            features: None,
            evaluation: None,
        };
        let run = LoadedRun {
            dir: "mem".into(),
            config,
            method: m,
            classes: ClassEmbeddings {
                names: tensor(&[c, 4], 1),
                sentences: tensor(&[c, 4], 2),
                parts: None,
                phrases: Some(tensor(&[c, 6, 4], 3)),
                motion: Some(tensor(&[c, 4], 4)),
            },
            branch_set: None,
        };
        let base = Predictions {
            sample_ids: (0..n).map(|i| format!("s{i}")).collect(),
            labels: (0..n).map(|i| i % c).collect(),
            classes: (0..c).collect(),
            unseen: (0..c).map(|k| k >= 3).collect(),
            scores: vec![0.0; n * c],
            ..Predictions::default()
        };
        (
            Mutex::new(run),
            FeatureBatch::from_pooled(tensor(&[n, 6], 5)),
            base,
        )
    }

    #[test]
    fn rescoring_follows_the_set_and_a_cancel_keeps_the_old_one() {
        let (run, feats, base) = small_run();
        let trained = BranchSet::trained(&[1, 3]);
        let go = JobHandle::default();
        let p1 = rescore_job(&run, &feats, &base, &trained, "run", &go).unwrap();
        assert_eq!(p1.method, "run");
        let mut only3 = trained.clone();
        only3.branches[0].enabled = false;
        // Cancelled: an error, and the run still scores with the trained set.
        let stop = JobHandle::default();
        stop.cancel();
        assert!(rescore_job(&run, &feats, &base, &only3, "run", &stop).is_err());
        assert_eq!(
            run.lock()
                .unwrap()
                .method
                .as_infocpl()
                .map(InfoCpl::branch_set),
            Some(&trained)
        );
        let p2 = rescore_job(&run, &feats, &base, &only3, "run", &go).unwrap();
        assert_ne!(p2.scores, p1.scores);
        assert_eq!(p2.infocpl.as_ref().unwrap().branches, ["top-3"]);
        assert_eq!(p2.method, "run · branches top-3");
        assert_eq!(go.progress(), 1.0);
        let p3 = rescore_job(&run, &feats, &base, &trained, "run", &go).unwrap();
        assert!(
            p3.scores
                .iter()
                .zip(&p1.scores)
                .all(|(a, b)| (a - b).abs() < 1e-6)
        );
    }
}
