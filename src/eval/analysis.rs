//! Optional parts of a run's `predictions.json` for the analysis views: skeleton features and projected class-text
//! embeddings (t-SNE), STAR's per-part scores (painted on the body) and InfoCPL's per-branch scores. Files written
//! before these existed load without them.

use serde::{Deserialize, Serialize};

/// Skeleton features of the scored samples and the class-text embeddings mapped into the same space.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureExport {
    pub dim: usize,
    /// Row-major N x dim, in the order of `Predictions::sample_ids`.
    pub samples: Vec<f32>,
    /// Row-major C x dim, in the order of `Predictions::classes` (may be empty).
    #[serde(default)]
    pub classes: Vec<f32>,
}

/// STAR: each sample's score for each (class, body part) pair.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartScores {
    /// Part names, e.g. head, hand, arm, hip, leg, foot.
    pub parts: Vec<String>,
    /// The NTU25 joints of each part (0-based).
    pub joints: Vec<Vec<usize>>,
    /// Row-major N x C x P (C in the order of `Predictions::classes`).
    pub scores: Vec<f32>,
}

/// InfoCPL: each sample's score for each (class, branch) pair.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BranchScores {
    /// Branch names, e.g. "top-1", "top-5", "all".
    pub branches: Vec<String>,
    /// Row-major N x C x B.
    pub scores: Vec<f32>,
}

impl FeatureExport {
    pub fn check(&self, n: usize, c: usize) -> Result<(), String> {
        if self.dim == 0 || self.samples.len() != n * self.dim {
            return Err(format!(
                "features: {} values for {n} samples of dimension {}",
                self.samples.len(),
                self.dim
            ));
        }
        if !self.classes.is_empty() && self.classes.len() != c * self.dim {
            return Err(format!(
                "features: {} class values for {c} classes of dimension {}",
                self.classes.len(),
                self.dim
            ));
        }
        if self
            .samples
            .iter()
            .chain(&self.classes)
            .any(|v| !v.is_finite())
        {
            return Err("features: a non-finite value".into());
        }
        Ok(())
    }

    pub fn sample(&self, i: usize) -> &[f32] {
        &self.samples[i * self.dim..(i + 1) * self.dim]
    }
}

impl PartScores {
    pub fn check(&self, n: usize, c: usize) -> Result<(), String> {
        let p = self.parts.len();
        if self.joints.len() != p {
            return Err(format!(
                "star: {} joint lists for {p} parts",
                self.joints.len()
            ));
        }
        if self.scores.len() != n * c * p {
            return Err(format!(
                "star: {} part scores for {n} samples x {c} classes x {p} parts",
                self.scores.len()
            ));
        }
        if self.scores.iter().any(|v| !v.is_finite()) {
            return Err("star: a non-finite part score".into());
        }
        Ok(())
    }

    /// The part scores of prediction row `row` for class column `col`.
    pub fn of(&self, row: usize, col: usize, num_classes: usize) -> &[f32] {
        let p = self.parts.len();
        let at = (row * num_classes + col) * p;
        &self.scores[at..at + p]
    }
}

impl BranchScores {
    pub fn check(&self, n: usize, c: usize) -> Result<(), String> {
        let b = self.branches.len();
        if self.scores.len() != n * c * b {
            return Err(format!(
                "infocpl: {} branch scores for {n} samples x {c} classes x {b} branches",
                self.scores.len()
            ));
        }
        if self.scores.iter().any(|v| !v.is_finite()) {
            return Err("infocpl: a non-finite branch score".into());
        }
        Ok(())
    }

    pub fn of(&self, row: usize, col: usize, num_classes: usize) -> &[f32] {
        let b = self.branches.len();
        let at = (row * num_classes + col) * b;
        &self.scores[at..at + b]
    }
}
