//! Research views in the dock: per-class accuracy bars (ZSL or GZSL, on the run's test split; a click lists the
//! class's samples in the browser) and the nearest samples of the selected one in the run's feature space (a click
//! plays one): the nearest *training* samples where the session holds the encoder (a run scored live; their points
//! are computed on a worker the first time the view is open, [`crate::pipeline::training_points`]), and the nearest
//! scored (test) samples. The figures come from [`crate::pipeline::research`]; they are cached per scores (`key`),
//! so an open tab costs a frame nothing but drawing.

use std::sync::{Arc, Mutex};

use super::ExplorerApp;
use super::browser::Joined;
use super::command::Command;
use super::palette::Palette;
use crate::dataset::Dataset;
use crate::experiment::run::LoadedRun;
use crate::pipeline::predict::EncoderModel;
use crate::pipeline::predictions::{Predictions, Setting};
use crate::pipeline::research::{self, ClassAccuracy, setting_name};
use crate::pipeline::scoring::Scored;
use crate::pipeline::training_points::{TrainingPoints, training_points};

/// The nearest samples of one prediction row, for one version of the scores: (key, row, [(row, cosine)]).
type Neighbours = (u64, usize, Vec<(usize, f32)>);

/// What a run scored live keeps for its training samples' points.
pub struct TrainingSource {
    encoder: Arc<EncoderModel>,
    run: Arc<Mutex<LoadedRun>>,
    /// The run's training samples (`None`: its split does not apply to the scored data).
    ids: Option<Vec<String>>,
}

/// The training samples' points, for one version of the run's feature space (`AnalysisViews::run_key`).
#[derive(Default)]
pub enum Training {
    /// Not asked for yet, or the space moved since.
    #[default]
    Idle,
    /// (job, key).
    Running(u64, u64),
    /// (key, points, dataset sample index of each point).
    Ready(u64, TrainingPoints, Vec<Option<usize>>),
    Failed(u64, String),
}

/// A finished training-points job: (key, points).
pub struct TrainingDone(pub u64, pub Result<TrainingPoints, String>);

/// A training sample near the selected one: dataset class, dataset sample index (if open), cosine.
pub struct TrainingNeighbour {
    pub id: String,
    pub label: usize,
    pub sample: Option<usize>,
    pub cosine: f32,
}

#[derive(Default)]
pub struct ResearchViews {
    pub accuracy_open: bool,
    /// GZSL bars (every class) instead of ZSL (unseen classes).
    pub accuracy_gzsl: bool,
    /// Worst class first instead of the run's class order.
    pub sort_by_accuracy: bool,
    accuracy: Option<(u64, Setting, Vec<ClassAccuracy>)>,
    pub neighbours_open: bool,
    neighbours: Option<Neighbours>,
    /// Set while the shown run was scored live (`None` for a `predictions.json` run).
    training_source: Option<TrainingSource>,
    pub training: Training,
}

/// How many nearest samples are listed.
pub const NEIGHBOURS: usize = 10;

/// What the research views need from the app for one frame.
pub struct ResearchContext<'a> {
    pub predictions: &'a Predictions,
    pub dataset: Option<&'a Dataset>,
    pub joined: &'a Joined,
    /// The run's class names, by dataset class.
    pub names: &'a [String],
    /// Changes whenever the scores (or gamma) change.
    pub key: u64,
    /// The selected sample's prediction row.
    pub row: Option<usize>,
    pub palette: &'a Palette,
    /// Changes whenever the run's feature space changes (the training points are made for one).
    pub run_key: u64,
    /// The training-points job's progress, while it runs.
    pub training_progress: Option<f32>,
}

impl ResearchViews {
    /// A run scored live: its encoder and weights can place the training samples in its feature space.
    pub fn attach_scored(&mut self, scored: &Scored) {
        self.training_source = Some(TrainingSource {
            encoder: scored.encoder.clone(),
            run: scored.run.clone(),
            ids: scored.training_ids.clone(),
        });
        self.training = Training::Idle;
    }

    /// A run opened from `predictions.json` (or none): no training points can be made.
    pub fn detach(&mut self) {
        self.training_source = None;
        self.training = Training::Idle;
    }

    /// The `NEIGHBOURS` training samples nearest to prediction row `row`, when their points are ready for the
    /// feature space `key`; most similar first.
    pub fn nearest_training(
        &self,
        p: &Predictions,
        key: u64,
        row: usize,
    ) -> Option<Vec<TrainingNeighbour>> {
        let Training::Ready(k, pts, samples) = &self.training else {
            return None;
        };
        let f = p.features.as_ref()?;
        if *k != key || pts.dim != f.dim {
            return None;
        }
        let query = f.samples.get(row * f.dim..(row + 1) * f.dim)?;
        Some(
            research::nearest_to(query, &pts.samples, pts.dim, None, NEIGHBOURS)
                .into_iter()
                .map(|(i, cosine)| TrainingNeighbour {
                    id: pts.ids[i].clone(),
                    label: pts.labels[i],
                    sample: samples[i],
                    cosine,
                })
                .collect(),
        )
    }

    /// Why no training samples are listed, when none can be.
    pub fn training_unavailable(&self) -> Option<&'static str> {
        match &self.training_source {
            None => Some(
                "No training samples: this run was opened from predictions.json, which stores the features of \
                 its test samples only. Open it with its encoder (gui --data D --encoder ENC --run RUN) to list \
                 the nearest training samples.",
            ),
            Some(TrainingSource { ids: None, .. }) => Some(
                "No training samples: the run's split does not apply to this dataset, so no sample is known to \
                 be one the run trained on.",
            ),
            Some(_) => None,
        }
    }

    /// Per-class accuracy in `setting`, cached per `key`.
    pub fn class_accuracy(
        &mut self,
        p: &Predictions,
        key: u64,
        setting: Setting,
    ) -> &[ClassAccuracy] {
        let fresh = self
            .accuracy
            .as_ref()
            .is_some_and(|(k, s, _)| *k == key && *s == setting);
        if !fresh {
            self.accuracy = Some((key, setting, research::class_accuracy(p, setting)));
        }
        self.accuracy.as_ref().map_or(&[], |(_, _, a)| a.as_slice())
    }

    /// The nearest samples of prediction row `row`, cached per `key`.
    pub fn nearest(&mut self, p: &Predictions, key: u64, row: usize) -> &[(usize, f32)] {
        let fresh = self
            .neighbours
            .as_ref()
            .is_some_and(|(k, r, _)| *k == key && *r == row);
        if !fresh {
            let list = p.features.as_ref().map_or_else(Vec::new, |f| {
                research::nearest(&f.samples, f.dim, row, NEIGHBOURS)
            });
            self.neighbours = Some((key, row, list));
        }
        self.neighbours
            .as_ref()
            .map_or(&[], |(_, _, n)| n.as_slice())
    }

    /// The per-class accuracy bars.
    pub fn accuracy_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &ResearchContext<'_>,
        commands: &mut Vec<Command>,
    ) {
        let p = cx.predictions;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.accuracy_gzsl, false, "ZSL")
                .on_hover_text("Unseen classes; their samples choose among unseen classes");
            ui.selectable_value(&mut self.accuracy_gzsl, true, "GZSL")
                .on_hover_text("Every class; samples choose among all classes, gamma subtracted from seen ones");
            ui.checkbox(&mut self.sort_by_accuracy, "Worst first");
        });
        let setting = if self.accuracy_gzsl {
            Setting::Gzsl
        } else {
            Setting::Zsl
        };
        ui.weak(format!(
            "{} accuracy per class on the test split (the {} samples this run scored). Click a bar to list the \
             class's samples in the browser.",
            setting_name(setting),
            p.num_samples()
        ));
        let sort = self.sort_by_accuracy;
        let mut rows: Vec<ClassAccuracy> = self.class_accuracy(p, cx.key, setting).to_vec();
        if sort {
            rows.sort_by(|a, b| {
                a.accuracy()
                    .total_cmp(&b.accuracy())
                    .then(a.class.cmp(&b.class))
            });
        }
        let font = egui::TextStyle::Body.resolve(ui.style());
        let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        egui::ScrollArea::vertical()
            .id_salt("class accuracy")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let width = ui.available_width();
                let name_w = (width * 0.4).clamp(90.0, 360.0);
                let count_w = 70.0;
                let bar_w = (width - name_w - count_w - 16.0).max(60.0);
                for c in rows {
                    let name = p.class_name(c.class, cx.names);
                    let (rect, resp) =
                        ui.allocate_exact_size(egui::vec2(width, row_h), egui::Sense::click());
                    let painter = ui.painter_at(rect);
                    if resp.hovered() {
                        painter.rect_filled(rect, 2.0, ui.visuals().widgets.hovered.weak_bg_fill);
                    }
                    let short = super::elide::elide(ui, &name, &font, name_w - 6.0, 0);
                    let color = if c.unseen {
                        cx.palette.unseen
                    } else {
                        cx.palette.seen
                    };
                    painter.text(
                        rect.left_center(),
                        egui::Align2::LEFT_CENTER,
                        short,
                        font.clone(),
                        color,
                    );
                    let bar = egui::Rect::from_min_size(
                        egui::pos2(rect.left() + name_w, rect.top() + 3.0),
                        egui::vec2(bar_w, row_h - 6.0),
                    );
                    painter.rect_filled(bar, 2.0, ui.visuals().extreme_bg_color);
                    let mut filled = bar;
                    filled.set_width(bar_w * c.accuracy());
                    painter.rect_filled(filled, 2.0, cx.palette.class_color(c.class));
                    painter.text(
                        egui::pos2(bar.right() + 6.0, rect.center().y),
                        egui::Align2::LEFT_CENTER,
                        format!(
                            "{:.0} % ({}/{})",
                            100.0 * c.accuracy(),
                            c.correct,
                            c.samples
                        ),
                        font.clone(),
                        ui.visuals().text_color(),
                    );
                    let resp = resp.on_hover_text(format!(
                        "{name} ({}): {} of {} test samples right in {}",
                        if c.unseen { "unseen" } else { "seen" },
                        c.correct,
                        c.samples,
                        setting_name(setting)
                    ));
                    if resp.clicked()
                        && let Some(d) = cx.dataset
                    {
                        let samples: Vec<usize> = (0..d.samples.len())
                            .filter(|&i| {
                                d.samples[i].meta.label == c.class
                                    && cx.joined.pred_row.get(i).copied().flatten().is_some()
                            })
                            .collect();
                        commands.push(Command::FilterSamples(samples));
                    }
                }
            });
    }

    /// The selected sample's nearest samples in feature space.
    pub fn neighbours_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &ResearchContext<'_>,
        commands: &mut Vec<Command>,
    ) {
        let p = cx.predictions;
        let Some(f) = &p.features else {
            ui.weak("This run exported no features (features in predictions.json).");
            return;
        };
        let Some(row) = cx.row else {
            ui.weak("Select a sample this run scored.");
            return;
        };
        let space = if f.space.is_empty() {
            "the run's features"
        } else {
            f.space.as_str()
        };
        ui.weak(format!(
            "The samples nearest to {} by cosine similarity in {space}.",
            p.sample_ids[row]
        ));
        let names = cx.names;
        let list = self.nearest(p, cx.key, row).to_vec();
        // Prediction row -> dataset sample, for the rows listed.
        let sample_of = |r: usize| {
            let d = cx.dataset?;
            let id = p.sample_ids.get(r)?;
            d.samples.iter().position(|s| &s.meta.id == id)
        };
        // One scroll area for both lists: in a short dock the test list stays a scroll away, not cut off.
        egui::ScrollArea::vertical()
            .id_salt("neighbours")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.training_ui(ui, cx, row, commands);
                ui.add_space(6.0);
                ui.strong(format!(
                    "Nearest test samples (of the {} this run scored)",
                    p.num_samples()
                ));
                egui::Grid::new("neighbours grid")
                    .num_columns(5)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("Sample");
                        ui.strong("Class");
                        ui.strong("Split");
                        ui.strong("Cosine");
                        ui.strong("Prediction");
                        ui.end_row();
                        for (r, sim) in list {
                            let label = p.labels[r];
                            let sample = sample_of(r);
                            let id = ui.add_enabled(
                                sample.is_some(),
                                egui::Button::new(&p.sample_ids[r]).small(),
                            );
                            let id = id
                                .on_hover_text("Play this sample")
                                .on_disabled_hover_text("Not in the open dataset");
                            if id.clicked()
                                && let Some(s) = sample
                            {
                                commands.push(Command::PlaySample(s));
                            }
                            ui.label(p.class_name(label, names));
                            let setting = research::sample_setting(p, r);
                            ui.label(match setting {
                                Some(Setting::Zsl) => {
                                    egui::RichText::new("test, unseen").color(cx.palette.unseen)
                                }
                                _ => egui::RichText::new("test, seen").color(cx.palette.seen),
                            });
                            ui.label(format!("{sim:.3}"));
                            let predicted = setting.and_then(|s| p.predicted(r, s));
                            let right = predicted == Some(label);
                            ui.colored_label(
                                if right {
                                    cx.palette.correct
                                } else {
                                    cx.palette.incorrect
                                },
                                format!(
                                    "{}: {}",
                                    setting.map_or("–", setting_name),
                                    predicted.map_or("–".into(), |c| p.class_name(c, names))
                                ),
                            );
                            ui.end_row();
                        }
                    });
            });
    }

    /// The nearest training samples (seen classes), or why there are none.
    fn training_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &ResearchContext<'_>,
        row: usize,
        commands: &mut Vec<Command>,
    ) {
        let n = match &self.training_source {
            Some(TrainingSource { ids: Some(ids), .. }) => ids.len(),
            _ => 0,
        };
        if let Some(why) = self.training_unavailable() {
            ui.strong("Nearest training samples");
            ui.weak(why);
            return;
        }
        ui.strong(format!(
            "Nearest training samples (of the {n} the run trained on, seen classes)"
        ));
        if let Training::Failed(_, e) = &self.training {
            ui.colored_label(
                cx.palette.incorrect,
                format!("Could not place the training samples: {e}"),
            );
            return;
        }
        let Some(list) = self.nearest_training(cx.predictions, cx.run_key, row) else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak(format!(
                    "Encoding the {n} training samples ({:.0} %)",
                    100.0 * cx.training_progress.unwrap_or(0.0)
                ));
            });
            return;
        };
        egui::Grid::new("training neighbours grid")
            .num_columns(4)
            .striped(true)
            .show(ui, |ui| {
                ui.strong("Sample");
                ui.strong("Class");
                ui.strong("Split");
                ui.strong("Cosine");
                ui.end_row();
                for t in list {
                    let id = ui
                        .add_enabled(t.sample.is_some(), egui::Button::new(&t.id).small())
                        .on_hover_text("Play this training sample")
                        .on_disabled_hover_text("Not in the open dataset");
                    if id.clicked()
                        && let Some(s) = t.sample
                    {
                        commands.push(Command::PlaySample(s));
                    }
                    ui.label(cx.predictions.class_name(t.label, cx.names));
                    ui.label(egui::RichText::new("training, seen").color(cx.palette.seen));
                    ui.label(format!("{:.3}", t.cosine));
                    ui.end_row();
                }
            });
    }
}

impl ExplorerApp {
    /// Starts placing the training samples when the nearest-samples view is open, the run was scored live and
    /// its feature space (`run_key`) has no points yet. The training samples are copied out of the open dataset
    /// for the worker (the view asks once per feature space).
    pub(super) fn research_update(&mut self) {
        let r = &self.views.research;
        let key = self.views.run_key;
        if !r.neighbours_open || self.mismatch.is_some() {
            return;
        }
        let current = match &r.training {
            Training::Idle => None,
            Training::Running(_, k) | Training::Ready(k, ..) | Training::Failed(k, _) => Some(*k),
        };
        if current == Some(key) {
            return;
        }
        let (
            Some(TrainingSource {
                encoder,
                run,
                ids: Some(ids),
            }),
            Some(d),
        ) = (&r.training_source, &self.dataset)
        else {
            return;
        };
        if let Training::Running(job, _) = r.training {
            self.workers.cancel(job);
        }
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let train = Dataset {
            kind: d.kind,
            root: d.root.clone(),
            classes: d.classes.clone(),
            samples: d
                .samples
                .iter()
                .filter(|s| wanted.contains(s.meta.id.as_str()))
                .cloned()
                .collect(),
            skipped: Vec::new(),
        };
        let (encoder, run) = (encoder.clone(), run.clone());
        let label = format!(
            "Placing {} training samples for Nearest samples",
            train.samples.len()
        );
        let job = self.workers.spawn(&self.ctx, label, move |handle| {
            let result = match run.lock() {
                Ok(run) => training_points(&encoder, &run, &train, handle),
                Err(_) => Err("the run is unusable after a failed re-scoring".to_owned()),
            };
            TrainingDone(key, result)
        });
        self.views.research.training = Training::Running(job, key);
    }

    /// A training-points job finished: kept when it is for the current feature space.
    pub(super) fn training_done(&mut self, TrainingDone(key, result): TrainingDone) {
        let r = &mut self.views.research;
        if !matches!(r.training, Training::Running(_, k) if k == key) {
            return;
        }
        r.training = match result {
            Ok(pts) => {
                let index = self
                    .dataset
                    .as_ref()
                    .map(Dataset::rows_by_id)
                    .unwrap_or_default();
                let samples = pts
                    .ids
                    .iter()
                    .map(|id| index.get(id.as_str()).copied())
                    .collect();
                Training::Ready(key, pts, samples)
            }
            Err(e) => Training::Failed(key, e),
        };
    }
}
