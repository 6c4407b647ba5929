//! Two runs side by side on the same data (`gui --compare RUN`, or File > Compare with a run folder): the second run
//! (B) is loaded from its folder and bound to the open dataset like the first ([`crate::pipeline::binding`]); its
//! tab shows the agreement matrix of the two runs on the samples both scored, and the samples where they disagree
//! (a click plays one; one button lists them all in the browser). The predictions panel shows B's prediction of the
//! selected sample beside A's.

use std::path::PathBuf;

use super::ExplorerApp;
use super::command::Command;
use super::notifications::Level;
use crate::pipeline::binding::dataset_mismatch;
use crate::pipeline::predictions::Predictions;
use crate::pipeline::research::{self, Agreement, setting_name};
use crate::pipeline::scoring;

/// A compared run's load result.
pub struct CompareLoaded(pub PathBuf, pub Result<Box<Predictions>, String>);

pub struct CompareRun {
    pub path: PathBuf,
    pub predictions: Predictions,
    /// Against the shown run and the open dataset, cached per data (`generation`): the agreement, or why B does
    /// not belong to the open dataset.
    result: Option<(u64, Result<Agreement, String>)>,
}

impl CompareRun {
    /// The cached result, if it is for these data.
    pub fn result(&self, generation: u64) -> Option<&Result<Agreement, String>> {
        self.result
            .as_ref()
            .filter(|(k, _)| *k == generation)
            .map(|(_, r)| r)
    }
}

/// Run B against run A over `dataset`: B must be bound to the dataset as A is.
pub fn compare_runs(
    a: &Predictions,
    b: &Predictions,
    dataset: Option<&crate::dataset::Dataset>,
) -> Result<Agreement, String> {
    let d = dataset.ok_or("no dataset open")?;
    if let Some(why) = dataset_mismatch(b, d) {
        return Err(format!(
            "run B was not computed on {}: {why}",
            d.root.display()
        ));
    }
    Ok(research::agreement(a, b))
}

/// Run B when it belongs to `dataset` (the browser shows its predictions then).
pub fn bound_b<'a>(
    view: &'a CompareView,
    dataset: Option<&crate::dataset::Dataset>,
) -> Option<&'a Predictions> {
    let b = &view.run.as_ref()?.predictions;
    dataset_mismatch(b, dataset?).is_none().then_some(b)
}

#[derive(Default)]
pub struct CompareView {
    pub open: bool,
    pub run: Option<CompareRun>,
    /// Why the last run asked for could not be compared.
    pub error: Option<String>,
}

impl ExplorerApp {
    /// Loads run B on a worker: read from its `predictions.json`, or scored live as run A would be (another of the
    /// demo's embedded runs, `demo:<method>`; a `skelzero train` run folder when the session has an encoder).
    pub(super) fn open_compare(&mut self, path: PathBuf) {
        self.views.compare.open = true;
        if let Some(source) = self.live_source(&path) {
            let label = format!(
                "Scoring {} to compare on {}",
                path.display(),
                crate::nn::device::device_label(&self.device)
            );
            let device = self.device.clone();
            self.workers.spawn(&self.ctx, label, move |handle| {
                let result = scoring::score_job(&source, &device, handle)
                    .map(|scored| Box::new(scored.predictions));
                CompareLoaded(path, result)
            });
            return;
        }
        let label = format!("Loading run {} to compare", path.display());
        self.workers.spawn(&self.ctx, label, move |_| {
            let result = Predictions::load(&path)
                .map(Box::new)
                .map_err(|e| e.to_string());
            CompareLoaded(path, result)
        });
    }

    /// Keeps run B (its binding to the dataset is checked with the data it is shown over, see [`compare_runs`]).
    pub(super) fn compare_loaded(&mut self, out: CompareLoaded) {
        let CompareLoaded(path, result) = out;
        match result {
            Ok(p) => {
                self.notifications.push(
                    Level::Info,
                    format!("Comparing with {} ({})", p.method, path.display()),
                );
                self.views.compare.error = None;
                self.views.compare.run = Some(CompareRun {
                    path,
                    predictions: *p,
                    result: None,
                });
                // The browser's B column.
                self.data_changed();
            }
            Err(e) => {
                let e = format!("{}: {e}", path.display());
                self.notifications
                    .push(Level::Error, format!("Cannot compare: {e}"));
                self.views.compare.error = Some(e);
                self.views.compare.run = None;
            }
        }
    }

    /// A sample's prediction by run B, in the setting run A judges it in (for the predictions panel).
    pub(super) fn compare_prediction(&self, sample: usize) -> Option<(String, String)> {
        let run = self.views.compare.run.as_ref()?;
        run.result(self.generation)?.as_ref().ok()?;
        let b = &run.predictions;
        let a = self.predictions.as_ref()?;
        let row_a = self.joined.pred_row.get(sample).copied().flatten()?;
        let setting = research::sample_setting(a, row_a)?;
        let id = &a.sample_ids[row_a];
        let row_b = b.sample_ids.iter().position(|s| s == id)?;
        let c = b.predicted(row_b, setting)?;
        Some((
            b.method.clone(),
            format!(
                "{}: {}",
                setting_name(setting),
                a.class_name(c, &self.class_names)
            ),
        ))
    }

    /// The comparison tab.
    pub(super) fn compare_ui(&mut self, ui: &mut egui::Ui) {
        let Some(a) = self
            .predictions
            .as_ref()
            .filter(|_| self.mismatch.is_none())
        else {
            ui.weak("Open a run of this dataset first (run A).");
            return;
        };
        if let Some(e) = &self.views.compare.error {
            ui.colored_label(self.palette.incorrect, format!("Cannot compare: {e}"));
        }
        let Some(b) = &mut self.views.compare.run else {
            ui.weak("Compare with a second run of this dataset: gui --compare RUN, or File > Compare with run folder.");
            return;
        };
        if b.result(self.generation).is_none() {
            let r = compare_runs(a, &b.predictions, self.dataset.as_ref());
            b.result = Some((self.generation, r));
        }
        let ag = match b.result(self.generation) {
            Some(Ok(ag)) => ag,
            Some(Err(e)) => {
                ui.colored_label(self.palette.incorrect, format!("{}: {e}", b.path.display()));
                return;
            }
            None => return,
        };
        ui.label(format!(
            "A: {}   B: {} ({})",
            a.method,
            b.predictions.method,
            b.path.display()
        ));
        ui.weak(format!(
            "On the {} test samples both runs scored, each judged in its own setting (ZSL for an unseen-class sample, \
             GZSL with each run's gamma for a seen-class one).",
            ag.common
        ));
        let pct = |n: usize| 100.0 * n as f32 / ag.common.max(1) as f32;
        egui::Grid::new("agreement").striped(true).show(ui, |ui| {
            ui.label("");
            ui.strong("A right");
            ui.strong("A wrong");
            ui.end_row();
            for (i, what) in ["B right", "B wrong"].into_iter().enumerate() {
                ui.strong(what);
                for j in 0..2 {
                    let n = ag.matrix[i][j];
                    ui.label(format!("{n} ({:.1} %)", pct(n)));
                }
                ui.end_row();
            }
        });
        let names = &self.class_names;
        let d = self.dataset.as_ref();
        let sample_of = |id: &str| d.and_then(|d| d.samples.iter().position(|s| s.meta.id == id));
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} samples where the predictions differ",
                ag.disagree.len()
            ));
            if ui.button("List them in the browser").clicked() {
                let samples: Vec<usize> = ag
                    .disagree
                    .iter()
                    .filter_map(|(id, _, _)| sample_of(id))
                    .collect();
                self.pending.push(Command::FilterSamples(samples));
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("disagreements")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("disagree grid")
                    .striped(true)
                    .num_columns(4)
                    .show(ui, |ui| {
                        ui.strong("Sample");
                        ui.strong("Truth");
                        ui.strong("A predicted");
                        ui.strong("B predicted");
                        ui.end_row();
                        let row_of: std::collections::HashMap<&str, usize> = a
                            .sample_ids
                            .iter()
                            .enumerate()
                            .map(|(i, s)| (s.as_str(), i))
                            .collect();
                        for (id, pa, pb) in &ag.disagree {
                            let sample = sample_of(id);
                            if ui
                                .add_enabled(sample.is_some(), egui::Button::new(id).small())
                                .clicked()
                                && let Some(s) = sample
                            {
                                self.pending.push(Command::PlaySample(s));
                            }
                            let truth = row_of.get(id.as_str()).map(|&r| a.labels[r]);
                            ui.label(truth.map_or("?".into(), |t| a.class_name(t, names)));
                            for p in [pa, pb] {
                                let color = if Some(*p) == truth {
                                    self.palette.correct
                                } else {
                                    self.palette.incorrect
                                };
                                ui.colored_label(color, a.class_name(*p, names));
                            }
                            ui.end_row();
                        }
                    });
            });
    }
}
