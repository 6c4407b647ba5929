//! Research views in the dock: per-class accuracy bars (ZSL or GZSL, on the run's test split; a click lists the
//! class's samples in the browser) and the nearest samples of the selected one in the run's feature space (a click
//! plays one). The figures come from [`crate::pipeline::research`]; they are cached per scores (`key`), so an open
//! tab costs a frame nothing but drawing.

use super::browser::Joined;
use super::command::Command;
use super::palette::Palette;
use crate::dataset::Dataset;
use crate::pipeline::predictions::{Predictions, Setting};
use crate::pipeline::research::{self, ClassAccuracy, setting_name};

/// The nearest samples of one prediction row, for one version of the scores: (key, row, [(row, cosine)]).
type Neighbours = (u64, usize, Vec<(usize, f32)>);

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
}

impl ResearchViews {
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
                let name_w = (width * 0.35).clamp(90.0, 260.0);
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
            "The {NEIGHBOURS} samples nearest to {} by cosine similarity, among the {} samples that have features in \
             this session: the samples this run scored (its test split), in {space}.",
            p.sample_ids[row],
            p.num_samples()
        ));
        let names = cx.names;
        let list = self.nearest(p, cx.key, row).to_vec();
        // Prediction row -> dataset sample, for the rows listed.
        let sample_of = |r: usize| {
            let d = cx.dataset?;
            let id = p.sample_ids.get(r)?;
            d.samples.iter().position(|s| &s.meta.id == id)
        };
        egui::ScrollArea::vertical()
            .id_salt("neighbours")
            .auto_shrink([false, false])
            .show(ui, |ui| {
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
}
