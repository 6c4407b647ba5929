//! The class-description editor: every class's name, sentence, six part descriptions and phrase codebook, edited with
//! undo/redo and a diff against the run's texts, saved and loaded as description-set files
//! ([`crate::dataset::description_set`]), autosaved for crash recovery ([`recovery`]). Each committed edit is
//! re-scored on a worker: only the changed texts the loaded method's scores read are embedded with the sentence
//! encoder the run's embeddings came from, the kept features are scored again, and the accuracy change is shown.
//! When that encoder is not installed the editor says so and offers to fetch it (`skelzero models fetch`).

mod panel;
pub mod recovery;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::dataset::description_set::{DescriptionSet, Edit, EditHistory};
use crate::experiment::run::LoadedRun;
use crate::pipeline::CachedEncoder;
use crate::pipeline::description_embed::{EmbeddedSet, TextUse};
use crate::text::store::{KnownModel, ModelStore};
use crate::zsl::{FeatureBatch, MethodKind};

use super::dialogs::PickTarget;
use super::workers::Workers;
use crate::pipeline::predictions::{Metrics, Predictions, Setting};
use crate::pipeline::rescore::{self as jobs, Rescore};
use crate::pipeline::scoring::Scored;
use crate::zsl::ClassEmbeddings;

/// What the editor's jobs send back.
pub enum EditorOutput {
    /// Edited class descriptions scored again.
    Rescored(Result<Box<Rescore>, String>),
    /// A sentence encoder installed (its folder).
    ModelFetched(Result<PathBuf, String>),
}

/// A scored run the editor works on.
struct Session {
    run: Arc<Mutex<LoadedRun>>,
    kind: MethodKind,
    used: TextUse,
    features: FeatureBatch,
    /// The method's sample-side part of `features`, once the first re-scoring computed it.
    visual: Option<Option<candle_core::Tensor>>,
    /// The predictions with the run's own embeddings, and their figures.
    base: Predictions,
    base_metrics: Metrics,
    base_class_accuracy: Vec<Option<f32>>,
    unseen: Vec<bool>,
    history: EditHistory,
    /// The run's texts and embeddings, and what is embedded now.
    original: EmbeddedSet,
    embedded: EmbeddedSet,
    /// The set last sent to re-scoring (a different history set means a re-score is due).
    requested: DescriptionSet,
    /// Figures of the last re-scoring.
    current: Option<Metrics>,
    class_accuracy: Vec<Option<f32>>,
    /// The last re-scored change: what, ZSL accuracy before and after, timings.
    last: Option<LastChange>,
    /// Whether the texts are the ones the run was made from (else class names stand in).
    known_texts: bool,
    run_label: String,
    /// The set as last saved to or loaded from a file (edits beyond it are autosaved).
    saved: DescriptionSet,
    recovery_path: Option<PathBuf>,
}

#[derive(Clone, Debug)]
struct LastChange {
    label: String,
    before: f32,
    after: f32,
    encoded: usize,
    encode_ms: f32,
    score_ms: f32,
}

/// Whether the sentence encoder is on this machine.
#[derive(Clone, Debug, PartialEq)]
enum ModelState {
    Unchecked,
    Installed,
    Missing,
    /// Dimensions no known encoder gives.
    Unknown(usize),
}

/// The texts being typed for the selected class, committed on Enter, focus loss or a pause.
#[derive(Default)]
struct Drafts {
    class: usize,
    name: String,
    sentence: String,
    parts: [String; 6],
    /// One phrase per line.
    phrases: String,
    /// When the user last typed (egui time), while uncommitted.
    typed_at: Option<f64>,
    /// The history's generation the drafts were loaded from.
    generation: u64,
}

/// A recovery file found for the run just opened, waiting for Restore or Discard.
struct Offer {
    path: PathBuf,
    set: DescriptionSet,
    changes: usize,
}

#[derive(Default)]
pub struct Editor {
    pub open: bool,
    session: Option<Session>,
    model: Option<KnownModel>,
    state: Option<ModelState>,
    /// The loaded sentence encoder, kept across edits.
    encoder: Arc<Mutex<Option<CachedEncoder>>>,
    job: Option<u64>,
    fetching: Option<u64>,
    pub message: Option<String>,
    /// Where sentence encoders are looked for and installed (default: [`ModelStore::default_location`]).
    store: Option<ModelStore>,
    /// Where recovery files go (default: [`recovery::default_recovery_dir`]).
    recovery_dir: Option<PathBuf>,
    autosaver: recovery::Autosaver,
    /// Set by every change (typing, commits, undo…); turned into `dirty_since` on the next frame.
    dirty: bool,
    /// egui time of the first change not yet autosaved.
    dirty_since: Option<f64>,
    offer: Option<Offer>,
    drafts: Drafts,
    /// Bumped by every change of the history not made by typing (undo, redo, load, revert, restore).
    generation: u64,
    /// The typed path of the description-set file, and whether the Diff tab is shown.
    pub file_input: String,
    show_diff: bool,
}

/// Per-class top-1 accuracy: ZSL among unseen classes for an unseen class, GZSL for a seen one.
fn class_accuracy(p: &Predictions, classes: usize) -> Vec<Option<f32>> {
    let zsl = p.confusion(Setting::Zsl);
    let gzsl = p.confusion(Setting::Gzsl);
    (0..classes)
        .map(|c| {
            let m = if p.class_unseen(c)? { &zsl } else { &gzsl };
            let i = m.classes.iter().position(|&k| k == c)?;
            (m.row_total(i) > 0).then(|| m.row_fraction(i, i))
        })
        .collect()
}

/// The description set of a run: its class texts when known, else the class names standing in for every text
/// (distinct stand-ins per phrase so each keeps its own original row).
fn set_of_run(run: &LoadedRun, scored: &Scored) -> (DescriptionSet, bool) {
    let names = &run.config.split.class_names;
    if let Some(t) = &scored.texts
        && t.num_classes() == names.len()
    {
        return (DescriptionSet::from_class_texts(t), true);
    }
    let c = &run.classes;
    let k = c.phrases.as_ref().and_then(|p| p.dims().get(1).copied());
    let classes = names
        .iter()
        .map(|n| crate::dataset::description_set::ClassDescription {
            name: n.clone(),
            sentence: n.clone(),
            parts: c.parts.as_ref().map(|_| std::array::from_fn(|_| n.clone())),
            phrases: k.map(|k| (1..=k).map(|j| format!("{n} (phrase {j})")).collect()),
        })
        .collect();
    (DescriptionSet { classes }, false)
}

impl Editor {
    /// Starts editing the classes of a freshly scored run, and offers its recovery file if there is one.
    pub fn attach(&mut self, scored: &Scored) {
        let Ok(run) = scored.run.lock() else {
            return;
        };
        let (original, known_texts) = set_of_run(&run, scored);
        let names = &run.config.split.class_names;
        let mut unseen = vec![false; names.len()];
        for &u in &run.config.split.unseen {
            if let Some(x) = unseen.get_mut(u) {
                *x = true;
            }
        }
        let dim = run.config.dims.text;
        self.model = match dim {
            384 => Some(KnownModel::MiniLm),
            768 => Some(KnownModel::Mpnet),
            _ => None,
        };
        self.state = Some(if self.model.is_some() {
            ModelState::Unchecked
        } else {
            ModelState::Unknown(dim)
        });
        let kind = run.config.method.kind();
        let config = toml::to_string(&run.config).unwrap_or_default();
        let key = recovery::run_key(&run.dir, &config);
        let recovery_path = self
            .recovery_dir
            .clone()
            .or_else(recovery::default_recovery_dir)
            .map(|d| d.join(format!("{key}.toml")));
        let embedded = EmbeddedSet {
            texts: original.clone(),
            embeddings: run.classes.clone(),
        };
        let base_class_accuracy = class_accuracy(&scored.predictions, names.len());
        self.session = Some(Session {
            kind,
            used: TextUse::scored_by(kind),
            features: scored.features.clone(),
            visual: None,
            base: scored.predictions.clone(),
            base_metrics: scored.predictions.metrics(),
            class_accuracy: base_class_accuracy.clone(),
            base_class_accuracy,
            unseen,
            history: EditHistory::new(original.clone()),
            original: embedded.clone(),
            embedded,
            requested: original.clone(),
            saved: original,
            current: None,
            last: None,
            known_texts,
            run_label: format!("{} on {}", kind.title(), run.config.split.name),
            recovery_path: recovery_path.clone(),
            run: scored.run.clone(),
        });
        drop(run);
        self.message = None;
        self.drafts = Drafts::default();
        self.generation += 1;
        self.dirty_since = None;
        self.offer = recovery_path.and_then(|p| self.recovery_offer(p));
    }

    /// The recovery file at `path`, when it holds edits for this run's classes.
    fn recovery_offer(&mut self, path: PathBuf) -> Option<Offer> {
        if !path.is_file() {
            return None;
        }
        let s = self.session.as_ref()?;
        match DescriptionSet::load(&path) {
            Ok(set) if set.len() == s.history.current().len() => {
                let changes = s.history.original().diff(&set).len();
                Some(Offer { path, set, changes })
            }
            Ok(set) => {
                self.message = Some(format!(
                    "Recovery file {} has {} classes, the run {}; left alone",
                    path.display(),
                    set.len(),
                    s.history.current().len()
                ));
                None
            }
            Err(e) => {
                self.message = Some(format!("Recovery file unreadable: {e}"));
                None
            }
        }
    }

    /// Stops editing (another run was opened).
    pub fn detach(&mut self) {
        self.session = None;
        self.open = false;
        self.message = None;
        self.offer = None;
        self.dirty_since = None;
    }

    pub fn available(&self) -> bool {
        self.session.is_some()
    }

    /// Uses `store` instead of the default model store.
    pub fn set_store(&mut self, store: ModelStore) {
        self.store = Some(store);
        if self.state == Some(ModelState::Installed) {
            self.state = Some(ModelState::Unchecked);
        }
    }

    /// Writes recovery files into `dir` instead of the default folder (takes effect for the next run opened).
    pub fn set_recovery_dir(&mut self, dir: PathBuf) {
        self.recovery_dir = Some(dir);
    }

    /// The recovery file of the open run.
    pub fn recovery_path(&self) -> Option<&std::path::Path> {
        self.session.as_ref()?.recovery_path.as_deref()
    }

    /// Whether a recovery file is offered for restoring.
    pub fn offers_recovery(&self) -> bool {
        self.offer.is_some()
    }

    /// The current description set (committed edits).
    pub fn current_set(&self) -> Option<&DescriptionSet> {
        Some(self.session.as_ref()?.history.current())
    }

    fn store(&self) -> Result<ModelStore, String> {
        match &self.store {
            Some(s) => Ok(s.clone()),
            None => ModelStore::default_location().map_err(|e| e.to_string()),
        }
    }

    fn check_model(&mut self) {
        if self.state != Some(ModelState::Unchecked) && self.state != Some(ModelState::Missing) {
            return;
        }
        let Some(model) = self.model else {
            return;
        };
        let installed = self.store().is_ok_and(|s| s.locate(model).is_some());
        self.state = Some(if installed {
            ModelState::Installed
        } else {
            ModelState::Missing
        });
    }

    /// Undoes the last committed edit (Ctrl+Z, while the editor is open); typed but uncommitted text is committed
    /// first.
    pub fn undo(&mut self) {
        self.step_history(EditHistory::undo);
    }

    /// Re-applies the last undone edit (Ctrl+Shift+Z, while the editor is open).
    pub fn redo(&mut self) {
        self.step_history(EditHistory::redo);
    }

    /// Undo or redo (`step`), after committing typed text; a step that changed the texts makes them rescored.
    fn step_history(&mut self, step: fn(&mut EditHistory) -> Option<&Edit>) {
        if !self.open {
            return;
        }
        self.commit_drafts();
        if let Some(s) = &mut self.session
            && step(&mut s.history).is_some()
        {
            self.generation += 1;
            self.dirty = true;
        }
    }

    /// Applies a worker's result; returns new predictions for the app to show.
    pub fn handle(&mut self, out: EditorOutput) -> Option<Predictions> {
        match out {
            EditorOutput::Rescored(Ok(r)) => {
                self.job = None;
                let s = self.session.as_mut()?;
                let r = *r;
                let before = s.current.unwrap_or(s.base_metrics).zsl_accuracy;
                let metrics = r.predictions.metrics();
                let label = s
                    .history
                    .original()
                    .diff(&r.requested)
                    .last()
                    .map(|c| {
                        let name = &r.requested.classes[c.class].name;
                        format!("{name}: {}", c.field.label())
                    })
                    .unwrap_or_else(|| "the run's texts".to_owned());
                s.last = Some(LastChange {
                    label,
                    before,
                    after: metrics.zsl_accuracy,
                    encoded: r.encoded.len(),
                    encode_ms: r.encode_ms,
                    score_ms: r.score_ms,
                });
                s.current = Some(metrics);
                s.class_accuracy = class_accuracy(&r.predictions, s.unseen.len());
                s.embedded = r.embedded;
                if r.visual.is_some() {
                    s.visual = r.visual;
                }
                self.message = None;
                Some(r.predictions)
            }
            EditorOutput::Rescored(Err(e)) => {
                self.job = None;
                self.message = Some(format!("Re-scoring failed: {e}"));
                None
            }
            EditorOutput::ModelFetched(result) => {
                self.fetching = None;
                match result {
                    Ok(dir) => {
                        self.state = Some(ModelState::Installed);
                        self.message = Some(format!("Installed in {}", dir.display()));
                    }
                    Err(e) => self.message = Some(format!("Fetch failed: {e}")),
                }
                None
            }
        }
    }

    /// The class embeddings the last re-scoring used (the edited texts), for the other views that score the run.
    pub fn class_embeddings(&self) -> Option<&ClassEmbeddings> {
        self.session.as_ref().map(|s| &s.embedded.embeddings)
    }

    /// A file chosen in a dialog: load it, or save there.
    pub fn picked(&mut self, target: PickTarget, path: PathBuf) {
        self.file_input = path.display().to_string();
        match target {
            PickTarget::DescriptionSetSave => self.save_to(path),
            _ => self.load_from(path),
        }
    }

    fn save_to(&mut self, path: PathBuf) {
        self.commit_drafts();
        let Some(s) = &mut self.session else {
            return;
        };
        let set = s.history.current().clone();
        match set.save(&path, Some(&s.run_label)) {
            Ok(()) => {
                s.saved = set;
                self.message = Some(format!("Saved to {}", path.display()));
                if let Some(r) = s.recovery_path.clone() {
                    self.autosaver.remove(r);
                }
                self.dirty = false;
                self.dirty_since = None;
            }
            Err(e) => self.message = Some(format!("Could not save {}: {e}", path.display())),
        }
    }

    fn load_from(&mut self, path: PathBuf) {
        self.commit_drafts();
        let Some(s) = &mut self.session else {
            return;
        };
        let set = match DescriptionSet::load(&path) {
            Ok(set) => set,
            Err(e) => {
                self.message = Some(format!("Load failed: {e}"));
                return;
            }
        };
        if set.len() != s.history.current().len() {
            self.message = Some(format!(
                "{} has {} classes, the run has {}",
                path.display(),
                set.len(),
                s.history.current().len()
            ));
            return;
        }
        let label = format!("Load {}", path.display());
        s.history.replace(&label, &set);
        s.saved = s.history.current().clone();
        self.message = Some(format!("Loaded {}", path.display()));
        self.generation += 1;
        self.dirty = true;
    }

    fn revert(&mut self) {
        self.commit_drafts();
        if let Some(s) = &mut self.session {
            let original = s.history.original().clone();
            if s.history.replace("Revert to the run's texts", &original) {
                self.generation += 1;
                self.dirty = true;
            }
        }
    }

    /// The demo's prepared edit (`pipeline::demo::try_edit`) as one undoable edit: the wrong (`good` false) or the
    /// shipped description of one unseen class.
    fn try_demo_edit(&mut self, good: bool) {
        self.commit_drafts();
        let label = if good {
            "Try an edit: the good description"
        } else {
            "Try an edit: a wrong description"
        };
        if let Some(s) = &mut self.session
            && let Some(set) = crate::pipeline::demo::try_edit(s.history.current(), good)
            && s.history.replace(label, &set)
        {
            self.generation += 1;
            self.dirty = true;
        }
    }

    fn restore(&mut self) {
        let (Some(offer), Some(s)) = (self.offer.take(), &mut self.session) else {
            return;
        };
        s.history.replace("Restore unsaved edits", &offer.set);
        self.generation += 1;
        self.dirty = true;
        self.open = true;
        self.message = Some(format!("Restored {} unsaved change(s)", offer.changes));
    }

    fn discard(&mut self) {
        if let Some(offer) = self.offer.take() {
            self.autosaver.remove(offer.path);
        }
    }

    /// Starts a re-scoring when the history's set differs from the one last sent, none is running and the encoder
    /// is installed.
    fn maybe_rescore(&mut self, ctx: &egui::Context, workers: &mut Workers) {
        if self.job.is_some() || self.state != Some(ModelState::Installed) {
            return;
        }
        let Some(s) = &mut self.session else {
            return;
        };
        if s.history.current() == &s.requested {
            return;
        }
        s.requested = s.history.current().clone();
        let input = jobs::RescoreInput {
            store: match &self.store {
                Some(st) => Ok(st.clone()),
                None => ModelStore::default_location().map_err(|e| e.to_string()),
            },
            model: self.model,
            requested: s.requested.clone(),
            used: s.used,
            known: [s.embedded.clone(), s.original.clone()],
            run: s.run.clone(),
            features: s.features.clone(),
            base: s.base.clone(),
            visual: s.visual.clone(),
        };
        let encoder = self.encoder.clone();
        self.job = Some(
            workers.spawn(ctx, "Re-scoring the edited descriptions", move |handle| {
                EditorOutput::Rescored(jobs::rescore_job(&input, &encoder, handle).map(Box::new))
            }),
        );
    }

    /// Writes the working set (committed edits and what is being typed) to the recovery file once
    /// [`recovery::AUTOSAVE_DELAY_S`] has passed since the first unsaved change, or removes the file when nothing is
    /// unsaved. Nothing is written while a recovery offer waits for an answer.
    fn autosave(&mut self, now: f64) {
        for e in self.autosaver.errors() {
            self.message = Some(format!("Autosave failed: {e}"));
        }
        if self.offer.is_some() {
            return;
        }
        let Some(since) = self.dirty_since else {
            return;
        };
        if now - since < recovery::AUTOSAVE_DELAY_S {
            return;
        }
        self.dirty_since = None;
        let working = self.working_set();
        let Some(s) = &self.session else {
            return;
        };
        let (Some(path), Some(working)) = (s.recovery_path.clone(), working) else {
            return;
        };
        if working == s.saved {
            self.autosaver.remove(path);
        } else {
            let text = working.to_toml(Some(&s.run_label));
            self.autosaver.write(path, text);
        }
    }

    /// Recovery files written or removed so far (tests wait on it).
    pub fn autosaves_completed(&self) -> usize {
        self.autosaver.completed()
    }

    fn spawn_fetch(&mut self, ctx: &egui::Context, workers: &mut Workers) {
        let Some(model) = self.model else {
            return;
        };
        let label = format!("Fetching {}", model.hub_name());
        let store = self.store();
        self.fetching = Some(workers.spawn(ctx, label, move |handle| {
            EditorOutput::ModelFetched(store.and_then(|s| jobs::fetch_job(&s, model, handle)))
        }));
    }
}
