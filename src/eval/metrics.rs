//! Accuracy metrics on score matrices: ZSL top-1 (per sample), GZSL seen/unseen/harmonic accuracy with calibrated
//! stacking, and confusion matrices.

use serde::{Deserialize, Serialize};

/// A row-major `n x c` matrix of scores (samples x classes).
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreMatrix {
    pub n: usize,
    pub c: usize,
    pub data: Vec<f32>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetricError {
    #[error("score matrix has {got} values, expected {n} x {c}")]
    Size { n: usize, c: usize, got: usize },
    #[error("{labels} labels for {n} samples")]
    Labels { labels: usize, n: usize },
    #[error("label {label} out of range for {c} classes")]
    LabelRange { label: usize, c: usize },
    #[error("seen mask has {got} entries for {c} classes")]
    Mask { got: usize, c: usize },
}

impl ScoreMatrix {
    pub fn new(n: usize, c: usize, data: Vec<f32>) -> Result<Self, MetricError> {
        if data.len() != n * c {
            return Err(MetricError::Size {
                n,
                c,
                got: data.len(),
            });
        }
        Ok(Self { n, c, data })
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.c..(i + 1) * self.c]
    }

    /// The argmax of each row after subtracting `offset[j]` from column `j` (ties: the first).
    pub fn predictions_with_offset(&self, offset: &[f32]) -> Vec<usize> {
        (0..self.n)
            .map(|i| {
                let mut best = 0;
                let mut best_v = f32::NEG_INFINITY;
                for (j, &v) in self.row(i).iter().enumerate() {
                    let v = v - offset.get(j).copied().unwrap_or(0.0);
                    // NaN never wins.
                    if v > best_v {
                        best_v = v;
                        best = j;
                    }
                }
                best
            })
            .collect()
    }

    pub fn predictions(&self) -> Vec<usize> {
        self.predictions_with_offset(&[])
    }

    /// Rows `rows` and columns `cols`, in that order.
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Self {
        let mut data = Vec::with_capacity(rows.len() * cols.len());
        for &i in rows {
            let r = self.row(i);
            data.extend(cols.iter().map(|&j| r[j]));
        }
        Self {
            n: rows.len(),
            c: cols.len(),
            data,
        }
    }

    fn check_labels(&self, labels: &[usize]) -> Result<(), MetricError> {
        if labels.len() != self.n {
            return Err(MetricError::Labels {
                labels: labels.len(),
                n: self.n,
            });
        }
        if let Some(&label) = labels.iter().find(|&&l| l >= self.c) {
            return Err(MetricError::LabelRange { label, c: self.c });
        }
        Ok(())
    }
}

/// Top-1 accuracy over samples (every sample counts once, whatever the batching).
pub fn top1(scores: &ScoreMatrix, labels: &[usize]) -> Result<f64, MetricError> {
    scores.check_labels(labels)?;
    let pred = scores.predictions();
    Ok(accuracy(&pred, labels))
}

fn accuracy(pred: &[usize], labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
    hits as f64 / labels.len() as f64
}

/// GZSL result: accuracy on seen-class samples `s`, on unseen-class samples `u`, and their harmonic mean `h`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gzsl {
    pub s: f64,
    pub u: f64,
    pub h: f64,
    pub gamma: f64,
}

pub fn harmonic(s: f64, u: f64) -> f64 {
    if s + u <= 0.0 {
        0.0
    } else {
        2.0 * s * u / (s + u)
    }
}

/// What calibrated stacking subtracts from each column's scores: `gamma` where `seen[j]`, else 0 (for
/// [`ScoreMatrix::predictions_with_offset`]).
pub fn stacking_offsets(seen: &[bool], gamma: f32) -> Vec<f32> {
    seen.iter().map(|&s| if s { gamma } else { 0.0 }).collect()
}

/// GZSL accuracy with calibrated stacking: `gamma` is subtracted from the scores of the seen classes
/// (`seen[j]`), then each sample is assigned its argmax over all classes. `s` and `u` are per-sample accuracies over
/// the samples whose true class is seen, respectively unseen.
pub fn gzsl(
    scores: &ScoreMatrix,
    labels: &[usize],
    seen: &[bool],
    gamma: f64,
) -> Result<Gzsl, MetricError> {
    scores.check_labels(labels)?;
    if seen.len() != scores.c {
        return Err(MetricError::Mask {
            got: seen.len(),
            c: scores.c,
        });
    }
    let pred = scores.predictions_with_offset(&stacking_offsets(seen, gamma as f32));
    let (mut sh, mut sn, mut uh, mut un) = (0usize, 0usize, 0usize, 0usize);
    for (p, &l) in pred.iter().zip(labels) {
        let hit = usize::from(*p == l);
        if seen[l] {
            sh += hit;
            sn += 1;
        } else {
            uh += hit;
            un += 1;
        }
    }
    let s = if sn == 0 { 0.0 } else { sh as f64 / sn as f64 };
    let u = if un == 0 { 0.0 } else { uh as f64 / un as f64 };
    Ok(Gzsl {
        s,
        u,
        h: harmonic(s, u),
        gamma,
    })
}

/// Confusion matrix `m[true][predicted]` counts.
pub fn confusion(pred: &[usize], labels: &[usize], c: usize) -> Vec<Vec<u32>> {
    let mut m = vec![vec![0u32; c]; c];
    for (&p, &l) in pred.iter().zip(labels) {
        if p < c && l < c {
            m[l][p] += 1;
        }
    }
    m
}
