//! The InfoCPL branch window's memory: every branch set tried while a run is open, with its validation figure (the
//! one to tune on) and its test-split figures, in a table whose rows re-apply their set when clicked.

use crate::zsl::branch_set::BranchSet;

/// One tried set.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub set: BranchSet,
    /// The enabled branches' names, e.g. "top-1, top-5".
    pub name: String,
    /// Validation ZSL top-1 (mean over the folds); `None` until measured or where the run has no validation data.
    pub validation: Option<f64>,
    /// Test-split ZSL top-1 and GZSL H (unseen test classes).
    pub test_zsl: Option<f32>,
    pub test_h: Option<f32>,
    /// When it was last tried, UTC `HH:MM:SS`.
    pub at: String,
}

/// The sets tried while one run is open, oldest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub entries: Vec<Entry>,
}

/// The wall clock as UTC `HH:MM:SS`.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

impl History {
    fn entry(&mut self, set: &BranchSet, name: impl FnOnce() -> String) -> &mut Entry {
        let at = clock();
        match self.entries.iter().position(|e| &e.set == set) {
            Some(i) => {
                self.entries[i].at = at;
                &mut self.entries[i]
            }
            None => {
                self.entries.push(Entry {
                    set: set.clone(),
                    name: name(),
                    validation: None,
                    test_zsl: None,
                    test_h: None,
                    at,
                });
                let last = self.entries.len() - 1;
                &mut self.entries[last]
            }
        }
    }

    /// `set` was scored on the test split (it is the set the shown predictions use).
    pub fn tested(&mut self, set: &BranchSet, name: impl FnOnce() -> String, zsl: f32, h: f32) {
        let e = self.entry(set, name);
        e.test_zsl = Some(zsl);
        e.test_h = Some(h);
    }

    /// `set` was measured on the validation folds.
    pub fn validated(&mut self, set: &BranchSet, name: impl FnOnce() -> String, zsl: f64) {
        self.entry(set, name).validation = Some(zsl);
    }

    /// The table; returns the set of a clicked row. `current` (the set the predictions use) is highlighted.
    pub fn ui(&self, ui: &mut egui::Ui, current: Option<&BranchSet>) -> Option<BranchSet> {
        if self.entries.is_empty() {
            ui.weak("No set tried yet.");
            return None;
        }
        let pct =
            |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{:.1} %", 100.0 * v));
        let mut picked = None;
        egui::ScrollArea::vertical()
            .id_salt("branch history")
            .max_height(140.0)
            .show(ui, |ui| {
                egui::Grid::new("branch history grid")
                    .num_columns(5)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("set");
                        ui.strong("validation ZSL")
                            .on_hover_text("Seen-class validation folds: the figure to tune on");
                        ui.label("test ZSL")
                            .on_hover_text("Test split (unseen classes: do not tune on this)");
                        ui.label("test H").on_hover_text(
                            "Test split GZSL harmonic mean (unseen classes: do not tune on this)",
                        );
                        ui.weak("time (UTC)");
                        ui.end_row();
                        for e in self.entries.iter().rev() {
                            let here = current == Some(&e.set);
                            if ui
                                .selectable_label(here, &e.name)
                                .on_hover_text("Apply this set again")
                                .clicked()
                            {
                                picked = Some(e.set.clone());
                            }
                            ui.strong(pct(e.validation));
                            ui.weak(pct(e.test_zsl.map(f64::from)));
                            ui.weak(pct(e.test_h.map(f64::from)));
                            ui.weak(&e.at);
                            ui.end_row();
                        }
                    });
            });
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_tried_again_updates_its_row() {
        let mut h = History::default();
        let a = BranchSet::trained(&[1, 5]);
        let mut b = a.clone();
        b.branches[0].enabled = false;
        h.tested(&a, || "top-1, top-5".into(), 0.4, 0.3);
        h.tested(&b, || "top-5".into(), 0.5, 0.2);
        h.validated(&a, || unreachable!("the row exists"), 0.45);
        h.tested(&a, || unreachable!("the row exists"), 0.42, 0.31);
        assert_eq!(h.entries.len(), 2);
        let e = &h.entries[0];
        assert_eq!(
            (e.name.as_str(), e.validation, e.test_zsl, e.test_h),
            ("top-1, top-5", Some(0.45), Some(0.42), Some(0.31))
        );
        assert_eq!(h.entries[1].validation, None);
        assert_eq!(h.entries[1].at.len(), 8);
    }
}
