//! `gui --dump-state PATH`: what the window shows, as JSON, for tests and scripts to assert on. The keys are fixed
//! (README, "Inspecting the explorer"): `dataset`, `run`, `figures` (each figure with the `basis` it is computed
//! on; null while no run is shown), `selected`, `views` (every shown panel and dock tab with its rectangle; the `dock` entry lists all its tabs) and
//! `player`.

use serde_json::{Value, json};

use super::ExplorerApp;
use crate::pipeline::predictions::{Predictions, Setting};
use crate::pipeline::research::{self, ClassAccuracy, setting_name};

fn rect_json(r: egui::Rect) -> Value {
    json!([r.min.x, r.min.y, r.width(), r.height()])
}

impl ExplorerApp {
    /// The state the window shows now.
    pub(super) fn state_json(&self) -> Value {
        let dataset = self.dataset.as_ref().map(|d| {
            json!({
                "path": d.root.display().to_string(),
                "samples": d.samples.len(),
                "classes": d.classes.len(),
            })
        });
        let run = self.predictions.as_ref().map(|p| {
            json!({
                "name": self.run_path.as_ref().map(|r| r.display().to_string()),
                "method": p.method,
                // As the window labels the run (a gamma saved with it included).
                "label": self.run_label(p),
                "matches_dataset": self.mismatch.is_none() && self.dataset.is_some(),
                "mismatch": self.mismatch,
            })
        });
        let figures = match (&self.predictions, &self.metrics) {
            (Some(p), Some(m)) if self.mismatch.is_none() => {
                let test = |v: f32| json!({"value": v, "basis": "test"});
                let user_gamma = (p.gamma - self.opened_gamma).abs() >= 5e-4;
                let record = self.views.calibration.run.as_ref();
                // A gamma saved with the run: its basis is the one recorded with it.
                let saved = record
                    .filter(|r| user_gamma && r.is_saved(p.gamma))
                    .and_then(|r| r.saved.as_ref());
                let mut figures = json!({
                    "zsl_accuracy": test(m.zsl_accuracy),
                    "gzsl_seen": test(m.seen_accuracy),
                    "gzsl_unseen": test(m.unseen_accuracy),
                    "gzsl_harmonic": test(m.harmonic),
                    // The gamma in use: the run's validation choice, or one set with the slider while looking at
                    // test curves.
                    "gamma": {
                        "value": p.gamma,
                        "basis": match saved {
                            Some(s) => s.chosen_on.name(),
                            None if user_gamma => "test",
                            None => "validation",
                        },
                        "source": if user_gamma { "user" } else { "validation" },
                        "saved": saved.is_some(),
                    },
                    "unseen_samples": m.unseen_samples,
                    "seen_samples": m.seen_samples,
                });
                if let Value::Object(map) = &mut figures {
                    map.extend(self.research_figures(p));
                }
                figures
            }
            _ => Value::Null,
        };
        // The InfoCPL branch window's figures: the applied set's validation ZSL (basis "validation").
        let mut figures = figures;
        if let (Some(f), Some(b)) = (
            figures.as_object_mut(),
            self.views.branches.editor.state_json(),
        ) && let Some(b) = b.as_object()
        {
            f.extend(b.clone());
        }
        let selected = self.selected.and_then(|i| {
            let d = self.dataset.as_ref()?;
            let s = d.samples.get(i)?;
            let row = self.joined.rows.get(i);
            let name = |c: usize| {
                self.predictions
                    .as_ref()
                    .map(|p| p.class_name(c, &self.class_names))
            };
            Some(json!({
                "id": s.meta.id,
                "scored": self.joined.pred_row.get(i).copied().flatten().is_some(),
                // The compared run B's prediction (the browser's *B predicted* column), when B is shown.
                "prediction_b": row.and_then(|r| r.predicted_b).and_then(name),
                // Where the class sentences beside the prediction come from: the texts scored with in this
                // session, the dataset's text files (a run opened from its folder), or none.
                "class_texts": if self.editor.current_set().is_some() {
                    Some("session")
                } else if self.views.dataset_texts.is_some() {
                    Some("dataset")
                } else {
                    None
                },
            }))
        });
        // The fixed panels (the dock among them, with its tabs), then each dock tab shown, by its title.
        let tabs: Vec<&str> = super::dock::panes(&self.settings.dock)
            .into_iter()
            .map(|(_, v)| v.title())
            .collect();
        let mut views: Vec<Value> = self
            .panel_rects
            .iter()
            .map(|(name, r)| {
                if *name == "dock" {
                    json!({"name": name, "rect": rect_json(*r), "tabs": tabs})
                } else {
                    json!({"name": name, "rect": rect_json(*r)})
                }
            })
            .collect();
        views.extend(
            self.views
                .rects
                .iter()
                .map(|(v, r)| json!({"name": v.title(), "rect": rect_json(*r)})),
        );
        let frames = self
            .current_sequence()
            .map_or(0, crate::skeleton::Sequence::frames);
        json!({
            "dataset": dataset,
            "run": run,
            "figures": figures,
            "selected": selected,
            "views": views,
            "player": {
                "frames": frames,
                "preprocessed": self.preprocessed,
                "playing": self.player.playing,
            },
        })
    }

    /// The research views' figures: the selected sample's margin, and those of the open research tabs.
    fn research_figures(&self, p: &Predictions) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        let row = self
            .selected
            .and_then(|s| self.joined.pred_row.get(s).copied().flatten());
        if let Some(r) = row
            && let Some(setting) = research::sample_setting(p, r)
            && let Some(m) = research::margin(p, r, setting)
        {
            out.insert(
                "selected_margin".into(),
                json!({"value": m, "basis": "test", "setting": setting_name(setting)}),
            );
        }
        let r = &self.views.research;
        if r.accuracy_open {
            let setting = if r.accuracy_gzsl {
                Setting::Gzsl
            } else {
                Setting::Zsl
            };
            let classes = research::class_accuracy(p, setting);
            let mean = classes.iter().map(ClassAccuracy::accuracy).sum::<f32>()
                / classes.len().max(1) as f32;
            let rows: Vec<Value> = classes
                .iter()
                .map(|c| {
                    json!({
                        "class": p.class_name(c.class, &self.class_names),
                        "unseen": c.unseen,
                        "correct": c.correct,
                        "samples": c.samples,
                    })
                })
                .collect();
            out.insert(
                "class_accuracy".into(),
                json!({
                    "value": mean,
                    "basis": "test",
                    "setting": setting_name(setting),
                    "what": "mean of the per-class accuracies",
                    "classes": rows,
                }),
            );
        }
        if r.neighbours_open
            && let (Some(row), Some(f)) = (row, &p.features)
        {
            let near = research::nearest(&f.samples, f.dim, row, super::research_views::NEIGHBOURS);
            // The nearest training samples (seen classes), or why the view lists none.
            let training = match r.nearest_training(p, self.views.run_key, row) {
                Some(list) => json!(
                    list.iter()
                        .map(|t| json!({
                            "id": t.id,
                            "class": p.class_name(t.label, &self.class_names),
                            "split": "training",
                            "cosine": t.cosine,
                        }))
                        .collect::<Vec<_>>()
                ),
                None => json!({
                    "unavailable": r.training_unavailable().unwrap_or("not computed yet"),
                }),
            };
            if let Some(&(_, best)) = near.first() {
                let samples: Vec<Value> = near
                    .iter()
                    .map(|&(r, sim)| json!({"id": p.sample_ids[r], "split": "test", "cosine": sim}))
                    .collect();
                out.insert(
                    "nearest".into(),
                    json!({
                        "value": best,
                        "basis": "test",
                        "what": "cosine similarity of the nearest scored sample in the run's feature space",
                        "samples": samples,
                        "training": training,
                    }),
                );
            }
        }
        if let Some(b) = &self.views.compare.run {
            let result = match b.result(self.generation) {
                Some(r) => r.clone(),
                None => super::compare::compare_runs(p, &b.predictions, self.dataset.as_ref()),
            };
            let value = match result {
                Ok(ag) => json!({
                    "value": 1.0 - ag.disagree.len() as f32 / ag.common.max(1) as f32,
                    "basis": "test",
                    "what": "fraction of the samples both runs scored where their predictions agree",
                    "run_b": b.predictions.method,
                    "common": ag.common,
                    "both_right": ag.matrix[0][0],
                    "only_a_right": ag.matrix[1][0],
                    "only_b_right": ag.matrix[0][1],
                    "both_wrong": ag.matrix[1][1],
                }),
                Err(e) => json!({"value": null, "basis": "test", "error": e}),
            };
            out.insert("agreement".into(), value);
        }
        out
    }

    /// Writes [`Self::state_json`] to the `--dump-state` file, once.
    pub(super) fn dump_state(&mut self) {
        let Some(path) = self.options.dump_state.take() else {
            return;
        };
        let text = match serde_json::to_string_pretty(&self.state_json()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return;
            }
        };
        match crate::util::write_bytes_atomic(&path, text.as_bytes()) {
            Ok(()) => eprintln!("state written to {}", path.display()),
            Err(e) => eprintln!("error: {}: {e}", path.display()),
        }
    }
}
