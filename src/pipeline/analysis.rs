//! Optional parts of a run's `predictions.json` for the analysis views: skeleton features and projected class-text
//! embeddings (t-SNE), STAR's per-part scores (painted on the body) and InfoCPL's per-branch scores. Files written
//! before these existed load without them.

use serde::{Deserialize, Serialize};

use crate::zsl::{ClassEmbeddings, ComponentKind, FeatureBatch, MethodKind, ZslError, ZslMethod};

/// Skeleton features of the scored samples and the class-text embeddings mapped into the same space.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureExport {
    pub dim: usize,
    /// Row-major N x dim, in the order of `Predictions::sample_ids`.
    pub samples: Vec<f32>,
    /// Row-major C x dim, in the order of `Predictions::classes` (may be empty).
    #[serde(default)]
    pub classes: Vec<f32>,
    /// What space the points live in (or why there are no class points), for the UI; empty in older files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub space: String,
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

/// A method's scores of some samples against some classes with what the analysis views read.
#[derive(Clone, Debug, Default)]
pub struct MethodAnalysis {
    /// Row-major N x C.
    pub scores: Vec<f32>,
    pub features: FeatureExport,
    pub star: Option<PartScores>,
    pub infocpl: Option<BranchScores>,
}

/// Scores `feats` against `classes` in batches of `batch` rows, with the method's score components and its joint
/// embedding (samples and class texts in one space) or, for methods without one, the pooled encoder features.
/// `progress(done, total)` runs after every batch; returning `false` cancels with an error.
pub fn method_analysis(
    method: &dyn ZslMethod,
    feats: &FeatureBatch,
    classes: &ClassEmbeddings,
    batch: usize,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<MethodAnalysis, ZslError> {
    let n = feats.len();
    let rows: Vec<usize> = (0..n).collect();
    let mut scores = Vec::with_capacity(n * classes.num_classes());
    let mut components = Vec::new();
    let mut meta = None;
    let mut joint_samples = Vec::new();
    let mut joint = None;
    for chunk in rows.chunks(batch.max(1)) {
        let b = feats.select(chunk)?;
        let comps = method
            .as_component_scores()
            .map(|c| c.score_components(&b, classes))
            .transpose()?;
        // A branch method's score is the mean of its branches: computing it again would double the cost.
        let s = match &comps {
            Some(sc) if matches!(sc.kind, ComponentKind::Branches) => sc.scores.mean(2)?,
            _ => method.scores(&b, classes)?,
        };
        scores.extend(s.flatten_all()?.to_vec1::<f32>()?);
        if let Some(sc) = comps {
            components.extend(sc.scores.flatten_all()?.to_vec1::<f32>()?);
            meta = Some((sc.kind, sc.names));
        }
        if let Some(j) = method
            .as_joint_space()
            .map(|s| s.joint_embedding(&b, classes))
            .transpose()?
        {
            joint_samples.extend(j.samples.flatten_all()?.to_vec1::<f32>()?);
            joint = Some(j);
        }
        if !progress(chunk[chunk.len() - 1] + 1, n) {
            return Err(ZslError::Invalid("cancelled".into()));
        }
    }
    let features = match joint {
        Some(j) => FeatureExport {
            dim: j.classes.dim(1)?,
            samples: joint_samples,
            classes: j.classes.flatten_all()?.to_vec1::<f32>()?,
            space: j.space,
        },
        None => FeatureExport {
            dim: feats.visual_dim(),
            samples: feats.pooled.flatten_all()?.to_vec1::<f32>()?,
            classes: Vec::new(),
            space: format!(
                "skeleton-encoder features ({}-d). {}",
                feats.visual_dim(),
                text_points_note(method.kind())
            ),
        },
    };
    let (star, infocpl) = match meta {
        Some((ComponentKind::BodyParts { joints }, names)) => (
            Some(PartScores {
                parts: names,
                joints,
                scores: components,
            }),
            None,
        ),
        Some((ComponentKind::Branches, names)) => (
            None,
            Some(BranchScores {
                branches: names,
                scores: components,
            }),
        ),
        None => (None, None),
    };
    Ok(MethodAnalysis {
        scores,
        features,
        star,
        infocpl,
    })
}

/// Why `kind` shows no class-text points in the t-SNE.
pub fn text_points_note(kind: MethodKind) -> &'static str {
    kind.no_text_points()
        .unwrap_or("This run exported no class-text points.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsl::{Dims, MethodConfig};
    use candle_core::{Device, Tensor};

    fn inputs() -> (FeatureBatch, ClassEmbeddings) {
        let dev = Device::Cpu;
        let t = |shape: (usize, usize), seed: u64| {
            let v: Vec<f32> = (0..shape.0 * shape.1)
                .map(|i| ((i as u64 * 7919 + seed * 104_729) % 997) as f32 / 500.0 - 1.0)
                .collect();
            Tensor::from_vec(v, shape, &dev).unwrap()
        };
        // Class texts are unit sentence vectors, as the sentence encoders give them.
        let unit = |t: Tensor| crate::zsl::blocks::l2_normalize(&t).unwrap();
        let classes = ClassEmbeddings {
            names: unit(t((4, 5), 1)),
            sentences: unit(t((4, 5), 2)),
            parts: None,
            phrases: None,
            motion: None,
        };
        (FeatureBatch::from_pooled(t((9, 6), 3)), classes)
    }

    #[test]
    fn text_points_where_the_method_has_a_joint_space() {
        let (feats, classes) = inputs();
        let dims = Dims { visual: 6, text: 5 };
        let build = |kind| {
            MethodConfig::default_for(kind)
                .build_trainable(dims, &Device::Cpu, 1)
                .unwrap()
                .0
        };
        // DeViSE: its text space, where each sample's nearest class point is its best-scoring class.
        let devise = build(MethodKind::Devise);
        let a = method_analysis(devise.as_ref(), &feats, &classes, 4, &mut |_, _| true).unwrap();
        assert_eq!((a.features.dim, a.features.classes.len()), (5, 4 * 5));
        for row in 0..9 {
            let s = a.features.sample(row);
            let dist = |c: usize| -> f32 {
                (0..5)
                    .map(|k| (s[k] - a.features.classes[c * 5 + k]).powi(2))
                    .sum()
            };
            let nearest = (0..4).min_by(|&x, &y| dist(x).total_cmp(&dist(y)));
            let best =
                (0..4).max_by(|&x, &y| a.scores[row * 4 + x].total_cmp(&a.scores[row * 4 + y]));
            assert_eq!(nearest, best, "row {row}");
        }
        // RelationNet: encoder features, no class points, and the reason.
        let relation = build(MethodKind::RelationNet);
        let a = method_analysis(relation.as_ref(), &feats, &classes, 4, &mut |_, _| true).unwrap();
        assert_eq!(a.features.dim, 6);
        assert!(a.features.classes.is_empty());
        assert!(
            a.features
                .space
                .contains("RelationNet has no class-text points")
        );
        // Cancelling stops after the first batch.
        let err = method_analysis(relation.as_ref(), &feats, &classes, 4, &mut |_, _| false);
        assert!(err.is_err());
    }
}
