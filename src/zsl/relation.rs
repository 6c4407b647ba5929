//! Relation Network (Sung et al., CVPR 2018) for zero-shot learning, the second baseline of SynSE and SMIE.
//!
//! The class text is embedded into the visual space, `e(t) = ReLU(W_2 ReLU(W_1 t))` (`D -> H -> Cv`), concatenated
//! with the visual feature, and a relation module scores the pair in `[0, 1]`:
//!
//! `r(v, t) = sigmoid(w_4^T ReLU(W_3 [v, e(t)]))`
//!
//! Training regresses the relation score to the one-hot label with the mean squared error over all
//! (sample, class) pairs of the batch's class set.

use candle_core::{D, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::blocks::{linear, pair_hidden, pair_linear, relu, weight_half};
use super::loss::{check_labels, labels_vec, one_hot};
use super::{
    ClassEmbeddings, Dims, FeatureBatch, MethodKind, Rescoring, Result, StepContext, ZslMethod,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RelationConfig {
    /// Hidden size of the text embedding network.
    pub text_hidden: usize,
    /// Hidden size of the relation module.
    pub relation_hidden: usize,
}

impl Default for RelationConfig {
    fn default() -> Self {
        Self {
            text_hidden: 1024,
            relation_hidden: 400,
        }
    }
}

pub struct RelationNet {
    text1: Linear,
    text2: Linear,
    rel1: Linear,
    rel2: Linear,
}

impl RelationNet {
    pub fn new(cfg: &RelationConfig, dims: Dims, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            text1: candle_nn::linear(dims.text, cfg.text_hidden, vb.pp("text.0"))?,
            text2: candle_nn::linear(cfg.text_hidden, dims.visual, vb.pp("text.1"))?,
            rel1: candle_nn::linear(2 * dims.visual, cfg.relation_hidden, vb.pp("relation.0"))?,
            rel2: candle_nn::linear(cfg.relation_hidden, 1, vb.pp("relation.1"))?,
        })
    }

    /// The class texts embedded into the visual space, `e(t) = ReLU(W_2 ReLU(W_1 t))`: `texts (C, D)` -> `(C, Cv)`.
    fn embed_texts(&self, texts: &Tensor) -> Result<Tensor> {
        relu(&linear(&self.text2, &relu(&linear(&self.text1, texts)?)?)?)
    }

    /// # Shapes
    /// `visual (N, Cv)`, `texts (C, D)` -> relation scores `(N, C)` in `[0, 1]`.
    pub fn forward(&self, visual: &Tensor, texts: &Tensor) -> Result<Tensor> {
        let e = self.embed_texts(texts)?;
        let n = visual.dim(0)?;
        let c = e.dim(0)?;
        // rel1 over every [v_n, e_c] without building the (N, C, 2 Cv) pairs.
        let ones = Tensor::ones((c, n, 1), e.dtype(), e.device())?;
        let x = relu(&pair_linear(&self.rel1, visual, &ones, &e.unsqueeze(1)?)?)?; // (C, N, H)
        let r = linear(&self.rel2, &x)?.squeeze(D::Minus1)?.t()?; // (N, C)
        Ok(candle_nn::ops::sigmoid(&r)?)
    }
}

// Loss: the mean squared error of the relation scores against the one-hot labels, in `ZslMethod::loss`.

impl ZslMethod for RelationNet {
    fn kind(&self) -> MethodKind {
        MethodKind::RelationNet
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
        let r = self.forward(&batch.pooled, &classes.sentences)?;
        let target = one_hot(&labels, classes.num_classes(), r.device())?;
        Ok((r - target)?.sqr()?.mean_all()?)
    }

    fn scores(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        self.forward(&batch.pooled, &classes.sentences)
    }

    fn as_rescoring(&self) -> Option<&dyn Rescoring> {
        Some(self)
    }
}

// ---- Re-scoring and explorer helpers ----

/// Re-scoring after a class-text edit from the relation module's first-layer visual half, equal to
/// [`ZslMethod::scores`]; checked by `one_class_columns_equal_a_full_rescoring_for_every_method`
/// (src/pipeline/predict.rs).
impl Rescoring for RelationNet {
    /// The relation module's first-layer visual half `W1_v v (N, H)`.
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor> {
        let w = weight_half(&self.rel1, batch.pooled.dim(1)?, false)?;
        Ok(batch.pooled.matmul(&w)?)
    }

    /// `sigmoid(w_4^T ReLU(W1_v v + W1_e e(t_c) + b_1))`, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor> {
        let e = self.embed_texts(&classes.sentences)?;
        let mut b = e.matmul(&weight_half(&self.rel1, e.dim(1)?, true)?)?;
        if let Some(bias) = self.rel1.bias() {
            b = b.broadcast_add(bias)?;
        }
        let r = linear(&self.rel2, &pair_hidden(visual, &b)?)?.squeeze(D::Minus1)?;
        Ok(candle_nn::ops::sigmoid(&r)?)
    }
}
