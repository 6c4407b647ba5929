//! The sample browser: one row per sample with class, subject/view, split, prediction and correctness;
//! filter, sort, search by class name, and the samples of a confusion-matrix cell.

use crate::dataset::Dataset;

use super::command::Command;
use super::palette::Palette;
use crate::pipeline::predictions::{Predictions, Setting};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Index,
    Class,
    Subject,
    View,
    Split,
    Predicted,
    Correct,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Show {
    #[default]
    All,
    Seen,
    Unseen,
    Correct,
    Incorrect,
}

impl Show {
    const ALL: [Self; 5] = [
        Self::All,
        Self::Seen,
        Self::Unseen,
        Self::Correct,
        Self::Incorrect,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Seen => "Seen",
            Self::Unseen => "Unseen",
            Self::Correct => "Correct",
            Self::Incorrect => "Incorrect",
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
}

/// Dataset sample index -> prediction row, plus each sample's derived columns.
#[derive(Default)]
pub struct Joined {
    pub pred_row: Vec<Option<usize>>,
    pub rows: Vec<RowInfo>,
}

impl Joined {
    pub fn new(dataset: &Dataset, predictions: Option<&Predictions>) -> Self {
        let index: std::collections::HashMap<&str, usize> = predictions
            .map(|p| {
                p.sample_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id.as_str(), i))
                    .collect()
            })
            .unwrap_or_default();
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
                    };
                };
                let unseen = p.class_unseen(s.meta.label);
                let setting = if unseen == Some(true) {
                    Setting::Zsl
                } else {
                    Setting::Gzsl
                };
                let predicted = row.and_then(|r| p.predicted(r, setting));
                RowInfo {
                    unseen,
                    predicted,
                    correct: predicted.map(|c| c == s.meta.label),
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
}

impl BrowserState {
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
        let needle = self.search.trim().to_lowercase();
        let class_name = |c: usize| dataset.classes.get(c).map(String::as_str).unwrap_or("?");
        let mut order: Vec<usize> = (0..dataset.samples.len())
            .filter(|&i| {
                let s = &dataset.samples[i];
                let r = &joined.rows[i];
                let text_ok = needle.is_empty()
                    || class_name(s.meta.label).to_lowercase().contains(&needle)
                    || s.meta.id.to_lowercase().contains(&needle);
                let show_ok = match self.show {
                    Show::All => true,
                    Show::Seen => r.unseen == Some(false),
                    Show::Unseen => r.unseen == Some(true),
                    Show::Correct => r.correct == Some(true),
                    Show::Incorrect => r.correct == Some(false),
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
                let subset_ok = self.subset.as_ref().is_none_or(|set| set.contains(&i));
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
                SortKey::Correct => ra.correct.cmp(&rb.correct),
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

const COLUMNS: [(&str, SortKey, f32); 7] = [
    ("Sample", SortKey::Index, 120.0),
    ("Class", SortKey::Class, 85.0),
    ("Subj", SortKey::Subject, 32.0),
    ("View", SortKey::View, 32.0),
    ("Split", SortKey::Split, 50.0),
    ("Predicted", SortKey::Predicted, 110.0),
    ("Right", SortKey::Correct, 36.0),
];

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
                for s in Show::ALL {
                    ui.selectable_value(&mut state.show, s, s.label());
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
    ui.label(format!(
        "{} of {} samples",
        state.order.len(),
        dataset.samples.len()
    ));
    ui.separator();

    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 2.0;
    // The sample id column takes the width the others leave (NTU ids are long).
    let spacing = ui.spacing().item_spacing.x * COLUMNS.len() as f32;
    let others: f32 = COLUMNS[1..].iter().map(|c| c.2).sum();
    let id_width = (ui.available_width() - others - spacing - 12.0).max(COLUMNS[0].2);
    let mut widths = COLUMNS.map(|c| c.2);
    widths[0] = id_width;
    ui.horizontal(|ui| {
        for ((name, key, _), width) in COLUMNS.into_iter().zip(widths) {
            let arrow = match (state.sort == key, state.descending) {
                (true, false) => " ^",
                (true, true) => " v",
                _ => "",
            };
            let clicked = ui
                .add_sized(
                    [width, row_height],
                    egui::Button::new(format!("{name}{arrow}")).frame(false),
                )
                .on_hover_text(if key == SortKey::Predicted {
                    "Sort by the prediction: ZSL (among unseen classes) for an unseen-class sample, GZSL (all \
                     classes, gamma subtracted from seen-class scores) for a seen-class one"
                        .to_owned()
                } else {
                    format!("Sort by {name}")
                })
                .clicked();
            if clicked {
                if state.sort == key {
                    state.descending = !state.descending;
                } else {
                    state.sort = key;
                    state.descending = false;
                }
            }
        }
    });
    let class_name = |c: usize| dataset.classes.get(c).map(String::as_str).unwrap_or("?");
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, state.order.len(), |ui, range| {
            for &i in &state.order[range] {
                let s = &dataset.samples[i];
                let r = &joined.rows[i];
                ui.horizontal(|ui| {
                    let [w0, w1, w2, w3, w4, w5, w6] = widths;
                    let response = ui.add_sized(
                        [w0, row_height],
                        egui::Button::selectable(selected == Some(i), s.meta.id.as_str())
                            .truncate(),
                    );
                    if response.clicked() {
                        commands.push(Command::SelectSample(i));
                    }
                    let cell = |ui: &mut egui::Ui, w: f32, text: egui::RichText| {
                        ui.add_sized([w, row_height], egui::Label::new(text).truncate());
                    };
                    cell(ui, w1, class_name(s.meta.label).into());
                    let opt = |v: Option<u32>| v.map_or_else(|| "–".to_owned(), |v| v.to_string());
                    cell(ui, w2, opt(s.meta.subject).into());
                    cell(ui, w3, opt(s.meta.camera).into());
                    let split = match r.unseen {
                        Some(true) => egui::RichText::new("unseen").color(palette.unseen),
                        Some(false) => egui::RichText::new("seen").color(palette.seen),
                        None => "–".into(),
                    };
                    cell(ui, w4, split);
                    // Says which setting predicted: ZSL for an unseen-class sample, GZSL for a seen-class one.
                    let predicted = match (r.predicted, r.unseen) {
                        (Some(c), Some(true)) => format!("ZSL: {}", class_name(c)),
                        (Some(c), _) => format!("GZSL: {}", class_name(c)),
                        (None, _) => "–".to_owned(),
                    };
                    cell(ui, w5, predicted.into());
                    let mark = match r.correct {
                        Some(true) => egui::RichText::new("yes").color(palette.correct),
                        Some(false) => egui::RichText::new("no").color(palette.incorrect),
                        None => "".into(),
                    };
                    cell(ui, w6, mark);
                });
            }
        });
}
