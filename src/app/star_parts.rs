//! STAR's part scores for the selected sample, painted on the bones and joints of the player with a colour map and
//! a legend; switching the class shows which body parts support each. InfoCPL's per-branch scores of the top
//! classes sit in a second window.

use super::palette::Palette;
use crate::pipeline::analysis::PartScores;
use crate::pipeline::predictions::{Predictions, Setting};

#[derive(Default)]
pub struct StarView {
    pub open: bool,
    /// The class (dataset index) whose part scores are shown; `None` follows the prediction.
    pub class: Option<usize>,
    pub paint: bool,
}

/// The class a sample is scored in by default: its prediction in the setting it belongs to.
fn default_class(p: &Predictions, row: usize) -> Option<usize> {
    let setting = if p.class_unseen(p.labels[row]) == Some(true) {
        Setting::Zsl
    } else {
        Setting::Gzsl
    };
    p.predicted(row, setting)
}

/// Where `s` lies in `lo..=hi`, 0..=1.
fn scaled(s: f32, (lo, hi): (f32, f32)) -> f32 {
    if hi > lo {
        ((s - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// A bar coloured and filled by `s` on the colour map over `range`, then the value.
fn heat_bar_ui(ui: &mut egui::Ui, s: f32, range: (f32, f32), width: f32, palette: &Palette) {
    let t = scaled(s, range);
    ui.add(
        egui::ProgressBar::new(t)
            .fill(palette.heat(t))
            .desired_width(width)
            .desired_height(10.0),
    );
    ui.label(format!("{s:.3}"));
}

/// Per-joint colours (NTU25) for part scores `scores` on the colour map over `range`; joints of no part keep
/// `None`.
pub fn joint_colors_from_parts(
    star: &PartScores,
    scores: &[f32],
    range: (f32, f32),
    joints: usize,
    palette: &Palette,
) -> Vec<Option<egui::Color32>> {
    let mut colors = vec![None; joints];
    for (part, members) in star.joints.iter().enumerate() {
        let t = scaled(scores.get(part).copied().unwrap_or(0.0), range);
        for &j in members {
            if let Some(c) = colors.get_mut(j) {
                *c = Some(palette.heat(t));
            }
        }
    }
    colors
}

impl StarView {
    /// Draws the view (in its dock tab); returns the joint colours to paint (None: paint nothing).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        p: &Predictions,
        names: &[String],
        row: Option<usize>,
        layout_joints: usize,
        palette: &Palette,
    ) -> Option<Vec<egui::Color32>> {
        let paint = self.contents_ui(ui, p, names, row, layout_joints, palette);
        paint.filter(|_| self.open && self.paint)
    }

    fn contents_ui(
        &mut self,
        ui: &mut egui::Ui,
        p: &Predictions,
        names: &[String],
        row: Option<usize>,
        layout_joints: usize,
        palette: &Palette,
    ) -> Option<Vec<egui::Color32>> {
        let Some(star) = &p.star else {
            ui.weak("This run has no STAR part scores.");
            return None;
        };
        let Some(row) = row else {
            ui.weak("Select a sample scored by this run.");
            return None;
        };
        let name = |c: usize| p.class_name(c, names);
        let class = self
            .class
            .filter(|c| p.classes.contains(c))
            .or_else(|| default_class(p, row))?;
        let col = p.classes.iter().position(|&k| k == class)?;
        ui.horizontal(|ui| {
            ui.label("Class");
            egui::ComboBox::from_id_salt("star class")
                .selected_text(name(class))
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(self.class.is_none(), "the prediction")
                        .clicked()
                    {
                        self.class = None;
                    }
                    for (rank, (k, s)) in p
                        .top_k(row, p.num_classes(), Setting::Gzsl)
                        .into_iter()
                        .enumerate()
                    {
                        let text = format!("{}. {} ({s:.3})", rank + 1, name(k));
                        if ui.selectable_label(self.class == Some(k), text).clicked() {
                            self.class = Some(k);
                        }
                    }
                });
        });
        ui.label(format!("truth: {}", name(p.labels[row])));
        let c = p.num_classes();
        let scores = star.of(row, col, c);
        // One scale for every class of this sample, so switching class compares like with like. STAR's part
        // contributions can be negative; the scale starts at 0 or below.
        let range = (0..c)
            .flat_map(|k| star.of(row, k, c).iter().copied())
            .fold((0.0f32, 0.0f32), |(lo, hi), v| (lo.min(v), hi.max(v)));
        egui::Grid::new("star parts").num_columns(3).show(ui, |ui| {
            for (part, &s) in star.parts.iter().zip(scores) {
                ui.label(part);
                heat_bar_ui(ui, s, range, 120.0, palette);
                ui.end_row();
            }
        });
        legend_ui(ui, range, palette);
        // Say what each number sums to: the bars are raw part contributions, the class list is calibrated.
        ui.weak(format!(
            "Part bars sum to {:.3}; the class's raw score is {:.3} (no gamma). The class list ranks GZSL scores: gamma \
             {:.3} subtracted from seen classes.",
            scores.iter().sum::<f32>(),
            p.row(row)[col],
            p.gamma
        ));
        ui.checkbox(&mut self.paint, "Paint on the skeleton");
        if layout_joints != 25 {
            ui.weak("Part joints are NTU25: tick Preprocessed (P) under the player to paint them on this layout.");
            return None;
        }
        let colors = joint_colors_from_parts(star, scores, range, layout_joints, palette);
        Some(
            colors
                .into_iter()
                .map(|c| c.unwrap_or(palette.seen))
                .collect(),
        )
    }
}

/// A horizontal colour-map strip over `range`.
fn legend_ui(ui: &mut egui::Ui, (lo, hi): (f32, f32), palette: &Palette) {
    ui.horizontal(|ui| {
        ui.label(format!("{lo:.3}"));
        let (rect, _) = ui.allocate_exact_size(egui::vec2(150.0, 12.0), egui::Sense::hover());
        let steps = 30;
        for i in 0..steps {
            let x0 = rect.left() + rect.width() * i as f32 / steps as f32;
            let x1 = rect.left() + rect.width() * (i + 1) as f32 / steps as f32;
            ui.painter().rect_filled(
                egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
                0.0,
                palette.heat((i as f32 + 0.5) / steps as f32),
            );
        }
        ui.label(format!("{hi:.3}"));
    });
}

#[derive(Default)]
pub struct BranchView {
    pub open: bool,
    /// The branch-set editor under the table.
    pub editor: super::branch_editor::BranchEditor,
}

impl BranchView {
    /// The view (in its dock tab); returns a job the user cancelled.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        p: &Predictions,
        names: &[String],
        row: Option<usize>,
        palette: &Palette,
        workers: &super::workers::Workers,
    ) -> Option<u64> {
        let mut cancel = None;
        ui.scope(|ui| {
            let Some(b) = &p.infocpl else {
                ui.weak("This run has no InfoCPL branch scores.");
                return;
            };
            branch_table_ui(ui, p, b, names, row, palette);
            cancel = self.editor.ui(ui, workers, p, palette);
        });
        cancel
    }
}

/// Each branch's score for the selected sample's top classes.
fn branch_table_ui(
    ui: &mut egui::Ui,
    p: &Predictions,
    b: &crate::pipeline::analysis::BranchScores,
    names: &[String],
    row: Option<usize>,
    palette: &Palette,
) {
    let Some(row) = row else {
        ui.weak("Select a sample scored by this run.");
        return;
    };
    let name = |c: usize| p.class_name(c, names);
    let setting = if p.class_unseen(p.labels[row]) == Some(true) {
        Setting::Zsl
    } else {
        Setting::Gzsl
    };
    let top = p.top_k(row, 5, setting);
    let c = p.num_classes();
    let cols: Vec<usize> = top
        .iter()
        .filter_map(|&(k, _)| p.classes.iter().position(|&x| x == k))
        .collect();
    let ranges = branch_ranges(b, row, &cols, c);
    ui.label(format!("Top {} classes of the run, per branch", top.len()));
    egui::Grid::new("branches")
        .num_columns(b.branches.len() + 1)
        .striped(true)
        .show(ui, |ui| {
            ui.strong("class");
            for br in &b.branches {
                ui.strong(br);
            }
            ui.end_row();
            for &(k, _) in &top {
                let Some(col) = p.classes.iter().position(|&x| x == k) else {
                    continue;
                };
                let text = egui::RichText::new(name(k));
                ui.label(if k == p.labels[row] {
                    text.color(palette.truth_highlight).strong()
                } else {
                    text
                });
                for (&s, &range) in b.of(row, col, c).iter().zip(&ranges) {
                    ui.horizontal(|ui| heat_bar_ui(ui, s, range, 50.0, palette));
                }
                ui.end_row();
            }
        });
    ui.weak(
        "Each branch's column is coloured on its own range (the branches score on different scales), so the colours \
         show each branch's ranking of these classes; compare branches by the numbers.",
    );
}

/// Each branch's score range over the classes `cols` of prediction row `row` (its own colour scale).
pub fn branch_ranges(
    b: &crate::pipeline::analysis::BranchScores,
    row: usize,
    cols: &[usize],
    num_classes: usize,
) -> Vec<(f32, f32)> {
    (0..b.branches.len())
        .map(|bi| {
            cols.iter()
                .map(|&col| b.of(row, col, num_classes)[bi])
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_branch_is_coloured_on_its_own_range() {
        // 1 sample, 3 classes, 2 branches: branch 0 scores near 0, branch 1 near -5.
        let b = crate::pipeline::analysis::BranchScores {
            branches: vec!["top-1".into(), "top-5".into()],
            scores: vec![0.1, -5.0, 0.3, -4.0, 0.2, -6.0],
        };
        let r = branch_ranges(&b, 0, &[0, 1, 2], 3);
        assert_eq!(r, [(0.1, 0.3), (-6.0, -4.0)]);
        // Each branch's best class is at the top of its own scale.
        assert_eq!(scaled(0.3, r[0]), 1.0);
        assert_eq!(scaled(-4.0, r[1]), 1.0);
        // Only the listed classes set the range.
        assert_eq!(branch_ranges(&b, 0, &[0, 2], 3), [(0.1, 0.2), (-6.0, -5.0)]);
    }

    #[test]
    fn part_colours_follow_the_scores() {
        let star = PartScores {
            parts: vec!["upper".into(), "lower".into()],
            joints: vec![vec![0, 1], vec![2, 30]],
            scores: vec![1.0, 0.0],
        };
        let palette = Palette::for_theme(super::super::palette::Theme::Dark);
        let c = joint_colors_from_parts(&star, &[1.0, 0.0], (0.0, 1.0), 4, &palette);
        // Negative contributions sit at the bottom of a range that reaches below 0.
        let neg = joint_colors_from_parts(&star, &[0.5, -0.5], (-0.5, 0.5), 4, &palette);
        assert_eq!(neg[0], Some(palette.heat(1.0)));
        assert_eq!(neg[2], Some(palette.heat(0.0)));
        assert_eq!(c[0], Some(palette.heat(1.0)));
        assert_eq!(c[2], Some(palette.heat(0.0)));
        assert_ne!(c[0], c[2]);
        assert_eq!(c[3], None);
    }
}
