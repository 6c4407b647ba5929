//! GZSL calibration: seen (S), unseen (U) and harmonic (H) accuracy against the calibrated-stacking gamma, from
//! the stored scores, with a slider that sets the run's gamma (predictions and the matrix follow). The run's own
//! gamma and the seen-class validation figures it was chosen on come first (the figures to tune on); the curves are
//! on the test split and labelled so. A gamma can be saved with a run folder (`gamma.toml`, recorded with the figure
//! it was chosen on, see [`crate::experiment::saved_gamma`]). Beside it, the run's epoch choice against the curves
//! behind it: the seen-class validation folds that chose it, and the test curve that shows what it missed.

use std::path::{Path, PathBuf};

use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use super::command::Command;
use super::palette::Palette;
use crate::experiment::run::LoadedRun;
use crate::experiment::saved_gamma::SavedGamma;
use crate::experiment::select::Evaluation;
use crate::pipeline::predictions::Predictions;

/// What the run records about its gamma: where to save one, the validation choice and its figures, a saved gamma.
#[derive(Clone, Debug, Default)]
pub struct RunGamma {
    /// The run folder (`None` for the embedded demo, which cannot be saved into).
    pub dir: Option<PathBuf>,
    /// The gamma chosen on seen-class validation at training time (`config.toml`).
    pub validation_gamma: f32,
    /// The training-time evaluation (validation figures), when recorded.
    pub evaluation: Option<Evaluation>,
    /// A gamma saved with the run (`gamma.toml`).
    pub saved: Option<SavedGamma>,
}

impl RunGamma {
    /// From a run folder (or its `predictions.json`): `config.toml` and `gamma.toml`. `Ok(None)` when the path is
    /// not a trained run's folder (no `config.toml`).
    pub fn from_folder(path: &Path) -> Result<Option<Self>, String> {
        use crate::experiment::run::{CONFIG_FILE, config_from_toml};
        let dir = if path.extension().is_some_and(|e| e == "json") {
            path.parent().unwrap_or(Path::new("."))
        } else {
            path
        };
        let config_path = dir.join(CONFIG_FILE);
        let Ok(text) = std::fs::read_to_string(&config_path) else {
            return Ok(None);
        };
        let config = config_from_toml(&text, &config_path).map_err(|e| e.to_string())?;
        let saved = SavedGamma::load(dir).map_err(|e| e.to_string())?;
        Ok(Some(Self {
            dir: Some(dir.to_path_buf()),
            validation_gamma: config.gamma as f32,
            evaluation: config.evaluation,
            saved,
        }))
    }

    /// From a run loaded for live scoring (its gamma is the saved one when there is one). `folder`: whether it was
    /// loaded from a folder one can save into (not the embedded demo).
    pub fn from_run(run: &LoadedRun, folder: bool) -> Self {
        let validation = run
            .saved_gamma
            .as_ref()
            .map_or(run.config.gamma, |s| s.validation_gamma);
        Self {
            dir: folder.then(|| run.dir.clone()),
            validation_gamma: validation as f32,
            evaluation: run.config.evaluation.clone(),
            saved: run.saved_gamma.clone(),
        }
    }

    /// Whether `gamma` is the saved one (to the slider's precision).
    pub fn is_saved(&self, gamma: f32) -> bool {
        self.saved
            .as_ref()
            .is_some_and(|s| (s.gamma as f32 - gamma).abs() < 5e-4)
    }
}

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
    /// The shown run's gamma record (`None` while no run records one, e.g. a bare `predictions.json`).
    pub run: Option<RunGamma>,
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
                self.validation_ui(ui, p, opened_gamma, commands);
                if let Some(e) = self.run.as_ref().and_then(|r| r.evaluation.as_ref()) {
                    ui.separator();
                    epoch_selection_ui(ui, e, palette);
                }
                ui.separator();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "Curves below: test split ({} seen-class and {} unseen-class samples), for inspection, not \
                         for choosing gamma (that would tune on the unseen test classes).",
                        m.seen_samples, m.unseen_samples
                    ),
                );
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
                    if ui
                        .button("Run's (validation)")
                        .on_hover_text("The gamma chosen on seen-class validation at training time")
                        .clicked()
                    {
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

/// The run's epoch against the curves behind it: each fold's and the folds' mean validation ZSL (the mean chose the
/// epoch), and the final model's ZSL on the unseen test classes, drawn dashed and named as a diagnosis: it shows
/// whether the selection missed the test's best epoch, and choosing by it would tune on the test classes.
fn epoch_selection_ui(ui: &mut egui::Ui, e: &Evaluation, palette: &Palette) {
    if e.val_zsl_curve.is_empty() {
        ui.weak("Epoch curves: not recorded in this run (trained before skelzero kept them).");
        return;
    }
    egui::CollapsingHeader::new(egui::RichText::new("Epoch: chosen on seen-class validation").strong())
        .id_salt("epoch selection")
        .default_open(true)
        .show(ui, |ui| {
            ui.label(format!(
                "Epoch {} was chosen by the validation ZSL of {} pseudo-unseen folds ({:.1} %, their mean). Test ZSL \
                 at that epoch {:.1} %; the best test epoch gave {:.1} % (oracle, never used to choose).",
                e.epoch,
                e.val_folds.len().max(1),
                100.0 * e.val_zsl_top1,
                100.0 * e.zsl_top1,
                100.0 * e.oracle_zsl_top1,
            ));
            // A legend inside so small a plot would cover the curves.
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(palette.seen, "— validation, mean of folds (chooses)");
                ui.colored_label(palette.seen.gamma_multiply(0.6), "— each fold");
                ui.colored_label(palette.unseen, "- - test, unseen classes (diagnosis only)");
                ui.colored_label(palette.incorrect, "| chosen epoch");
            });
            let points = |values: &[f64]| -> PlotPoints<'static> {
                values
                    .iter()
                    .enumerate()
                    .map(|(epoch, &v)| [epoch as f64, 100.0 * v])
                    .collect()
            };
            Plot::new("epoch selection")
                .height(150.0)
                .x_axis_label("epoch")
                .y_axis_label("ZSL top-1 %")
                .include_y(0.0)
                .include_y(100.0)
                .allow_scroll(false)
                .show(ui, |plot| {
                    for (f, fold) in e.val_folds.iter().enumerate() {
                        plot.line(
                            Line::new(format!("validation fold {}", f + 1), points(&fold.zsl_curve))
                                .color(palette.seen.gamma_multiply(0.45))
                                .width(1.0),
                        );
                    }
                    plot.line(
                        Line::new("validation, mean of folds", points(&e.val_zsl_curve))
                            .color(palette.seen)
                            .width(2.0),
                    );
                    plot.line(
                        Line::new("test, unseen classes", points(&e.test_zsl_curve))
                            .color(palette.unseen)
                            .style(egui_plot::LineStyle::dashed_loose()),
                    );
                    plot.vline(
                        VLine::new("chosen epoch", e.epoch as f64).color(palette.incorrect),
                    );
                });
        });
}

impl CalibrationView {
    /// The validation side: the run's gamma and the seen-class validation figures it was chosen on (the ones to
    /// tune on), a saved gamma, and saving the gamma in use with the run.
    fn validation_ui(
        &self,
        ui: &mut egui::Ui,
        p: &Predictions,
        opened_gamma: f32,
        commands: &mut Vec<Command>,
    ) {
        ui.strong("Validation (seen classes): the figures to tune on");
        let validation_gamma = self
            .run
            .as_ref()
            .map_or(opened_gamma, |r| r.validation_gamma);
        match self.run.as_ref().and_then(|r| r.evaluation.as_ref()) {
            Some(e) => {
                let folds: Vec<String> = e
                    .val_folds
                    .iter()
                    .map(|f| format!("{:.3} (H {:.1} %)", f.gamma, 100.0 * f.gzsl_h))
                    .collect();
                ui.label(format!(
                    "The run's gamma {validation_gamma:.3} was chosen on seen-class validation: validation GZSL H \
                     {:.1} % (mean over {} pseudo-unseen folds, each at its best gamma{}).",
                    100.0 * e.val_gzsl_h,
                    e.val_folds.len().max(1),
                    e.gamma_in_spreads
                        .map_or(String::new(), |g| format!("; {g:.2} score spreads on average")),
                ));
                if !folds.is_empty() {
                    ui.weak(format!("Folds' best gammas: {}", folds.join(", ")))
                        .on_hover_text(
                            "Each fold's gamma is in its own model's score units; the run's gamma is their mean \
                             carried over in units of score spread",
                        );
                }
                ui.weak(
                    "No validation curve over gamma is stored (selection keeps each fold's best gamma and H), so \
                     only this choice is a validation figure.",
                );
            }
            None => {
                ui.label(format!(
                    "The run's gamma {validation_gamma:.3} was chosen on seen-class validation (the run records no \
                     validation figures here)."
                ));
            }
        }
        let Some(run) = &self.run else {
            return;
        };
        if let Some(saved) = &run.saved {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "Saved with the run: gamma {:.3}, chosen on {} (eval --json reports gamma_source \"user\", \
                     gamma_basis \"{}\").",
                    saved.gamma,
                    saved.chosen_on.name(),
                    saved.chosen_on.name()
                ),
            );
        }
        if run.dir.is_none() {
            return;
        }
        ui.horizontal(|ui| {
            let differs = (p.gamma - validation_gamma).abs() >= 5e-4;
            let can_save = differs && !run.is_saved(p.gamma);
            if ui
                .add_enabled(can_save, egui::Button::new("Save with the run"))
                .on_hover_text(
                    "Writes gamma.toml in the run folder: eval, predict and the explorer then score with this gamma, \
                     recorded as chosen on the test split",
                )
                .on_disabled_hover_text("Move gamma away from the run's (validation) gamma first")
                .clicked()
            {
                commands.push(Command::SaveGamma(true));
            }
            if run.saved.is_some()
                && ui
                    .button("Forget saved gamma")
                    .on_hover_text("Deletes gamma.toml: the run scores with its validation gamma again")
                    .clicked()
            {
                commands.push(Command::SaveGamma(false));
            }
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
