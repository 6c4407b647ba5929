//! What a zero-shot run predicted for each sample, and the numbers the views show from it (ZSL accuracy,
//! GZSL seen/unseen/harmonic accuracy, top-k, the confusion matrix).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::analysis::{BranchScores, FeatureExport, PartScores};

/// Scores of every sample against every candidate class. Methods' outputs are converted into this.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// Which method produced the scores (shown in the UI).
    #[serde(default)]
    pub method: String,
    /// `SampleMeta::id` of each scored sample (N).
    pub sample_ids: Vec<String>,
    /// Ground-truth class (dataset class index) of each sample (N).
    pub labels: Vec<usize>,
    /// The dataset class index of each score column (C).
    pub classes: Vec<usize>,
    /// Whether each column's class is unseen in training (C).
    pub unseen: Vec<bool>,
    /// Row-major N x C scores, higher is more likely.
    pub scores: Vec<f32>,
    /// Names of the dataset classes (indexed like `labels`), when the run knows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
    /// Calibrated stacking: subtracted from seen-class scores in GZSL (the explorer's gamma slider sets it).
    #[serde(default)]
    pub gamma: f32,
    /// Skeleton features and projected class texts, for the t-SNE view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureExport>,
    /// STAR per-part scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub star: Option<PartScores>,
    /// InfoCPL per-branch scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infocpl: Option<BranchScores>,
}

#[derive(Debug, thiserror::Error)]
pub enum PredictionsError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Which candidate classes a prediction may choose from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// Unseen classes only (zero-shot).
    Zsl,
    /// Seen and unseen classes (generalised zero-shot).
    Gzsl,
}

/// Overall figures of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Top-1 accuracy on unseen-class samples among unseen classes.
    pub zsl_accuracy: f32,
    /// GZSL accuracy on seen-class samples (S), unseen-class samples (U) and their harmonic mean (H).
    pub seen_accuracy: f32,
    pub unseen_accuracy: f32,
    pub harmonic: f32,
    pub seen_samples: usize,
    pub unseen_samples: usize,
}

impl Predictions {
    /// Checks that every length agrees and every score is finite; `origin` names the source in the error.
    pub fn validate(&self, origin: &str) -> Result<(), PredictionsError> {
        let invalid = |message: String| PredictionsError::Invalid {
            path: origin.to_owned(),
            message,
        };
        let n = self.sample_ids.len();
        let c = self.classes.len();
        if self.labels.len() != n {
            return Err(invalid(format!(
                "{} labels for {n} samples",
                self.labels.len()
            )));
        }
        if self.unseen.len() != c {
            return Err(invalid(format!(
                "{} unseen flags for {c} classes",
                self.unseen.len()
            )));
        }
        if self.scores.len() != n * c {
            return Err(invalid(format!(
                "{} scores for {n} samples x {c} classes",
                self.scores.len()
            )));
        }
        if let Some(i) = self.scores.iter().position(|s| !s.is_finite()) {
            return Err(invalid(format!(
                "non-finite score for sample {} class column {}",
                i / c.max(1),
                i % c.max(1)
            )));
        }
        if !self.gamma.is_finite() {
            return Err(invalid("non-finite gamma".into()));
        }
        let extras = [
            self.features.as_ref().map(|f| f.check(n, c)),
            self.star.as_ref().map(|s| s.check(n, c)),
            self.infocpl.as_ref().map(|b| b.check(n, c)),
        ];
        for e in extras.into_iter().flatten() {
            e.map_err(invalid)?;
        }
        Ok(())
    }

    /// Reads `predictions.json` from a run folder (or the file itself).
    pub fn load(path: &Path) -> Result<Self, PredictionsError> {
        let file = if path.is_dir() {
            path.join("predictions.json")
        } else {
            path.to_path_buf()
        };
        let origin = file.display().to_string();
        // A run folder without predictions: say what it is and how to get them.
        if path.is_dir() && !file.exists() {
            use crate::experiment::run_kind::{RunKind, expect_run};
            expect_run(path, RunKind::Train, "--run").map_err(|message| {
                PredictionsError::Invalid {
                    path: path.display().to_string(),
                    message,
                }
            })?;
            if RunKind::of(path) == Some(RunKind::Train) {
                return Err(PredictionsError::Invalid {
                    path: path.display().to_string(),
                    message: "this `skelzero train` run has no predictions.json yet: write it with `skelzero eval \
                              --predictions --run`, or score it live with `gui --encoder <pretrain run>`"
                        .into(),
                });
            }
        }
        let text = std::fs::read_to_string(&file).map_err(|e| PredictionsError::Invalid {
            path: origin.clone(),
            message: e.to_string(),
        })?;
        let preds: Self = serde_json::from_str(&text).map_err(|e| PredictionsError::Invalid {
            path: origin.clone(),
            message: format!("line {}: {e}", e.line()),
        })?;
        preds.validate(&origin)?;
        Ok(preds)
    }

    /// Writes `predictions.json` into a run folder (or to the `.json` path given), atomically.
    pub fn save(&self, path: &Path) -> Result<PathBuf, PredictionsError> {
        let file = if path.extension().is_some_and(|e| e == "json") {
            path.to_path_buf()
        } else {
            path.join("predictions.json")
        };
        let invalid = |message: String| PredictionsError::Invalid {
            path: file.display().to_string(),
            message,
        };
        let text = serde_json::to_string(self).map_err(|e| invalid(e.to_string()))?;
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| invalid(e.to_string()))?;
        }
        crate::util::write_bytes_atomic(&file, text.as_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        Ok(file)
    }

    /// The run's name for dataset class `class`, else the one in `fallback` (the open dataset's), else `class N`.
    pub fn class_name(&self, class: usize, fallback: &[String]) -> String {
        self.class_names
            .get(class)
            .or_else(|| fallback.get(class))
            .cloned()
            .unwrap_or_else(|| format!("class {class}"))
    }

    pub fn num_samples(&self) -> usize {
        self.sample_ids.len()
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        let c = self.classes.len();
        &self.scores[i * c..(i + 1) * c]
    }

    /// Whether dataset class `class` is unseen (`None` if the run does not score it).
    pub fn class_unseen(&self, class: usize) -> Option<bool> {
        self.classes
            .iter()
            .position(|&k| k == class)
            .map(|col| self.unseen[col])
    }

    fn allowed(&self, col: usize, setting: Setting) -> bool {
        setting == Setting::Gzsl || self.unseen[col]
    }

    /// The `k` best classes of sample `i` as (dataset class, score), best first. In GZSL, seen-class scores are
    /// lowered by `gamma` (calibrated stacking).
    pub fn top_k(&self, i: usize, k: usize, setting: Setting) -> Vec<(usize, f32)> {
        let mut cols: Vec<(usize, f32)> = self
            .row(i)
            .iter()
            .enumerate()
            .filter(|&(col, _)| self.allowed(col, setting))
            .map(|(col, &s)| {
                let calibrated = if setting == Setting::Gzsl && !self.unseen[col] {
                    s - self.gamma
                } else {
                    s
                };
                (self.classes[col], calibrated)
            })
            .collect();
        cols.sort_by(|a, b| b.1.total_cmp(&a.1));
        cols.truncate(k);
        cols
    }

    /// The predicted dataset class of sample `i`.
    pub fn predicted(&self, i: usize, setting: Setting) -> Option<usize> {
        self.top_k(i, 1, setting).first().map(|&(c, _)| c)
    }

    pub fn metrics(&self) -> Metrics {
        let (mut zsl_hits, mut seen_hits, mut unseen_hits) = (0usize, 0usize, 0usize);
        let (mut seen_n, mut unseen_n) = (0usize, 0usize);
        for i in 0..self.num_samples() {
            let label = self.labels[i];
            match self.class_unseen(label) {
                Some(true) => {
                    unseen_n += 1;
                    zsl_hits += usize::from(self.predicted(i, Setting::Zsl) == Some(label));
                    unseen_hits += usize::from(self.predicted(i, Setting::Gzsl) == Some(label));
                }
                Some(false) => {
                    seen_n += 1;
                    seen_hits += usize::from(self.predicted(i, Setting::Gzsl) == Some(label));
                }
                None => {}
            }
        }
        let frac = |a: usize, n: usize| if n == 0 { 0.0 } else { a as f32 / n as f32 };
        let s = frac(seen_hits, seen_n);
        let u = frac(unseen_hits, unseen_n);
        Metrics {
            zsl_accuracy: frac(zsl_hits, unseen_n),
            seen_accuracy: s,
            unseen_accuracy: u,
            harmonic: if s + u > 0.0 {
                2.0 * s * u / (s + u)
            } else {
                0.0
            },
            seen_samples: seen_n,
            unseen_samples: unseen_n,
        }
    }

    /// The confusion matrix of `setting`: unseen classes for ZSL (unseen-class samples only), every class for GZSL.
    pub fn confusion(&self, setting: Setting) -> Confusion {
        let classes: Vec<usize> = self
            .classes
            .iter()
            .zip(&self.unseen)
            .filter(|&(_, &u)| setting == Setting::Gzsl || u)
            .map(|(&c, _)| c)
            .collect();
        let k = classes.len();
        let mut counts = vec![0u32; k * k];
        for i in 0..self.num_samples() {
            let Some(t) = classes.iter().position(|&c| c == self.labels[i]) else {
                continue;
            };
            let Some(p) = self
                .predicted(i, setting)
                .and_then(|p| classes.iter().position(|&c| c == p))
            else {
                continue;
            };
            counts[t * k + p] += 1;
        }
        Confusion {
            setting,
            classes,
            counts,
        }
    }
}

/// Rows are the true class, columns the predicted class.
#[derive(Clone, Debug, PartialEq)]
pub struct Confusion {
    pub setting: Setting,
    /// Dataset class index of each row/column.
    pub classes: Vec<usize>,
    pub counts: Vec<u32>,
}

impl Confusion {
    pub fn size(&self) -> usize {
        self.classes.len()
    }

    pub fn count(&self, truth: usize, pred: usize) -> u32 {
        self.counts[truth * self.size() + pred]
    }

    pub fn row_total(&self, truth: usize) -> u32 {
        let k = self.size();
        self.counts[truth * k..(truth + 1) * k].iter().sum()
    }

    /// The share of row `truth` predicted as `pred`, 0..=1.
    pub fn row_fraction(&self, truth: usize, pred: usize) -> f32 {
        let total = self.row_total(truth);
        if total == 0 {
            0.0
        } else {
            self.count(truth, pred) as f32 / total as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Classes 0, 1 seen; 2, 3 unseen. Sample scores chosen so the predictions are known.
    fn small() -> Predictions {
        Predictions {
            method: "test".into(),
            sample_ids: (0..4).map(|i| format!("s{i}")).collect(),
            labels: vec![0, 1, 2, 3],
            classes: vec![0, 1, 2, 3],
            unseen: vec![false, false, true, true],
            scores: vec![
                0.9, 0.1, 0.5, 0.0, // seen 0 -> 0 (gzsl), right
                0.8, 0.1, 0.0, 0.2, // seen 1 -> 0, wrong
                0.9, 0.0, 0.6, 0.1, // unseen 2 -> gzsl 0 (wrong), zsl 2 (right)
                0.0, 0.0, 0.1, 0.7, // unseen 3 -> 3 both
            ],
            ..Predictions::default()
        }
    }

    #[test]
    fn metrics_follow_the_definitions() {
        let p = small();
        p.validate("mem").unwrap();
        let m = p.metrics();
        assert_eq!(m.zsl_accuracy, 1.0);
        assert_eq!(m.seen_accuracy, 0.5);
        assert_eq!(m.unseen_accuracy, 0.5);
        assert!((m.harmonic - 0.5).abs() < 1e-6);
        assert_eq!(p.top_k(2, 2, Setting::Zsl), vec![(2, 0.6), (3, 0.1)]);
        assert_eq!(p.predicted(2, Setting::Gzsl), Some(0));
    }

    #[test]
    fn confusion_rows_are_truth() {
        let p = small();
        let zsl = p.confusion(Setting::Zsl);
        assert_eq!(zsl.classes, vec![2, 3]);
        assert_eq!(zsl.counts, vec![1, 0, 0, 1]);
        let gzsl = p.confusion(Setting::Gzsl);
        assert_eq!(gzsl.size(), 4);
        assert_eq!(gzsl.count(1, 0), 1);
        assert_eq!(gzsl.count(2, 0), 1);
        assert_eq!(gzsl.row_fraction(1, 0), 1.0);
    }

    #[test]
    fn bad_lengths_and_nan_are_named() {
        let mut p = small();
        p.scores.pop();
        let err = p.validate("run/predictions.json").unwrap_err().to_string();
        assert!(
            err.contains("run/predictions.json") && err.contains("15 scores"),
            "{err}"
        );
        let mut p = small();
        p.scores[5] = f32::NAN;
        let err = p.validate("x").unwrap_err().to_string();
        assert!(err.contains("sample 1 class column 1"), "{err}");
    }
}
