//! The predictions panel: the run's overall figures and the selected sample's top-k classes (ZSL and GZSL).

use super::palette::Palette;
use crate::pipeline::predictions::{Metrics, Predictions, Setting};

fn pct(x: f32) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The run's figures, each saying what it is computed on. `opened_gamma` is the run's own (validation-chosen)
/// gamma; the calibration slider may have moved `predictions.gamma` away from it.
pub fn metrics_ui(
    ui: &mut egui::Ui,
    predictions: &Predictions,
    metrics: &Metrics,
    opened_gamma: f32,
    label: &str,
    saved_gamma: bool,
) {
    ui.label(format!("Run: {label}"));
    ui.label(egui::RichText::new("On the test split").strong()).on_hover_text(
        "Computed on the run's test samples: unseen-class samples for ZSL, unseen- and seen-class test samples for GZSL. Not for tuning: choose settings on the seen-class validation split.",
    );
    egui::Grid::new("metrics").num_columns(2).show(ui, |ui| {
        ui.label("ZSL accuracy");
        ui.strong(pct(metrics.zsl_accuracy));
        ui.end_row();
        let unseen = predictions.unseen.iter().filter(|&&u| u).count();
        if unseen > 0 {
            ui.label("chance (ZSL)");
            ui.label(pct(1.0 / unseen as f32));
            ui.end_row();
        }
        ui.label("GZSL seen (S)");
        ui.strong(pct(metrics.seen_accuracy));
        ui.end_row();
        ui.label("GZSL unseen (U)");
        ui.strong(pct(metrics.unseen_accuracy));
        ui.end_row();
        ui.label("GZSL harmonic (H)");
        ui.strong(pct(metrics.harmonic));
        ui.end_row();
        ui.label("gamma");
        let (short, long) = gamma_text(predictions.gamma, opened_gamma, saved_gamma);
        ui.label(short).on_hover_text(long);
        ui.end_row();
    });
    // What each figure is computed on, so that a low one is not a mystery.
    let classes = predictions.unseen.len();
    let unseen = predictions.unseen.iter().filter(|&&u| u).count();
    ui.weak(format!(
        "ZSL: top-1 on {} unseen-class test samples among the {unseen} unseen classes.",
        metrics.unseen_samples
    ));
    ui.weak(format!(
        "GZSL: top-1 among all {classes} classes on {} seen-class (S) and {} unseen-class (U) test samples; \
         seen-class scores lowered by gamma {:.3}, chosen on seen-class validation; H = 2SU / (S + U).",
        metrics.seen_samples, metrics.unseen_samples, predictions.gamma
    ));
}

/// Where the gamma in use comes from, short and long: the run's validation choice, one saved with the run, or the
/// user (calibration slider).
pub fn gamma_text(gamma: f32, opened_gamma: f32, saved: bool) -> (String, String) {
    if saved {
        (
            format!("{gamma:.3} (saved with the run)"),
            format!(
                "Saved with the run from the calibration view (gamma.toml; chosen on the figure it records); the \
                 run's validation choice is {opened_gamma:.3}"
            ),
        )
    } else if gamma == opened_gamma {
        (
            format!("{gamma:.3} (validation)"),
            "The run's gamma, chosen on the seen-class validation split".to_owned(),
        )
    } else {
        (
            format!("{gamma:.3} (set by you)"),
            format!(
                "Set with the calibration slider; the run's validation choice is {opened_gamma:.3}"
            ),
        )
    }
}

/// The width of a top-k score bar: short, so that the class names keep the room.
const BAR: f32 = 50.0;

/// Top-k classes of one prediction row in both settings, the ground truth highlighted.
pub fn top_k_ui(
    ui: &mut egui::Ui,
    predictions: &Predictions,
    row: usize,
    truth: usize,
    k: usize,
    class_names: &[String],
    palette: &Palette,
) {
    let name = |c: usize| class_names.get(c).map(String::as_str).unwrap_or("?");
    let truth_seen = predictions.class_unseen(truth) == Some(false);
    for (setting, title) in [
        (Setting::Zsl, "ZSL (unseen classes only; raw scores)"),
        (
            Setting::Gzsl,
            "GZSL (all classes; gamma subtracted from seen-class scores)",
        ),
    ] {
        ui.label(egui::RichText::new(title).strong());
        let top = predictions.top_k(row, k, setting);
        let max = top.first().map_or(1.0, |t| t.1.abs().max(1e-6));
        // Names longer than the room left beside the bar and the score are elided (full name on hover), so the
        // scores stay in view in a narrow panel.
        let name_width =
            (ui.available_width() - BAR - 56.0 - 4.0 * ui.spacing().item_spacing.x).max(80.0);
        let font = egui::TextStyle::Body.resolve(ui.style());
        // The part the listed names share goes first when one does not fit ("wave right han…" five times over
        // would tell them apart no better than nothing), then the middle.
        let shared = super::elide::common_prefix(top.iter().map(|(c, _)| name(*c)));
        egui::Grid::new(("topk", title))
            .num_columns(3)
            .show(ui, |ui| {
                for (rank, (class, score)) in top.iter().enumerate() {
                    let is_truth = *class == truth;
                    let short =
                        super::elide::elide(ui, name(*class), &font, name_width - 22.0, shared);
                    let text = egui::RichText::new(format!("{}. {short}", rank + 1));
                    let text = if is_truth {
                        text.color(palette.truth_highlight).strong()
                    } else {
                        text
                    };
                    ui.scope(|ui| {
                        ui.set_max_width(name_width);
                        ui.add(egui::Label::new(text).truncate())
                            .on_hover_text(name(*class));
                    });
                    ui.add(
                        egui::ProgressBar::new((score / max).clamp(0.0, 1.0))
                            .desired_width(BAR)
                            .desired_height(10.0),
                    );
                    ui.label(format!("{score:.3}"));
                    ui.end_row();
                }
            });
        if setting == Setting::Zsl && truth_seen {
            // A seen class is never among the ZSL candidates: saying it missed the top k would be empty news.
            ui.weak(format!(
                "truth: {} is a seen class, so not a ZSL candidate (see GZSL)",
                name(truth)
            ));
        } else if !top.iter().any(|t| t.0 == truth) {
            ui.weak(format!("truth: {} (not in the top {k})", name(truth)));
        }
        ui.add_space(4.0);
    }
}

/// The true and the predicted class's sentences beside the prediction, with their scores, in the sample's setting
/// (ZSL for an unseen-class sample, GZSL for a seen-class one). `texts` is the description set the run was scored
/// with in this session; for a run opened from its folder, `dataset_texts` (the open dataset's class text files)
/// stand in, said to be the dataset's. Folded by default: open, it would push the confusion matrix below the fold
/// of an 800-pixel window.
pub fn class_texts_ui(
    ui: &mut egui::Ui,
    p: &Predictions,
    row: usize,
    texts: Option<&crate::dataset::description_set::DescriptionSet>,
    dataset_texts: Option<&crate::dataset::texts::ClassTexts>,
    class_names: &[String],
    palette: &Palette,
) {
    let Some(setting) = crate::pipeline::research::sample_setting(p, row) else {
        return;
    };
    let setting_name = crate::pipeline::research::setting_name(setting);
    egui::CollapsingHeader::new(format!("Class texts and scores ({setting_name})"))
        .id_salt("class texts")
        .show(ui, |ui| {
            let truth = p.labels[row];
            let ranked = p.top_k(row, p.num_classes(), setting);
            let score = |c: usize| ranked.iter().find(|r| r.0 == c).map(|r| r.1);
            let predicted = ranked.first().map(|r| r.0);
            let name = |c: usize| class_names.get(c).map(String::as_str).unwrap_or("?");
            let sentence = |c: usize| -> Option<&str> {
                match (texts, dataset_texts) {
                    (Some(t), _) => t.classes.get(c).map(|d| d.sentence.as_str()),
                    (None, Some(t)) => t.sentence_or_name(c),
                    (None, None) => None,
                }
            };
            match (texts, dataset_texts) {
                (Some(_), _) => {
                    ui.weak("The sentence each class was scored with in this session, and its score for this sample.");
                }
                (None, Some(_)) => {
                    ui.weak(
                        "The dataset's class sentences (its text/ folder) and the run's stored scores for this \
                         sample; the run may have been trained on other texts.",
                    );
                }
                (None, None) => {
                    ui.weak(
                        "No class texts known: the dataset has no text/classes.tsv and the run was not scored in \
                         this session. Scores only.",
                    );
                }
            }
            let line = |ui: &mut egui::Ui, what: &str, c: usize, color: egui::Color32| {
                let s = score(c).map_or("–".to_owned(), |s| format!("{s:.3}"));
                ui.colored_label(color, format!("{what}: {} ({s})", name(c)));
                if let Some(text) = sentence(c) {
                    ui.label(egui::RichText::new(format!("\"{text}\"")).italics());
                }
            };
            line(ui, "True", truth, palette.truth_highlight);
            match predicted {
                Some(c) if c != truth => line(ui, "Predicted", c, palette.incorrect),
                Some(_) => {
                    ui.colored_label(palette.correct, "Predicted: the true class");
                }
                None => {}
            }
            if let Some(m) = crate::pipeline::research::margin(p, row, setting) {
                ui.weak(format!("margin (true minus best other): {m:+.3}"));
            }
        });
}
