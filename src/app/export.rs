//! Export of what the explorer shows: predictions, per-class accuracy and both confusion matrices as CSV, all of it
//! as one JSON report, and PNGs of views. Every file is written atomically.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::pipeline::predictions::{Confusion, Predictions, Setting};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Encode { path: PathBuf, message: String },
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn name(names: &[String], c: usize) -> String {
    names
        .get(c)
        .cloned()
        .unwrap_or_else(|| format!("class {c}"))
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PredictionRow {
    pub sample_id: String,
    pub label: usize,
    pub label_name: String,
    pub unseen: Option<bool>,
    pub zsl_predicted: Option<usize>,
    pub gzsl_predicted: Option<usize>,
    /// ZSL for unseen-class samples, GZSL for seen-class ones.
    pub correct: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassAccuracy {
    pub class: usize,
    pub name: String,
    pub unseen: bool,
    pub samples: usize,
    /// Top-1 among unseen classes (unseen classes only).
    pub zsl_accuracy: Option<f32>,
    /// Top-1 among all classes with the run's gamma.
    pub gzsl_accuracy: f32,
}

pub fn prediction_rows(p: &Predictions, names: &[String]) -> Vec<PredictionRow> {
    (0..p.num_samples())
        .map(|i| {
            let label = p.labels[i];
            let unseen = p.class_unseen(label);
            let zsl = p.predicted(i, Setting::Zsl);
            let gzsl = p.predicted(i, Setting::Gzsl);
            let correct = match unseen {
                Some(true) => Some(zsl == Some(label)),
                Some(false) => Some(gzsl == Some(label)),
                None => None,
            };
            PredictionRow {
                sample_id: p.sample_ids[i].clone(),
                label,
                label_name: name(names, label),
                unseen,
                zsl_predicted: if unseen == Some(true) { zsl } else { None },
                gzsl_predicted: gzsl,
                correct,
            }
        })
        .collect()
}

pub fn class_accuracies(p: &Predictions, names: &[String]) -> Vec<ClassAccuracy> {
    p.classes
        .iter()
        .zip(&p.unseen)
        .map(|(&class, &unseen)| {
            let rows: Vec<usize> = (0..p.num_samples())
                .filter(|&i| p.labels[i] == class)
                .collect();
            let frac = |setting: Setting| {
                let hits = rows
                    .iter()
                    .filter(|&&i| p.predicted(i, setting) == Some(class))
                    .count();
                if rows.is_empty() {
                    0.0
                } else {
                    hits as f32 / rows.len() as f32
                }
            };
            ClassAccuracy {
                class,
                name: name(names, class),
                unseen,
                samples: rows.len(),
                zsl_accuracy: unseen.then(|| frac(Setting::Zsl)),
                gzsl_accuracy: frac(Setting::Gzsl),
            }
        })
        .collect()
}

pub fn predictions_csv(p: &Predictions, names: &[String]) -> String {
    let opt = |c: Option<usize>| c.map_or(String::new(), |c| field(&name(names, c)));
    let mut out =
        String::from("sample_id,label,label_name,split,zsl_predicted,gzsl_predicted,correct\n");
    for r in prediction_rows(p, names) {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            field(&r.sample_id),
            r.label,
            field(&r.label_name),
            match r.unseen {
                Some(true) => "unseen",
                Some(false) => "seen",
                None => "",
            },
            opt(r.zsl_predicted),
            opt(r.gzsl_predicted),
            r.correct.map_or(String::new(), |c| c.to_string())
        ));
    }
    out
}

pub fn class_accuracy_csv(p: &Predictions, names: &[String]) -> String {
    let mut out = String::from("class,name,split,samples,zsl_accuracy,gzsl_accuracy\n");
    for a in class_accuracies(p, names) {
        out.push_str(&format!(
            "{},{},{},{},{},{:.6}\n",
            a.class,
            field(&a.name),
            if a.unseen { "unseen" } else { "seen" },
            a.samples,
            a.zsl_accuracy.map_or(String::new(), |x| format!("{x:.6}")),
            a.gzsl_accuracy
        ));
    }
    out
}

/// Rows are true classes, columns predicted classes; the first row and column hold the names.
pub fn confusion_csv(c: &Confusion, names: &[String]) -> String {
    let mut out = String::from("true \\ predicted");
    for &k in &c.classes {
        out.push(',');
        out.push_str(&field(&name(names, k)));
    }
    out.push('\n');
    for (t, &k) in c.classes.iter().enumerate() {
        out.push_str(&field(&name(names, k)));
        for p in 0..c.size() {
            out.push_str(&format!(",{}", c.count(t, p)));
        }
        out.push('\n');
    }
    out
}

/// The report; `opened_gamma` is the run's own (seen-class validation) gamma: a gamma moved with the calibration
/// slider is recorded as the user's, chosen looking at test-split curves.
pub fn report_json(p: &Predictions, names: &[String], opened_gamma: f32) -> serde_json::Value {
    let user = p.gamma != opened_gamma;
    let m = p.metrics();
    let conf = |s: Setting| {
        let c = p.confusion(s);
        serde_json::json!({
            "classes": c.classes.iter().map(|&k| name(names, k)).collect::<Vec<_>>(),
            "counts": c.counts.chunks(c.size().max(1)).collect::<Vec<_>>(),
        })
    };
    serde_json::json!({
        "method": p.method,
        "gamma": p.gamma,
        "gamma_source": if user { "user" } else { "validation" },
        "gamma_basis": if user { "test" } else { "validation" },
        "run_gamma": opened_gamma,
        // Every accuracy below is on the test split.
        "figures_basis": "test",
        "zsl_accuracy": m.zsl_accuracy,
        "gzsl_seen": m.seen_accuracy,
        "gzsl_unseen": m.unseen_accuracy,
        "gzsl_harmonic": m.harmonic,
        "predictions": prediction_rows(p, names),
        "per_class": class_accuracies(p, names),
        "confusion_zsl": conf(Setting::Zsl),
        "confusion_gzsl": conf(Setting::Gzsl),
    })
}

fn write(path: PathBuf, bytes: &[u8]) -> Result<PathBuf, ExportError> {
    crate::util::write_bytes_atomic(&path, bytes).map_err(|source| ExportError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Writes `predictions.csv`, `per_class.csv`, `confusion_zsl.csv`, `confusion_gzsl.csv` and `report.json` into
/// `dir` (created if missing); returns the paths written.
pub fn export_tables(
    dir: &Path,
    p: &Predictions,
    names: &[String],
    opened_gamma: f32,
) -> Result<Vec<PathBuf>, ExportError> {
    let json_path = dir.join("report.json");
    let json = serde_json::to_vec_pretty(&report_json(p, names, opened_gamma)).map_err(|e| {
        ExportError::Encode {
            path: json_path.clone(),
            message: e.to_string(),
        }
    })?;
    Ok(vec![
        write(
            dir.join("predictions.csv"),
            predictions_csv(p, names).as_bytes(),
        )?,
        write(
            dir.join("per_class.csv"),
            class_accuracy_csv(p, names).as_bytes(),
        )?,
        write(
            dir.join("confusion_zsl.csv"),
            confusion_csv(&p.confusion(Setting::Zsl), names).as_bytes(),
        )?,
        write(
            dir.join("confusion_gzsl.csv"),
            confusion_csv(&p.confusion(Setting::Gzsl), names).as_bytes(),
        )?,
        write(json_path, &json)?,
    ])
}

/// PNG bytes of `image`, cut to `region` (points) when given.
pub fn png_from_image(
    image: &egui::ColorImage,
    region: Option<egui::Rect>,
    pixels_per_point: f32,
) -> Result<Vec<u8>, String> {
    let cut;
    let image = match region {
        Some(r) => {
            let full = egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(image.size[0] as f32, image.size[1] as f32) / pixels_per_point,
            );
            cut = image.region(&r.intersect(full), Some(pixels_per_point));
            &cut
        }
        None => image,
    };
    let [w, h] = image.size;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let mut png = Vec::new();
    image::write_buffer_with_format(
        &mut std::io::Cursor::new(&mut png),
        &bytes,
        w as u32,
        h as u32,
        image::ColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .map_err(|e| e.to_string())?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("x\"y,"), "\"x\"\"y,\"");
    }

    #[test]
    fn tables_agree_with_the_metrics() {
        let d = crate::pipeline::fixture::fixture_dataset();
        let p = crate::pipeline::fixture::fixture_predictions(&d);
        let rows = prediction_rows(&p, &d.classes);
        let unseen_right = rows
            .iter()
            .filter(|r| r.unseen == Some(true) && r.correct == Some(true))
            .count();
        let m = p.metrics();
        assert!((unseen_right as f32 / m.unseen_samples as f32 - m.zsl_accuracy).abs() < 1e-6);
        let csv = confusion_csv(&p.confusion(Setting::Zsl), &d.classes);
        assert_eq!(csv.lines().count(), 4);
        assert!(
            csv.lines().nth(1).unwrap().starts_with("kick,3,1,0"),
            "{csv}"
        );
    }

    #[test]
    fn a_moved_gamma_is_reported_as_the_users_on_test_curves() {
        let d = crate::pipeline::fixture::fixture_dataset();
        let mut p = crate::pipeline::fixture::fixture_predictions(&d);
        let run = p.gamma;
        let r = report_json(&p, &d.classes, run);
        assert_eq!(
            (&r["gamma_source"], &r["gamma_basis"]),
            (&"validation".into(), &"validation".into())
        );
        p.gamma = run + 0.25;
        let r = report_json(&p, &d.classes, run);
        assert_eq!(
            (&r["gamma_source"], &r["gamma_basis"]),
            (&"user".into(), &"test".into())
        );
        assert_eq!(r["run_gamma"], serde_json::json!(run));
        assert_eq!(r["figures_basis"], "test");
    }
}
