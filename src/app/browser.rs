//! The sample browser: one row per sample with class, subject/view, split, prediction, margin and correctness (and
//! a compared run B's prediction, with a filter for the samples where A and B disagree); filter, sort, search by
//! class name, and the samples of a confusion-matrix cell. Columns are resized by dragging
//! the header's dividers and widen with the panel; labels that do not fit are shortened where they agree
//! ([`super::elide`]) and shown whole on hover; the list scrolls to a sample selected elsewhere.

use crate::dataset::Dataset;

use super::command::Command;
use super::palette::Palette;
use crate::pipeline::predictions::{Predictions, Setting};
use crate::pipeline::research;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Index,
    Class,
    Subject,
    View,
    Split,
    Predicted,
    Margin,
    Correct,
    PredictedB,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Show {
    #[default]
    All,
    Seen,
    Unseen,
    Correct,
    Incorrect,
    /// Samples where the compared run B predicts another class than A.
    Disagree,
}

impl Show {
    const ALL: [Self; 6] = [
        Self::All,
        Self::Seen,
        Self::Unseen,
        Self::Correct,
        Self::Incorrect,
        Self::Disagree,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Seen => "Seen",
            Self::Unseen => "Unseen",
            Self::Correct => "Correct",
            Self::Incorrect => "Incorrect",
            Self::Disagree => "A and B disagree",
        }
    }
}

/// A sample's derived columns.
#[derive(Clone, Debug, PartialEq)]
pub struct RowInfo {
    pub unseen: Option<bool>,
    /// ZSL prediction for unseen-class samples, GZSL for seen-class ones (the setting each is scored in).
    pub predicted: Option<usize>,
    pub correct: Option<bool>,
    /// True-class score minus the best other class's, in the same setting as `predicted`.
    pub margin: Option<f32>,
    /// The compared run B's prediction, in the same setting as `predicted` (when B scored the sample).
    pub predicted_b: Option<usize>,
}

/// Dataset sample index -> prediction row, plus each sample's derived columns.
#[derive(Default)]
pub struct Joined {
    pub pred_row: Vec<Option<usize>>,
    pub rows: Vec<RowInfo>,
}

impl Joined {
    /// `predictions` (run A) and `compare` (run B, bound to the same dataset) joined to the samples of `dataset`.
    pub fn new(
        dataset: &Dataset,
        predictions: Option<&Predictions>,
        compare: Option<&Predictions>,
    ) -> Self {
        fn rows_of(p: Option<&Predictions>) -> std::collections::HashMap<&str, usize> {
            p.map(|p| {
                p.sample_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id.as_str(), i))
                    .collect()
            })
            .unwrap_or_default()
        }
        let index = rows_of(predictions);
        let index_b = rows_of(compare);
        let pred_row: Vec<Option<usize>> = dataset
            .samples
            .iter()
            .map(|s| index.get(s.meta.id.as_str()).copied())
            .collect();
        let rows = dataset
            .samples
            .iter()
            .zip(&pred_row)
            .map(|(s, row)| {
                let Some(p) = predictions else {
                    return RowInfo {
                        unseen: None,
                        predicted: None,
                        correct: None,
                        margin: None,
                        predicted_b: None,
                    };
                };
                let unseen = p.class_unseen(s.meta.label);
                let setting = if unseen == Some(true) {
                    Setting::Zsl
                } else {
                    Setting::Gzsl
                };
                let predicted = row.and_then(|r| p.predicted(r, setting));
                // B only for the samples A scored: the column compares two predictions of one sample.
                let predicted_b = compare.zip(row.as_ref()).and_then(|(b, _)| {
                    let rb = *index_b.get(s.meta.id.as_str())?;
                    b.predicted(rb, setting)
                });
                RowInfo {
                    predicted_b,
                    unseen,
                    predicted,
                    correct: predicted.map(|c| c == s.meta.label),
                    margin: row.and_then(|r| research::margin(p, r, setting)),
                }
            })
            .collect();
        Self { pred_row, rows }
    }
}

/// Everything the displayed order depends on.
type OrderKey = (
    String,
    SortKey,
    bool,
    Show,
    Option<(usize, usize, Setting)>,
    Option<Vec<usize>>,
    u64,
);

/// The columns: title, sort key, starting width, and whether it takes a share of the room left over.
const COLUMNS: [(&str, SortKey, f32, bool); 9] = [
    // Ids lose the prefix every sample shares first ("…a06_s01_e01"), so the class names get the room.
    ("Sample", SortKey::Index, 125.0, true),
    ("Class", SortKey::Class, 120.0, true),
    ("Subj", SortKey::Subject, 30.0, false),
    ("View", SortKey::View, 30.0, false),
    ("Split", SortKey::Split, 46.0, false),
    ("Predicted", SortKey::Predicted, 130.0, true),
    ("Margin", SortKey::Margin, 46.0, false),
    ("Right", SortKey::Correct, 30.0, false),
    ("B predicted", SortKey::PredictedB, 110.0, true),
];

/// Column widths set by dragging the header's dividers (before the panel's spare room is shared out).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnWidths(pub [f32; 9]);

impl Default for ColumnWidths {
    fn default() -> Self {
        Self(COLUMNS.map(|c| c.2))
    }
}

impl ColumnWidths {
    /// The widths drawn in `room` points (0 for a column not `shown`): the stretching columns share what is left
    /// over (or give it back, down to 40 points each), in proportion to their set widths; the Sample column keeps
    /// at least `id_min` (room for an id after the prefix all ids share) and the others give up what that takes.
    pub fn fit(&self, room: f32, shown: [bool; 9], id_min: f32) -> [f32; 9] {
        let mut out = self.0;
        for (w, on) in out.iter_mut().zip(shown) {
            if !on {
                *w = 0.0;
            }
        }
        let share = |out: &mut [f32; 9], room: f32, skip_first: bool| {
            let stretching = |i: usize, w: f32| COLUMNS[i].3 && w > 0.0 && !(skip_first && i == 0);
            let set: f32 = out.iter().sum();
            let stretch: f32 = (0..9)
                .filter(|&i| stretching(i, out[i]))
                .map(|i| out[i])
                .sum();
            let extra = room - set;
            if stretch > 0.0 {
                for (i, w) in out.iter_mut().enumerate() {
                    if stretching(i, *w) {
                        *w = (*w + extra * *w / stretch).max(40.0);
                    }
                }
            }
        };
        share(&mut out, room, false);
        // A sample id is the row's key: cut in its middle, "…a05…e01" no longer says which sample it is.
        if out[0] > 0.0 && out[0] < id_min {
            out[0] = id_min;
            share(&mut out, room, true);
        }
        out
    }
}

#[derive(Default)]
pub struct BrowserState {
    pub search: String,
    pub sort: SortKey,
    pub descending: bool,
    pub show: Show,
    /// Only the samples of this confusion cell: (truth, predicted, setting), dataset classes.
    pub cell: Option<(usize, usize, Setting)>,
    /// Only these samples (dataset indices), e.g. a box selected in the t-SNE view.
    pub subset: Option<Vec<usize>>,
    /// Sample indices in display order; recomputed when `key` changes.
    pub order: Vec<usize>,
    key: Option<OrderKey>,
    pub widths: ColumnWidths,
    /// Chars at the start of every sample id (dropped first when an id does not fit).
    id_prefix: usize,
    /// The list rows shown last frame.
    visible: std::ops::Range<usize>,
    /// The selection the list last scrolled to (a new one is scrolled into view).
    scrolled_for: Option<usize>,
    /// Lower-case ids and class names of the data version the search last ran on.
    lowered: Option<search::Lowered>,
}

impl BrowserState {
    /// The list rows shown in the last frame (positions in [`Self::order`]).
    pub fn visible_rows(&self) -> std::ops::Range<usize> {
        self.visible.clone()
    }

    /// Recomputes the displayed order if the filter, the sort or the data (`generation`) changed.
    pub fn refresh(
        &mut self,
        dataset: &Dataset,
        joined: &Joined,
        predictions: Option<&Predictions>,
        generation: u64,
    ) {
        let key = (
            self.search.clone(),
            self.sort,
            self.descending,
            self.show,
            self.cell,
            self.subset.clone(),
            generation,
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        // The lower-cased texts and the ids' shared prefix follow the data version, not the filter.
        let lowered = match &mut self.lowered {
            Some(l) if l.generation == generation => l,
            slot => {
                self.id_prefix =
                    super::elide::common_prefix(dataset.samples.iter().map(|s| s.meta.id.as_str()));
                slot.insert(search::Lowered::new(dataset, generation))
            }
        };
        // The list changed: bring the selection into view again.
        self.scrolled_for = None;
        let needle = self.search.trim().to_lowercase();
        let class_name = |c: usize| dataset.classes.get(c).map(String::as_str).unwrap_or("?");
        // Whether each class name matches, once per class rather than once per sample.
        let class_ok: Vec<bool> = lowered
            .classes
            .iter()
            .map(|name| name.contains(&needle))
            .collect();
        // A t-SNE selection as a mask: `Vec::contains` per sample was quadratic (0.35 s a frame for a 23,000-sample
        // lasso over 114,480 samples).
        let in_subset = self.subset.as_ref().map(|set| {
            let mut mask = vec![false; dataset.samples.len()];
            for &i in set {
                if let Some(m) = mask.get_mut(i) {
                    *m = true;
                }
            }
            mask
        });
        let mut order: Vec<usize> = (0..dataset.samples.len())
            .filter(|&i| {
                let s = &dataset.samples[i];
                let r = &joined.rows[i];
                let text_ok = needle.is_empty()
                    || class_ok.get(s.meta.label).copied().unwrap_or(false)
                    || lowered.ids[i].contains(&needle);
                let show_ok = match self.show {
                    Show::All => true,
                    Show::Seen => r.unseen == Some(false),
                    Show::Unseen => r.unseen == Some(true),
                    Show::Correct => r.correct == Some(true),
                    Show::Incorrect => r.correct == Some(false),
                    Show::Disagree => r.predicted_b.is_some() && r.predicted_b != r.predicted,
                };
                let cell_ok = match (self.cell, predictions) {
                    (None, _) => true,
                    (Some((truth, pred, setting)), Some(p)) => {
                        s.meta.label == truth
                            && joined.pred_row[i].and_then(|row| p.predicted(row, setting))
                                == Some(pred)
                    }
                    (Some(_), None) => false,
                };
                let subset_ok = in_subset.as_ref().is_none_or(|mask| mask[i]);
                text_ok && show_ok && cell_ok && subset_ok
            })
            .collect();
        let sort = self.sort;
        order.sort_by(|&a, &b| {
            let (sa, sb) = (&dataset.samples[a].meta, &dataset.samples[b].meta);
            let (ra, rb) = (&joined.rows[a], &joined.rows[b]);
            let ord = match sort {
                SortKey::Index => a.cmp(&b),
                SortKey::Class => class_name(sa.label).cmp(class_name(sb.label)),
                SortKey::Subject => sa.subject.cmp(&sb.subject),
                SortKey::View => sa.camera.cmp(&sb.camera),
                SortKey::Split => ra.unseen.cmp(&rb.unseen),
                SortKey::Predicted => ra
                    .predicted
                    .map(class_name)
                    .cmp(&rb.predicted.map(class_name)),
                SortKey::Margin => match (ra.margin, rb.margin) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                },
                SortKey::Correct => ra.correct.cmp(&rb.correct),
                SortKey::PredictedB => ra
                    .predicted_b
                    .map(class_name)
                    .cmp(&rb.predicted_b.map(class_name)),
            };
            ord.then(a.cmp(&b))
        });
        if self.descending {
            order.reverse();
        }
        self.order = order;
        self.key = Some(key);
    }
}

pub fn browser_ui(
    ui: &mut egui::Ui,
    state: &mut BrowserState,
    dataset: &Dataset,
    joined: &Joined,
    selected: Option<usize>,
    palette: &Palette,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("class name or sample id")
                .desired_width(170.0),
        )
        .labelled_by(label.id);
        egui::ComboBox::from_id_salt("show")
            .selected_text(state.show.label())
            .show_ui(ui, |ui| {
                let compared = joined.rows.iter().any(|r| r.predicted_b.is_some());
                for s in Show::ALL {
                    if s == Show::Disagree && !compared {
                        continue;
                    }
                    let r = ui.selectable_value(&mut state.show, s, s.label());
                    if s == Show::Disagree {
                        r.on_hover_text(
                            "The samples where the compared run B predicts another class than A",
                        );
                    }
                }
            })
            .response
            // Named for screen readers (and the kittest accessibility check) without a label on screen.
            .accessible_name("Show samples");
    });
    if let Some((truth, pred, setting)) = state.cell {
        ui.horizontal(|ui| {
            let name = |c: usize| dataset.classes.get(c).cloned().unwrap_or_default();
            ui.label(format!(
                "{} cell: {} -> {}",
                match setting {
                    Setting::Zsl => "ZSL",
                    Setting::Gzsl => "GZSL",
                },
                name(truth),
                name(pred)
            ));
            if ui.button("Show all").clicked() {
                commands.push(Command::ClearCellFilter);
            }
        });
    }
    if let Some(set) = &state.subset {
        ui.horizontal(|ui| {
            ui.label(format!("t-SNE selection: {} samples", set.len()));
            if ui.button("Show all").clicked() {
                commands.push(Command::ClearCellFilter);
            }
        });
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "{} of {} samples",
            state.order.len(),
            dataset.samples.len()
        ));
        // The *Predicted* column may be too narrow for its ZSL:/GZSL: prefix: the rule is stated once here.
        if joined.rows.iter().any(|r| r.unseen.is_some()) {
            ui.weak("· Predicted: ZSL for unseen-class rows, GZSL for seen-class rows");
        }
    });
    ui.separator();

    table_ui(ui, state, dataset, joined, selected, palette, commands);
}

fn header_tip(key: SortKey, name: &str) -> String {
    match key {
        SortKey::Predicted => "The prediction: ZSL (among unseen classes) for an unseen-class sample, GZSL (all \
                               classes, gamma subtracted from seen-class scores) for a seen-class one"
            .to_owned(),
        SortKey::PredictedB => "The compared run B's prediction, in the row's setting (as Predicted): green when \
                                right"
            .to_owned(),
        SortKey::Margin => "True-class score minus the best other class's, in the row's setting (ZSL for an \
                            unseen-class sample, GZSL for a seen-class one): negative when wrong, near 0 when close"
            .to_owned(),
        _ => format!("Sort by {name}"),
    }
}

/// The header (sort buttons, dividers to drag) and the rows.
fn table_ui(
    ui: &mut egui::Ui,
    state: &mut BrowserState,
    dataset: &Dataset,
    joined: &Joined,
    selected: Option<usize>,
    palette: &Palette,
    commands: &mut Vec<Command>,
) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 2.0;
    ui.spacing_mut().item_spacing.x = 6.0;
    let gap = ui.spacing().item_spacing.x;
    // Columns with nothing to show (no subject or view in this dataset, no run) are left out.
    let any = |f: &dyn Fn(&crate::dataset::SampleMeta) -> bool| {
        dataset.samples.iter().any(|s| f(&s.meta))
    };
    let scored = joined.rows.iter().any(|r| r.unseen.is_some());
    let compared = joined.rows.iter().any(|r| r.predicted_b.is_some());
    // With run B, both predictions are coloured right/wrong, so *Right* gives its room to them.
    let shown = [
        true,
        true,
        any(&|m| m.subject.is_some()),
        any(&|m| m.camera.is_some()),
        scored,
        scored,
        scored,
        scored && !compared,
        compared,
    ];
    let last = shown.iter().rposition(|&on| on).unwrap_or(0);
    let columns = shown.iter().filter(|&&on| on).count();
    let room = ui.available_width() - gap * columns.saturating_sub(1) as f32 - 14.0;
    let font = egui::TextStyle::Body.resolve(ui.style());
    let inner = ui.spacing().button_padding.x * 2.0;
    // The widest id after the shared prefix, measured on a few rows (ids of a dataset have one pattern).
    let id_min = ui.ctx().fonts_mut(|f| {
        dataset
            .samples
            .iter()
            .take(64)
            .map(|s| {
                s.meta
                    .id
                    .chars()
                    .skip(state.id_prefix)
                    .chain(std::iter::once('…'))
                    .map(|c| f.glyph_width(&font, c))
                    .sum::<f32>()
            })
            .fold(0.0f32, f32::max)
    });
    let widths = state
        .widths
        .fit(room, shown, (id_min + inner + 4.0).clamp(60.0, 160.0));
    ui.horizontal(|ui| {
        for (i, ((name, key, _, _), width)) in COLUMNS.into_iter().zip(widths).enumerate() {
            if !shown[i] {
                continue;
            }
            let arrow = match (state.sort == key, state.descending) {
                (true, false) => " ^",
                (true, true) => " v",
                _ => "",
            };
            let button = ui
                .add_sized(
                    [width, row_height],
                    egui::Button::new(format!("{name}{arrow}")).frame(false),
                )
                .on_hover_text(header_tip(key, name));
            if button.clicked() {
                if state.sort == key {
                    state.descending = !state.descending;
                } else {
                    state.sort = key;
                    state.descending = false;
                }
            }
            if i < last {
                // The divider after this column: dragging it resizes the column.
                let x = button.rect.right() + gap / 2.0;
                let handle = egui::Rect::from_x_y_ranges(x - 3.0..=x + 3.0, button.rect.y_range());
                let drag = ui
                    .interact(
                        handle,
                        ui.scope_id().with(("column divider", i)),
                        egui::Sense::drag(),
                    )
                    .on_hover_cursor(egui::CursorIcon::ResizeColumn);
                let stroke = if drag.hovered() || drag.dragged() {
                    ui.visuals().widgets.hovered.fg_stroke
                } else {
                    ui.visuals().widgets.noninteractive.bg_stroke
                };
                ui.painter().vline(x, button.rect.y_range(), stroke);
                if drag.dragged() {
                    let w = &mut state.widths.0[i];
                    *w = (*w + drag.drag_delta().x).clamp(24.0, 600.0);
                }
            }
        }
    });
    let class_name = |c: usize| dataset.classes.get(c).map(String::as_str).unwrap_or("?");
    let mut scroll = egui::ScrollArea::vertical().auto_shrink([false, false]);
    if selected != state.scrolled_for {
        state.scrolled_for = selected;
        if let Some(pos) = selected.and_then(|s| state.order.iter().position(|&i| i == s))
            && !(state.visible.start < pos && pos + 1 < state.visible.end)
        {
            // Into the middle of the list, e.g. after a confusion-cell click or a click in the t-SNE map.
            let step = row_height + ui.spacing().item_spacing.y;
            let shown = (state.visible.len().max(1)) as f32;
            scroll = scroll.vertical_scroll_offset((pos as f32 - shown / 2.0).max(0.0) * step);
        }
    }
    let output = scroll.show_rows(ui, row_height, state.order.len(), |ui, range| {
        for &i in &state.order[range.clone()] {
            let s = &dataset.samples[i];
            let r = &joined.rows[i];
            ui.horizontal(|ui| {
                let [w0, w1, w2, w3, w4, w5, w6, w7, w8] = widths;
                let id = super::elide::elide(ui, &s.meta.id, &font, w0 - inner, state.id_prefix);
                let response = ui
                    .add_sized(
                        [w0, row_height],
                        egui::Button::selectable(selected == Some(i), id).truncate(),
                    )
                    .on_hover_text(&s.meta.id);
                if response.clicked() {
                    commands.push(Command::SelectSample(i));
                }
                let cell = |ui: &mut egui::Ui, w: f32, text: egui::RichText, full: Option<&str>| {
                    if w <= 0.0 {
                        return;
                    }
                    let r = ui.add_sized([w, row_height], egui::Label::new(text).truncate());
                    if let Some(full) = full {
                        r.on_hover_text(full);
                    }
                };
                let name = |ui: &egui::Ui, c: usize, w: f32, prefix: &str| {
                    let full = format!("{prefix}{}", class_name(c));
                    let short = super::elide::elide(ui, class_name(c), &font, w - 4.0, 0);
                    (format!("{prefix}{short}"), full)
                };
                let (short, full) = name(ui, s.meta.label, w1, "");
                cell(ui, w1, short.into(), Some(&full));
                let opt = |v: Option<u32>| v.map_or_else(|| "–".to_owned(), |v| v.to_string());
                cell(ui, w2, opt(s.meta.subject).into(), None);
                cell(ui, w3, opt(s.meta.camera).into(), None);
                let split = match r.unseen {
                    Some(true) => egui::RichText::new("unseen").color(palette.unseen),
                    Some(false) => egui::RichText::new("seen").color(palette.seen),
                    None => "–".into(),
                };
                cell(ui, w4, split, None);
                // Says which setting predicted: ZSL for an unseen-class sample, GZSL for a seen-class one; in a
                // narrow column the class name keeps the room (the *Split* column and the hover say the setting).
                let prefix = match r.unseen {
                    _ if w5 < 120.0 => "",
                    Some(true) => "ZSL: ",
                    _ => "GZSL: ",
                };
                let setting = if r.unseen == Some(true) {
                    "ZSL"
                } else {
                    "GZSL"
                };
                let prefix_w = ui
                    .ctx()
                    .fonts_mut(|f| prefix.chars().map(|c| f.glyph_width(&font, c)).sum::<f32>());
                let right_or_wrong = |c: usize| {
                    if c == s.meta.label {
                        palette.correct
                    } else {
                        palette.incorrect
                    }
                };
                match r.predicted {
                    Some(c) => {
                        let (short, _) = name(ui, c, w5 - prefix_w, prefix);
                        let text = egui::RichText::new(short);
                        // Coloured when *Right* is not shown (beside run B's column).
                        let text = if shown[7] {
                            text
                        } else {
                            text.color(right_or_wrong(c))
                        };
                        cell(ui, w5, text, Some(&format!("{setting}: {}", class_name(c))));
                    }
                    None => cell(ui, w5, "–".into(), None),
                }
                let margin = match r.margin {
                    Some(m) => egui::RichText::new(format!("{m:+.2}")).color(if m > 0.0 {
                        palette.correct
                    } else {
                        palette.incorrect
                    }),
                    None => "–".into(),
                };
                cell(ui, w6, margin, None);
                let mark = match r.correct {
                    Some(true) => egui::RichText::new("yes").color(palette.correct),
                    Some(false) => egui::RichText::new("no").color(palette.incorrect),
                    None => "".into(),
                };
                cell(ui, w7, mark, None);
                if let Some(c) = r.predicted_b {
                    let b_prefix = if w8 < 120.0 { "" } else { prefix };
                    let b_prefix_w = if b_prefix.is_empty() { 0.0 } else { prefix_w };
                    let (short, _) = name(ui, c, w8 - b_prefix_w, b_prefix);
                    cell(
                        ui,
                        w8,
                        egui::RichText::new(short).color(right_or_wrong(c)),
                        Some(&format!("Run B: {setting}: {}", class_name(c))),
                    );
                } else {
                    cell(ui, w8, "–".into(), None);
                }
            });
        }
        range
    });
    state.visible = output.inner;
}

mod search;
#[cfg(test)]
mod tests;
