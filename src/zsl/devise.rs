//! DeViSE (Frome et al., NeurIPS 2013), the linear-compatibility baseline of SynSE, SMIE, InfoCPL and STAR.
//!
//! A linear map `M` projects the visual feature into the text space; compatibility is the dot product
//! `s(v, t) = t^T M v` with the L2-normalised class sentence `t`. Training uses DeViSE's hinge rank loss
//!
//! `L = 1/N sum_i sum_{j != y_i} max(0, margin - s(v_i, t_{y_i}) + s(v_i, t_j))`
//!
//! over the classes of the batch's class set.

use candle_core::{D, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::blocks::{l2_normalize, linear};
use super::loss::{check_labels, labels_vec, one_hot};
use super::{
    ClassEmbeddings, Dims, FeatureBatch, JointEmbedding, JointSpace, MethodKind, Rescoring, Result,
    StepContext, ZslMethod,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviseConfig {
    /// Hinge margin (0.1 in the DeViSE paper).
    pub margin: f64,
}

impl Default for DeviseConfig {
    fn default() -> Self {
        Self { margin: 0.1 }
    }
}

pub struct Devise {
    proj: Linear,
    margin: f64,
}

impl Devise {
    pub fn new(cfg: &DeviseConfig, dims: Dims, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            proj: candle_nn::linear(dims.visual, dims.text, vb.pp("proj"))?,
            margin: cfg.margin,
        })
    }

    /// Compatibility scores `t_c^T M v_n`.
    ///
    /// # Shapes
    /// `visual (N, Cv)`, `texts (C, D)` -> `(N, C)`.
    pub fn forward(&self, visual: &Tensor, texts: &Tensor) -> Result<Tensor> {
        Ok(linear(&self.proj, visual)?.matmul(&texts.t()?)?)
    }
}

// Loss.

/// DeViSE's hinge rank loss on a score matrix `(N, C)`: the mean over samples of the summed violations.
pub fn hinge_rank_loss(scores: &Tensor, labels: &[usize], margin: f64) -> Result<Tensor> {
    let (n, c) = scores.dims2()?;
    let onehot = one_hot(labels, c, scores.device())?;
    let pos = (scores * &onehot)?.sum_keepdim(D::Minus1)?; // (N, 1)
    let viol = (scores.broadcast_sub(&pos)? + margin)?.relu()?;
    // The positive class contributes max(0, margin) = margin; remove it.
    let viol = (viol * (1.0 - onehot)?)?;
    Ok((viol.sum_all()? / n as f64)?)
}

impl ZslMethod for Devise {
    fn kind(&self) -> MethodKind {
        MethodKind::Devise
    }

    fn loss(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        _ctx: &mut StepContext<'_>,
    ) -> Result<Tensor> {
        let labels = labels_vec(labels)?;
        check_labels(&labels, classes.num_classes())?;
        let s = self.forward(&batch.pooled, &classes.sentences)?;
        hinge_rank_loss(&s, &labels, self.margin)
    }

    fn scores(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        self.forward(&batch.pooled, &classes.sentences)
    }

    fn as_rescoring(&self) -> Option<&dyn Rescoring> {
        Some(self)
    }

    fn as_joint_space(&self) -> Option<&dyn JointSpace> {
        Some(self)
    }
}

// ---- Re-scoring and explorer helpers ----

/// Re-scoring after a class-text edit from the projected features, equal to [`ZslMethod::scores`]; checked by
/// `one_class_columns_equal_a_full_rescoring_for_every_method` (src/pipeline/predict.rs).
impl Rescoring for Devise {
    /// The projected features `M v (N, D)`.
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor> {
        linear(&self.proj, &batch.pooled)
    }

    /// `M v t_c`, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor> {
        Ok(visual.matmul(&classes.sentences.t()?)?)
    }
}

/// The text space the score is a dot product in; each sample's nearest class point is its best-scoring class,
/// checked by `text_points_where_the_method_has_a_joint_space` (src/pipeline/analysis.rs); an edit moves only the
/// edited class's point, checked by `an_edit_moves_only_the_edited_class_text_point` (src/pipeline/predict.rs).
impl JointSpace for Devise {
    /// `M v` and the class sentences, both unit length: a sample's score ranks classes as its cosine does (its own
    /// `|M v|` is shared by every class), so its nearest class point is its zero-shot prediction.
    fn joint_embedding(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<JointEmbedding> {
        Ok(JointEmbedding {
            space: format!(
                "text space ({}-d): skeleton features projected by DeViSE's linear map M; class points: the class \
                 sentences; both unit length, so a sample's nearest class point is its prediction",
                classes.dim()
            ),
            samples: l2_normalize(&linear(&self.proj, &batch.pooled)?)?,
            classes: l2_normalize(&classes.sentences)?,
        })
    }
}
