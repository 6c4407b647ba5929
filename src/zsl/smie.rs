//! SMIE (Zhou et al., ACM MM 2023): zero-shot skeleton action recognition by mutual-information estimation.
//!
//! An estimation network `T(v, t)` scores a pair of a visual feature and a class text: an MLP over
//! `[LN(v), t]` (LayerNorm without affine parameters on the 256-d feature; `t` the L2-normalised sentence),
//! `Cv+D -> 1024 -> 512 -> 1` with ReLU, as in the reference `GlobalDiscriminator`.
//!
//! Jensen-Shannon MI lower bound, with positives `(v_i, t_{y_i})` and negatives pairing `t_{y_i}` with the next
//! visual feature of the batch (`v_{i+1 mod N}`, the reference's roll by one):
//!
//! `I(v; t) = E_pos[-softplus(-T(v_i, t_i))] - E_neg[softplus(T(v_{i+1}, t_i))]`
//!
//! Temporal constraint: the same estimate with the positive visual feature replaced by the feature of the
//! sequence whose motion keyframes are masked ([`keyframe_mask`]), `I_m`, and a hinge keeping the global estimate
//! above it by a margin:
//!
//! `L = -I + lambda * max(0, margin - (I - I_m))` (reference: lambda = 0.5, margin = 0.1).
//!
//! Prediction: `argmax_c -softplus(-T(v, t_c))`.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use rand::Rng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

use super::blocks::{Estimator, layer_norm_plain, softplus};
use super::loss::{check_labels, labels_vec};
use super::{
    ClassEmbeddings, Dims, FeatureBatch, MethodKind, Rescoring, Result, StepContext, ZslMethod,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmieConfig {
    /// Hidden sizes of the estimation network.
    pub hidden: [usize; 2],
    /// Weight of the temporal hinge (reference 0.5).
    pub lambda: f64,
    /// Margin of the temporal hinge (reference 0.1).
    pub margin: f64,
    /// Keyframes masked when building the temporally-constrained view (reference: 15 of 50 frames).
    pub mask_frames: usize,
    /// Apply the training-time LayerNorm to the visual feature when scoring. The official `get_acc` (model.py)
    /// scores the raw feature with an estimator trained on normalised ones; skelzero normalises on both sides.
    pub ln_at_inference: bool,
    /// Which class text the estimator pairs with: the class sentence (the paper's SMIE_Chat variant) or the label
    /// name (the main SMIE).
    pub text: SmieText,
}

/// The class text SMIE pairs a visual feature with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmieText {
    #[default]
    Sentences,
    Names,
}

impl Default for SmieConfig {
    fn default() -> Self {
        Self {
            hidden: [1024, 512],
            lambda: 0.5,
            margin: 0.1,
            mask_frames: 15,
            ln_at_inference: true,
            text: SmieText::Sentences,
        }
    }
}

/// SMIE: the estimation network `T(v, t)` ([`Estimator`], `Cv+D -> 1024 -> 512 -> 1`) over `[LN(v), t]`.
pub struct Smie {
    estimator: Estimator,
    cfg: SmieConfig,
}

impl Smie {
    pub fn new(cfg: &SmieConfig, dims: Dims, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            estimator: Estimator::new(dims.visual + dims.text, cfg.hidden, vb.pp("estimator"))?,
            cfg: cfg.clone(),
        })
    }

    /// Prediction scores `-softplus(-T(LN(v_n), t_c))` (`T(v_n, t_c)` without [`SmieConfig::ln_at_inference`]).
    ///
    /// # Shapes
    /// `visual (N, Cv)`, `texts (C, D)` -> `(N, C)`.
    pub fn forward(&self, visual: &Tensor, texts: &Tensor) -> Result<Tensor> {
        let v = self.inference_visual(visual)?;
        let t = self.estimator.forward_pairs(&v, texts)?;
        Ok(softplus(&t.neg()?)?.neg()?)
    }

    /// The visual feature as scoring sees it.
    fn inference_visual(&self, visual: &Tensor) -> Result<Tensor> {
        if self.cfg.ln_at_inference {
            layer_norm_plain(visual)
        } else {
            Ok(visual.clone())
        }
    }

    /// The class texts the estimator pairs with (`(C, D)`).
    pub fn class_texts<'a>(&self, classes: &'a ClassEmbeddings) -> &'a Tensor {
        match self.cfg.text {
            SmieText::Sentences => &classes.sentences,
            SmieText::Names => &classes.names,
        }
    }

    /// The official `MI.forward` (model.py): the Jensen-Shannon estimate `I(v; t)` of paired rows (`t_i` the text
    /// of sample `i`), negatives the batch rolled by one.
    ///
    /// # Shapes
    /// `visual (N, Cv)`, `texts (N, D)` -> scalar.
    pub fn mi_global(&self, visual: &Tensor, texts: &Tensor) -> Result<Tensor> {
        Ok(self.mi(visual, None, texts)?.0)
    }

    /// The official `MI.temp_constrain`: the estimate with the masked features as positives and the global
    /// features rolled by one as negatives.
    ///
    /// # Shapes
    /// `visual (N, Cv)`, `masked (N, Cv)`, `texts (N, D)` -> scalar.
    pub fn mi_masked(&self, visual: &Tensor, masked: &Tensor, texts: &Tensor) -> Result<Tensor> {
        self.mi(visual, Some(masked), texts)?
            .1
            .ok_or_else(|| super::ZslError::Invalid("SMIE: no masked estimate".into()))
    }
}

// The temporally masked view the temporal constraint compares with, built once per sample at feature extraction.

/// Bidirectional motion attention of each frame: the mean over joints, bodies and coordinates of the squared
/// displacement to the previous and the next frame (the reference `motion_att_temp_mask2`; the first frame has no
/// previous, the last no next displacement).
///
/// `data` is `frames x per_frame` row-major (e.g. a [`crate::skeleton::Sequence`]'s data).
pub fn motion_attention(data: &[f32], frames: usize) -> Vec<f32> {
    if frames == 0 {
        return Vec::new();
    }
    let per = data.len() / frames;
    let frame = |t: usize| &data[t * per..(t + 1) * per];
    (0..frames)
        .map(|t| {
            let mut acc = 0f64;
            for nb in [t.checked_sub(1), (t + 1 < frames).then_some(t + 1)]
                .into_iter()
                .flatten()
            {
                acc += frame(t)
                    .iter()
                    .zip(frame(nb))
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>();
            }
            (acc / per.max(1) as f64) as f32
        })
        .collect()
}

/// The frames kept by SMIE's temporal mask, in time order: drop the `mask` frames of highest motion attention,
/// then drop `mask` more at random (the reference keeps `T - 2m` frames). Returns all frames when too short.
pub fn keyframe_mask(attention: &[f32], mask: usize, rng: &mut impl Rng) -> Vec<usize> {
    let t = attention.len();
    if t <= 2 * mask || mask == 0 {
        return (0..t).collect();
    }
    let mut order: Vec<usize> = (0..t).collect();
    order.sort_by(|&a, &b| attention[a].total_cmp(&attention[b]).then(a.cmp(&b)));
    let mut low: Vec<usize> = order[..t - mask].to_vec();
    low.sort_unstable();
    let mut keep: Vec<usize> = sample(rng, low.len(), low.len() - mask)
        .into_iter()
        .map(|i| low[i])
        .collect();
    keep.sort_unstable();
    keep
}

/// SMIE's temporally-constrained view of a sequence: the frames [`keyframe_mask`] keeps, in time order. The
/// encoder's features of this sequence are the `masked` features of a [`FeatureBatch`]; compute them once per
/// sample when extracting. (The reference resamples the random part every step; one draw per sample keeps the frozen
/// features precomputable.)
pub fn keyframe_masked(
    seq: &crate::skeleton::Sequence,
    mask: usize,
    rng: &mut impl Rng,
) -> Result<crate::skeleton::Sequence, crate::skeleton::SequenceError> {
    let frames = seq.frames();
    let att = motion_attention(seq.data(), frames);
    let keep = keyframe_mask(&att, mask, rng);
    let per = seq.data().len().checked_div(frames).unwrap_or(0);
    let mut data = Vec::with_capacity(keep.len() * per);
    for &t in &keep {
        data.extend_from_slice(&seq.data()[t * per..(t + 1) * per]);
    }
    crate::skeleton::Sequence::new(seq.layout_id(), keep.len(), seq.bodies(), data)
}

// Loss.

/// The Jensen-Shannon MI lower bound from the estimator outputs of positive and negative pairs (any equal shapes).
pub fn jsd_mi(pos: &Tensor, neg: &Tensor) -> Result<Tensor> {
    let ej = softplus(&pos.neg()?)?.neg()?.mean_all()?;
    let em = softplus(neg)?.mean_all()?;
    Ok((ej - em)?)
}

/// SMIE's total loss from the global and masked MI estimates: `-I + lambda * max(0, margin - (I - I_m))`.
pub fn smie_loss(mi: &Tensor, mi_masked: &Tensor, lambda: f64, margin: f64) -> Result<Tensor> {
    let hinge = ((mi - mi_masked)?.neg()? + margin)?.relu()?;
    Ok((mi.neg()? + (hinge * lambda)?)?)
}

/// Rolls rows by one: row `i` of the result is row `i+1 mod N` (the reference's negatives).
fn roll_rows(x: &Tensor) -> Result<Tensor> {
    let n = x.dim(0)?;
    if n < 2 {
        return Ok(x.clone());
    }
    Ok(Tensor::cat(
        &[x.narrow(0, 1, n - 1)?, x.narrow(0, 0, 1)?],
        0,
    )?)
}

impl Smie {
    /// Global MI estimate, and the masked one when `masked` is given.
    fn mi(
        &self,
        visual: &Tensor,
        masked: Option<&Tensor>,
        texts: &Tensor,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let v0 = layer_norm_plain(visual)?;
        let fake = roll_rows(&v0)?;
        let neg = self.estimator.forward(&fake, texts)?;
        let pos = self.estimator.forward(&v0, texts)?;
        let mi = jsd_mi(&pos, &neg)?;
        let mi_masked = match masked {
            Some(m) => {
                let v1 = layer_norm_plain(m)?;
                let pos1 = self.estimator.forward(&v1, texts)?;
                Some(jsd_mi(&pos1, &neg)?)
            }
            None => None,
        };
        Ok((mi, mi_masked))
    }
}

impl ZslMethod for Smie {
    fn kind(&self) -> MethodKind {
        MethodKind::Smie
    }

    fn loss(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        _ctx: &mut StepContext<'_>,
    ) -> Result<Tensor> {
        check_labels(&labels_vec(labels)?, classes.num_classes())?;
        let texts = self.class_texts(classes).index_select(labels, 0)?;
        let (mi, mi_masked) = self.mi(&batch.pooled, batch.masked.as_ref(), &texts)?;
        match mi_masked {
            Some(m) => smie_loss(&mi, &m, self.cfg.lambda, self.cfg.margin),
            None => Ok(mi.neg()?),
        }
    }

    fn scores(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        self.forward(&batch.pooled, self.class_texts(classes))
    }

    fn as_rescoring(&self) -> Option<&dyn Rescoring> {
        Some(self)
    }
}

// ---- Re-scoring and explorer helpers ----

/// Re-scoring after a class-text edit from the estimator's first-layer visual half of the normalised features,
/// equal to [`ZslMethod::scores`]; checked by `one_class_columns_equal_a_full_rescoring_for_every_method`
/// (src/pipeline/predict.rs).
impl Rescoring for Smie {
    /// The estimator's first-layer visual half of the normalised features (its largest input).
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor> {
        let v = self.inference_visual(&batch.pooled)?;
        self.estimator.visual_half(&v)
    }

    /// `-softplus(-T(v, t_c))` from the cached visual half, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor> {
        let e = self
            .estimator
            .forward_from_half(visual, self.class_texts(classes))?;
        Ok(softplus(&e.neg()?)?.neg()?)
    }
}
