//! The InfoCPL branch window's ZSL-vs-k sweep: single-branch sets `top-k` on one trained branch's weights for every
//! k of the codebook, scored on a worker ([`crate::pipeline::branch_validation::sweep_job`]), plotted as two
//! labelled series: validation (the one to tune on) and the test split.

use egui_plot::{HLine, Legend, Line, Plot, PlotPoints, Points, VLine};

use super::palette::Palette;
use crate::pipeline::branch_validation::Sweep;

/// The sweep's state in the window.
#[derive(Default)]
pub struct SweepView {
    /// The trained branch whose weights the sweep uses.
    pub weights: usize,
    /// Set by the button; the editor's `update` starts the job.
    pub requested: bool,
    pub job: Option<u64>,
    pub result: Option<Sweep>,
    pub message: Option<String>,
}

/// The trained set's figures, drawn as horizontal lines.
pub struct TrainedMarks {
    pub validation: Option<f64>,
    pub test: Option<f64>,
}

impl SweepView {
    /// The controls and the plot; returns a job the user cancelled.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        trained: &[usize],
        progress: Option<f32>,
        marks: &TrainedMarks,
        palette: &Palette,
    ) -> Option<u64> {
        let mut cancel = None;
        let name = |b: usize| format!("branch {b} (top-{})", trained.get(b).copied().unwrap_or(0));
        ui.horizontal(|ui| {
            ui.label("Single-branch sets top-k on the weights of");
            self.weights = self.weights.min(trained.len().saturating_sub(1));
            egui::ComboBox::from_id_salt("sweep weights")
                .selected_text(name(self.weights))
                .show_ui(ui, |ui| {
                    for b in 0..trained.len() {
                        ui.selectable_value(&mut self.weights, b, name(b));
                    }
                });
            match (self.job, progress) {
                (Some(id), Some(f)) => {
                    ui.add(
                        egui::ProgressBar::new(f)
                            .desired_width(100.0)
                            .show_percentage(),
                    );
                    if ui.button("Cancel sweep").clicked() {
                        cancel = Some(id);
                    }
                }
                _ => {
                    if ui
                        .button("Sweep k")
                        .on_hover_text(
                            "Scores every k of the codebook on validation and on the test split",
                        )
                        .clicked()
                    {
                        self.requested = true;
                    }
                }
            }
        });
        if let Some(m) = &self.message {
            ui.weak(m);
        }
        let Some(s) = &self.result else {
            return cancel;
        };
        let series = |v: &[f64]| -> Vec<[f64; 2]> {
            s.ks.iter()
                .zip(v)
                .map(|(&k, &a)| [k as f64, 100.0 * a])
                .collect()
        };
        let test = series(&s.test);
        let val = s.validation.as_deref().map(series);
        Plot::new("zsl vs k")
            .legend(Legend::default())
            .height(230.0)
            .x_axis_label(format!("k (top-k attention, branch {} weights)", s.weights))
            .y_axis_label("ZSL top-1 %")
            .include_y(0.0)
            .include_y(100.0)
            .allow_scroll(false)
            .show(ui, |plot| {
                if let Some(val) = val {
                    plot.line(
                        Line::new("validation (seen classes)", PlotPoints::from(val.clone()))
                            .color(palette.correct),
                    );
                    plot.points(
                        Points::new("validation (seen classes)", val)
                            .color(palette.correct)
                            .radius(2.5),
                    );
                }
                let test_name = "test split (unseen classes: do not tune on this)";
                plot.line(
                    Line::new(test_name, PlotPoints::from(test.clone())).color(palette.unseen),
                );
                plot.points(
                    Points::new(test_name, test)
                        .color(palette.unseen)
                        .radius(2.5),
                );
                plot.vline(
                    VLine::new(format!("trained k = {}", s.trained_k), s.trained_k as f64)
                        .color(palette.truth_highlight),
                );
                if let Some(v) = marks.validation {
                    plot.hline(
                        HLine::new("trained set (validation)", 100.0 * v).color(palette.correct),
                    );
                }
                if let Some(t) = marks.test {
                    plot.hline(
                        HLine::new("trained set (test split)", 100.0 * t).color(palette.unseen),
                    );
                }
            });
        if s.validation.is_none() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "Test series only: this run has no validation data.",
            );
        }
        cancel
    }
}
