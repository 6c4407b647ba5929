//! `gui --dump-state PATH`: what the window shows, as JSON, for tests and scripts to assert on. The keys are fixed
//! (README, "Inspecting the explorer"): `dataset`, `run`, `figures` (each figure with the `basis` it is computed
//! on; null while no run is shown), `selected`, `views` (every shown panel and dock tab with its rectangle; the `dock` entry lists all its tabs) and
//! `player`.

use serde_json::{Value, json};

use super::ExplorerApp;

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
                "matches_dataset": self.mismatch.is_none() && self.dataset.is_some(),
                "mismatch": self.mismatch,
            })
        });
        let figures = match (&self.predictions, &self.metrics) {
            (Some(p), Some(m)) if self.mismatch.is_none() => {
                let test = |v: f32| json!({"value": v, "basis": "test"});
                let user_gamma = p.gamma != self.opened_gamma;
                json!({
                    "zsl_accuracy": test(m.zsl_accuracy),
                    "gzsl_seen": test(m.seen_accuracy),
                    "gzsl_unseen": test(m.unseen_accuracy),
                    "gzsl_harmonic": test(m.harmonic),
                    // The gamma in use: the run's validation choice, or one set with the slider while looking at
                    // test curves.
                    "gamma": {
                        "value": p.gamma,
                        "basis": if user_gamma { "test" } else { "validation" },
                        "source": if user_gamma { "user" } else { "validation" },
                    },
                    "unseen_samples": m.unseen_samples,
                    "seen_samples": m.seen_samples,
                })
            }
            _ => Value::Null,
        };
        let selected = self.selected.and_then(|i| {
            let d = self.dataset.as_ref()?;
            let s = d.samples.get(i)?;
            Some(json!({
                "id": s.meta.id,
                "scored": self.joined.pred_row.get(i).copied().flatten().is_some(),
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
