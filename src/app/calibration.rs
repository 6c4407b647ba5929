//! GZSL calibration: seen (S), unseen (U) and harmonic (H) accuracy against the calibrated-stacking gamma, from
//! the stored scores, with a slider that sets the run's gamma (predictions and the matrix follow).

use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use super::command::Command;
use super::palette::Palette;
use crate::pipeline::predictions::Predictions;

/// One sample's GZSL standing independent of gamma: whether its best class on its own side is right, and how far
/// its best seen score is above its best unseen score (it is predicted seen exactly when `margin > gamma`).
struct Standing {
    unseen: bool,
    side_right: bool,
    margin: f32,
}

/// S, U and H at each gamma, exact for these scores (ties between a seen and an unseen class aside).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    pub gammas: Vec<f32>,
    pub seen: Vec<f32>,
    pub unseen: Vec<f32>,
    pub harmonic: Vec<f32>,
}

fn standings(p: &Predictions) -> Vec<Standing> {
    (0..p.num_samples())
        .filter_map(|i| {
            let label = p.labels[i];
            let unseen = p.class_unseen(label)?;
            let (mut best_seen, mut best_unseen) = ((f32::NEG_INFINITY, 0), (f32::NEG_INFINITY, 0));
            for (col, &s) in p.row(i).iter().enumerate() {
                let best = if p.unseen[col] {
                    &mut best_unseen
                } else {
                    &mut best_seen
                };
                if s > best.0 {
                    *best = (s, p.classes[col]);
                }
            }
            let side = if unseen { best_unseen } else { best_seen };
            Some(Standing {
                unseen,
                side_right: side.0.is_finite() && side.1 == label,
                margin: best_seen.0 - best_unseen.0,
            })
        })
        .collect()
}

/// The curve over `points` gammas spanning every sample's margin (so S runs from its maximum to 0).
pub fn gzsl_curve(p: &Predictions, points: usize) -> Curve {
    let st = standings(p);
    let finite = st.iter().map(|s| s.margin).filter(|m| m.is_finite());
    let (lo, hi) = finite.fold((p.gamma, p.gamma), |(lo, hi), m| (lo.min(m), hi.max(m)));
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let (lo, hi) = (lo - pad, hi + pad);
    let seen_n = st.iter().filter(|s| !s.unseen).count().max(1) as f32;
    let unseen_n = st.iter().filter(|s| s.unseen).count().max(1) as f32;
    let mut curve = Curve::default();
    let points = points.max(2);
    for k in 0..points {
        let g = lo + (hi - lo) * k as f32 / (points - 1) as f32;
        let s = st
            .iter()
            .filter(|x| !x.unseen && x.side_right && x.margin > g)
            .count() as f32
            / seen_n;
        let u = st
            .iter()
            .filter(|x| x.unseen && x.side_right && x.margin <= g)
            .count() as f32
            / unseen_n;
        curve.gammas.push(g);
        curve.seen.push(s);
        curve.unseen.push(u);
        curve.harmonic.push(if s + u > 0.0 {
            2.0 * s * u / (s + u)
        } else {
            0.0
        });
    }
    curve
}

/// The gamma of the best H on the curve.
pub fn best_gamma(curve: &Curve) -> Option<f32> {
    curve
        .harmonic
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| curve.gammas[i])
}

/// Cached curve, recomputed when the scores change.
#[derive(Default)]
pub struct CalibrationView {
    pub open: bool,
    curve: Option<(u64, Curve)>,
}

impl CalibrationView {
    /// `generation` changes with the scores; gamma alone does not move the curve.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        p: &Predictions,
        opened_gamma: f32,
        scores_key: u64,
        palette: &Palette,
        commands: &mut Vec<Command>,
    ) {
        ui.scope(|ui| {
                if self.curve.as_ref().is_none_or(|c| c.0 != scores_key) {
                    self.curve = Some((scores_key, gzsl_curve(p, 241)));
                }
                let Some((_, curve)) = &self.curve else {
                    return;
                };
                let (lo, hi) = (
                    curve.gammas.first().copied().unwrap_or(-1.0),
                    curve.gammas.last().copied().unwrap_or(1.0),
                );
                let m = p.metrics();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "Computed on the test split ({} seen-class and {} unseen-class samples): for inspection, not \
                         for choosing gamma (that would tune on the unseen test classes).",
                        m.seen_samples, m.unseen_samples
                    ),
                );
                ui.label(format!(
                    "The run's gamma {opened_gamma:.3} was chosen on the seen-class validation split; that is the one to report."
                ));
                if p.gamma != opened_gamma {
                    // Say what a moved gamma is: `--dump-state` records it as source "user", basis "test".
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!(
                            "Gamma in use {:.3} is your choice, made looking at test-split curves (source: user, \
                             basis: test); \"Run's (validation)\" restores the validation choice.",
                            p.gamma
                        ),
                    );
                }
                let mut gamma = p.gamma;
                ui.horizontal(|ui| {
                    let slider = egui::Slider::new(&mut gamma, lo..=hi)
                        .text("gamma")
                        .fixed_decimals(3);
                    // Only the user moves gamma: the slider also reports a change when it merely rounds (3
                    // decimals) or clamps the run's own value, which would pass it off as a user's choice.
                    let shown = p.gamma.clamp(lo, hi);
                    let moved = |g: f32| (g - shown).abs() > 6e-4;
                    if ui.add(slider).changed() && moved(gamma) {
                        commands.push(Command::SetGamma(gamma));
                    }
                    if ui.button("Run's (validation)").clicked() {
                        commands.push(Command::SetGamma(opened_gamma));
                    }
                    if ui
                        .button("Best test H")
                        .on_hover_text("The gamma with the best harmonic mean on the test split: an oracle, not a result")
                        .clicked()
                        && let Some(g) = best_gamma(curve)
                    {
                        commands.push(Command::SetGamma(g));
                    }
                    if ui.button("Zero").clicked() {
                        commands.push(Command::SetGamma(0.0));
                    }
                });
                let series = |values: &[f32]| -> PlotPoints<'static> {
                    curve
                        .gammas
                        .iter()
                        .zip(values)
                        .map(|(&g, &v)| [f64::from(g), 100.0 * f64::from(v)])
                        .collect()
                };
                Plot::new("gzsl curve")
                    .legend(Legend::default())
                    .x_axis_label("gamma (subtracted from seen-class scores)")
                    .y_axis_label("accuracy % (test split)")
                    .include_y(0.0)
                    .include_y(100.0)
                    .allow_scroll(false)
                    .show(ui, |plot| {
                        plot.line(Line::new("test S (seen)", series(&curve.seen)).color(palette.seen));
                        plot.line(
                            Line::new("test U (unseen)", series(&curve.unseen)).color(palette.unseen),
                        );
                        plot.line(
                            Line::new("test H (harmonic)", series(&curve.harmonic))
                                .color(palette.truth_highlight),
                        );
                        plot.vline(
                            VLine::new("gamma in use", f64::from(p.gamma)).color(palette.incorrect),
                        );
                        plot.vline(
                            VLine::new("run's gamma (validation)", f64::from(opened_gamma))
                                .color(palette.seen),
                        );
                    });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_matches_metrics_at_the_chosen_gamma() {
        let d = crate::pipeline::fixture::fixture_dataset();
        let mut p = crate::pipeline::fixture::fixture_predictions(&d);
        for gamma in [-0.6f32, -0.1, 0.0, 0.25, 0.7] {
            p.gamma = gamma;
            let m = p.metrics();
            let curve = gzsl_curve(&p, 3);
            // The curve's middle point is not gamma itself; evaluate at gamma through a one-point span.
            let st = standings(&p);
            let s = st
                .iter()
                .filter(|x| !x.unseen && x.side_right && x.margin > gamma)
                .count() as f32
                / m.seen_samples as f32;
            assert!((s - m.seen_accuracy).abs() < 1e-6, "gamma {gamma}");
            assert_eq!(curve.gammas.len(), 3);
            // Over the full span, S falls to 0 and U rises from 0.
            assert_eq!(*curve.seen.last().unwrap(), 0.0);
            assert_eq!(curve.unseen[0], 0.0);
        }
    }
}
