//! STAR (Chen et al., ACM MM 2024): fine-grained side information guided dual-prompt learning.
//!
//! **Visual side.** The encoder's pre-pooling feature map `F (T' x V x Cv)` is restricted to each body part's
//! joints ([`PartScheme`]), giving `T' * V_p` tokens per part ([`part_tokens`]). Per part, `m` learnable
//! visual-attribute prompts `Q_p (m x d)` are the queries of a multi-head cross-attention whose keys and values are
//! the part's tokens, followed by an FFN (`d -> d -> d`, ReLU):
//!
//! `E_p = FFN(MHA(Q_p, F_p, F_p))  (m x d)`,  `z_{p,i} = q_{p,i}^T W_p e_{p,i}`, so `z_p` is `m`-dimensional.
//!
//! **Text side.** Learnable semantic-part prompts `r_p (D)` are added to the part-description embeddings and a
//! per-part projector maps them to the `m`-dim space, `g_{p,c} = G_p(t_{p,c} + r_p)`; a second projector maps the
//! class names, `h_c = H(n_c)` (both `D -> hidden -> m`, ReLU).
//!
//! **Losses** (with `y` over the batch's class set):
//! - MPCE, part vs part description: `1/P sum_p CE(cos(z_p, g_{p,.}), y)`.
//! - SCE, part description vs class name: `1/P sum_p mean_c -log softmax_k(g_{p,c} . h_k)[c]`.
//! - GCE, summed visual vs class name: `CE(cos(sum_p z_p, h_.), y)`.
//!
//! `L = MPCE + alpha * SCE + beta * GCE`, `alpha = beta = 0.1`. Prediction: `cos(sum_p z_p, h_c)`.
//!
//! Deviations from the reference in the default preset, for an honest, CPU-sized model: the reference's
//! semantic-part prompts are one per (class, part), including the unseen classes; here there is one per part, shared
//! by all classes, so a trained model applies to any class set. The attention width `d` and prompt count `m` are
//! configurable (the reference uses `d = 768`, `m = 100`); SCE runs over the training classes only. The paper preset
//! (`zsl/preset.rs`) takes the reference's choices: per-(class, part) prompts ([`StarConfig::class_prompts`]),
//! `d = 768`, `m = 100`, `w ~ N(0, 1)`.

use candle_core::{D, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::blocks::{cosine_matrix, l2_normalize, linear, linear_frozen_input, relu};
use super::loss::{check_labels, cross_entropy, labels_vec};
use super::{
    ClassEmbeddings, ComponentKind, ComponentScores, Dims, FeatureBatch, JointEmbedding,
    JointSpace, MethodKind, ParamInit, Rescoring, Result, ScoreComponents, StepContext, ZslError,
    ZslMethod,
};
use crate::nn::kernels::ops::{repeat_rows, softmax_last_dim};
use crate::skeleton::PartScheme;

const NAME: &str = "STAR";
/// Samples per chunk when scoring ([`Star::visual_eval`]).
const EVAL_ROWS: usize = 32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StarConfig {
    /// Body parts: 2, 4 or 6.
    pub parts: usize,
    /// Visual-attribute prompts per part `m` (also the size of the shared semantic space).
    pub prompts: usize,
    /// Attention width `d`.
    pub dim: usize,
    pub heads: usize,
    /// Hidden size of the text projectors.
    pub hidden: usize,
    /// Weight of SCE.
    pub alpha: f64,
    /// Weight of GCE.
    pub beta: f64,
    /// Logit scale applied to the cosine similarities in MPCE and GCE (the reference uses 1).
    pub logit_scale: f64,
    /// Draw the bilinear read-out `w` from `N(0, 1)` as the official code does (`torch.randn`) instead of
    /// `N(0, 1/d)`, which keeps `z = q w` at the scale of `q` at any width.
    pub w_unit_init: bool,
    /// SCE over every class of the run, seen and unseen (the official `loss_pd_label`): transductive on the text
    /// side, so off unless asked for (`--transductive-text`) and labelled where reported.
    pub transductive_text: bool,
    /// `0`: one semantic-part prompt per part, shared by every class, zero-initialised (skelzero's). `C > 0`: one
    /// prompt per (class, part) for the run's `C` classes, seen and unseen, `N(0, 1)`, as the official `pd_prompt`
    /// (row `c` belongs to the `c`-th class of the run's class list, seen classes first). The prediction never reads
    /// them (it compares with the class names), and only SCE over every class reaches the unseen rows, so they train
    /// only with [`Self::transductive_text`], as in the official code, where `loss_pd_label` is their only loss.
    pub class_prompts: usize,
    /// Trained with the official online augmentation (each step re-crops and re-rotates every sample and runs the
    /// frozen encoder again). Recorded, not a switch: it is set where the caller had the encoder and the data to do
    /// it (`bench --preset paper` from raw data); a run on a feature file trains without it and says so.
    pub online_augment: bool,
}

impl Default for StarConfig {
    fn default() -> Self {
        Self {
            parts: 6,
            prompts: 32,
            dim: 128,
            heads: 4,
            hidden: 256,
            alpha: 0.1,
            beta: 0.1,
            logit_scale: 1.0,
            w_unit_init: false,
            transductive_text: false,
            class_prompts: 0,
            online_augment: false,
        }
    }
}

/// The tokens of one body part: `map (N, T', V, Cv)` restricted to `joints` -> `(N, T' * V_p, Cv)`, in f32 (a map
/// stored in half precision, `extract --map-f16`, is widened here, after the selection).
pub fn part_tokens(map: &Tensor, joints: &[usize]) -> Result<Tensor> {
    let (n, t, v, c) = map.dims4()?;
    if let Some(&bad) = joints.iter().find(|&&j| j >= v) {
        return Err(ZslError::Invalid(format!(
            "body-part joint {bad} out of range for a feature map with {v} joints"
        )));
    }
    let idx = super::index_tensor(joints, map.device())?;
    Ok(map
        .index_select(&idx, 2)?
        .reshape((n, t * joints.len(), c))?
        .to_dtype(candle_core::DType::F32)?)
}

struct PartBranch {
    joints: &'static [usize],
    queries: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn1: Linear,
    ffn2: Linear,
    /// `W_p` of the bilinear read-out.
    w: Tensor,
    /// Semantic-part prompt: `r_p (D)` shared, or `r_{p,c} (C, D)` per class ([`StarConfig::class_prompts`]).
    text_prompt: Tensor,
    text1: Linear,
    text2: Linear,
}

pub struct Star {
    parts: Vec<PartBranch>,
    name1: Linear,
    name2: Linear,
    cfg: StarConfig,
}

/// STAR's parameters that are not linear layers, by name and shape, and how they are drawn: the visual-attribute
/// prompts `prompts (m, d)` `N(0, 1)`, the bilinear read-out `w (d, d)` `N(0, 1/d)`, the shared semantic-part
/// prompt `text_prompt (D)` zeros, the per-class ones `class_prompt (C, D)` `N(0, 1)` (the official `pd_prompt`).
/// Stated once: [`Star::new`] hands them to candle as hints and [`super::seeded_init`] draws them from the seed.
pub fn param_init(leaf: &str, dims: &[usize]) -> Option<ParamInit> {
    match (leaf, dims) {
        ("prompts" | "class_prompt", _) => Some(ParamInit::Normal { std: 1.0 }),
        ("w", &[d, _]) => Some(ParamInit::Normal {
            std: 1.0 / (d as f32).sqrt(),
        }),
        ("text_prompt", _) => Some(ParamInit::Zeros),
        _ => None,
    }
}

/// [`param_init`] for a configuration: `w` from `N(0, 1)` with [`StarConfig::w_unit_init`].
pub fn param_init_for(cfg: &StarConfig) -> impl Fn(&str, &[usize]) -> Option<ParamInit> + use<> {
    let unit = cfg.w_unit_init;
    move |leaf, dims| match leaf {
        "w" if unit => Some(ParamInit::Normal { std: 1.0 }),
        _ => param_init(leaf, dims),
    }
}

/// The parameter `name` of shape `dims` under `vb`, initialised as [`param_init_for`] says.
fn own_param(cfg: &StarConfig, vb: &VarBuilder, dims: &[usize], name: &str) -> Result<Tensor> {
    let init = param_init_for(cfg)(name, dims)
        .ok_or_else(|| ZslError::Invalid(format!("STAR has no parameter `{name}`")))?;
    Ok(vb.get_with_hints(dims, name, init.hint())?)
}

impl Star {
    pub fn new(cfg: &StarConfig, dims: Dims, vb: VarBuilder) -> Result<Self> {
        let scheme = PartScheme::from_count(cfg.parts).ok_or_else(|| {
            ZslError::Invalid(format!("STAR: {} body parts (2, 4 or 6)", cfg.parts))
        })?;
        if cfg.heads == 0 || !cfg.dim.is_multiple_of(cfg.heads) {
            return Err(ZslError::Invalid(format!(
                "STAR: attention width {} is not divisible by {} heads",
                cfg.dim, cfg.heads
            )));
        }
        let parts = scheme
            .parts()
            .iter()
            .enumerate()
            .map(|(p, part)| {
                let vb = vb.pp(format!("part.{p}"));
                Ok(PartBranch {
                    joints: part.joints,
                    queries: own_param(cfg, &vb, &[cfg.prompts, cfg.dim], "prompts")?,
                    wq: candle_nn::linear(cfg.dim, cfg.dim, vb.pp("attn.q"))?,
                    wk: candle_nn::linear(dims.visual, cfg.dim, vb.pp("attn.k"))?,
                    wv: candle_nn::linear(dims.visual, cfg.dim, vb.pp("attn.v"))?,
                    wo: candle_nn::linear(cfg.dim, cfg.dim, vb.pp("attn.out"))?,
                    ffn1: candle_nn::linear(cfg.dim, cfg.dim, vb.pp("ffn.0"))?,
                    ffn2: candle_nn::linear(cfg.dim, cfg.dim, vb.pp("ffn.1"))?,
                    w: own_param(cfg, &vb, &[cfg.dim, cfg.dim], "w")?,
                    text_prompt: match cfg.class_prompts {
                        0 => own_param(cfg, &vb, &[dims.text], "text_prompt")?,
                        c => own_param(cfg, &vb, &[c, dims.text], "class_prompt")?,
                    },
                    text1: candle_nn::linear(dims.text, cfg.hidden, vb.pp("text.0"))?,
                    text2: candle_nn::linear(cfg.hidden, cfg.prompts, vb.pp("text.1"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            parts,
            name1: candle_nn::linear(dims.text, cfg.hidden, vb.pp("name.0"))?,
            name2: candle_nn::linear(cfg.hidden, cfg.prompts, vb.pp("name.1"))?,
            cfg: cfg.clone(),
        })
    }

    /// Cross-attention of the part's prompts over its tokens, FFN, bilinear read-out.
    ///
    /// # Shapes
    /// `tokens (N, L, Cv)` -> `z_p (N, m)`.
    fn part_visual(&self, b: &PartBranch, tokens: &Tensor) -> Result<Tensor> {
        let (n, l, _) = tokens.dims3()?;
        let (m, d) = b.queries.dims2()?;
        let h = self.cfg.heads;
        let dh = d / h;
        let q = linear(&b.wq, &b.queries)?
            .reshape((m, h, dh))?
            .transpose(0, 1)?; // (h, m, dh)
        let q = repeat_rows(&q, n)?; // (n, h, m, dh)
        let split = |x: Tensor| -> Result<Tensor> {
            Ok(x.reshape((n, l, h, dh))?.transpose(1, 2)?.contiguous()?)
        };
        // The tokens are frozen features: no gradient is computed for them.
        let k = split(linear_frozen_input(&b.wk, tokens)?)?; // (n, h, l, dh)
        let v = split(linear_frozen_input(&b.wv, tokens)?)?;
        let att = (q.matmul(&k.transpose(2, 3)?)? / (dh as f64).sqrt())?;
        let att = softmax_last_dim(&att)?;
        let o = att.matmul(&v)?.transpose(1, 2)?.reshape((n, m, d))?; // (n, m, d)
        let o = linear(&b.wo, &o)?;
        let e = linear(&b.ffn2, &relu(&linear(&b.ffn1, &o)?)?)?;
        // z_{n,i} = q_i^T W e_{n,i}
        let qw = b.queries.matmul(&b.w)?; // (m, d)
        Ok((e * repeat_rows(&qw, n)?)?.sum(D::Minus1)?)
    }

    /// `z (N, P, m)`.
    fn visual(&self, batch: &FeatureBatch) -> Result<Tensor> {
        let map = batch.map.as_ref().ok_or(ZslError::Missing {
            method: NAME,
            what: "the encoder's spatio-temporal feature map (a feature file from `extract --no-map` has none)",
        })?;
        let zs = self
            .parts
            .iter()
            .map(|b| self.part_visual(b, &part_tokens(map, b.joints)?))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::stack(&zs, 1)?)
    }

    /// `z (N, P, m)` for inference: [`Self::visual`] over chunks of [`EVAL_ROWS`] samples, each detached. With the
    /// paper preset's 100 x 768-d prompts, the six part transformers keep about 4 MB of activations per sample
    /// alive until their output is dropped (the parameters are tracked variables), so scoring 256 rows at once
    /// held about 1 GB per part: a `train --preset paper` on MSR peaked at 9 GB after one epoch.
    fn visual_eval(&self, batch: &FeatureBatch) -> Result<Tensor> {
        let n = batch.len();
        if n <= EVAL_ROWS {
            return Ok(self.visual(batch)?.detach());
        }
        let rows: Vec<usize> = (0..n).collect();
        let zs = rows
            .chunks(EVAL_ROWS)
            .map(|chunk| Ok(self.visual(&batch.select(chunk)?)?.detach()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&zs, 0)?)
    }

    /// Projected part descriptions `g (P, C, m)`.
    fn part_texts(&self, classes: &ClassEmbeddings) -> Result<Tensor> {
        let parts = classes.parts.as_ref().ok_or(ZslError::Missing {
            method: NAME,
            what: "body-part descriptions",
        })?;
        let (c, p, _) = parts.dims3()?;
        if p != self.parts.len() {
            return Err(ZslError::Invalid(format!(
                "STAR was built for {} body parts, the class texts have {p}",
                self.parts.len()
            )));
        }
        if self.cfg.class_prompts > 0 && c > self.cfg.class_prompts {
            return Err(ZslError::Invalid(format!(
                "STAR has per-class semantic-part prompts for {} classes, the class texts have {c}",
                self.cfg.class_prompts
            )));
        }
        let gs = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let prompt = match self.cfg.class_prompts {
                    0 => b.text_prompt.clone(),
                    _ => b.text_prompt.narrow(0, 0, c)?,
                };
                let t = parts.narrow(1, i, 1)?.squeeze(1)?.broadcast_add(&prompt)?;
                linear(&b.text2, &relu(&linear(&b.text1, &t)?)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::stack(&gs, 0)?)
    }

    /// Prediction scores `cos(sum_p z_p, h_c)` `(N, C)`, detached (inference; training uses [`Self::loss_terms`]).
    pub fn forward(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        let z = self.visual_eval(batch)?;
        cosine_matrix(&z.sum(1)?, &self.names(classes)?)
    }

    /// Projected class names `h (C, m)`.
    fn names(&self, classes: &ClassEmbeddings) -> Result<Tensor> {
        linear(&self.name2, &relu(&linear(&self.name1, &classes.names)?)?)
    }
}

// Loss.

impl Star {
    /// The three losses `(mpce, sce, gce)` of [`ZslMethod::loss`] (the official `loss_part_ce`, `loss_pd_label`,
    /// `loss_global_ce`); SCE spans `all` (every class of the run) with [`StarConfig::transductive_text`], the
    /// training classes otherwise.
    pub fn loss_terms(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        all: Option<&ClassEmbeddings>,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        check_labels(&labels_vec(labels)?, classes.num_classes())?;
        let z = self.visual(batch)?;
        let g = self.part_texts(classes)?;
        let h = self.names(classes)?;
        let (mpce, mut sce, gce) = star_losses(&z, &g, &h, labels, self.cfg.logit_scale)?;
        if self.cfg.transductive_text {
            let all = all.ok_or(ZslError::Missing {
                method: "STAR (transductive_text)",
                what: "the texts of every class of the run",
            })?;
            if self.cfg.class_prompts > 0 {
                check_seen_first(classes, all)?;
            }
            sce = semantic_part_ce(&self.part_texts(all)?, &self.names(all)?)?;
        }
        Ok((mpce, sce, gce))
    }
}

/// STAR's three losses from its projected features, returned as `(mpce, sce, gce)`.
///
/// # Shapes
/// `z (N, P, m)`, `g (P, C, m)`, `h (C, m)`, `labels (N,)` u32.
pub fn star_losses(
    z: &Tensor,
    g: &Tensor,
    h: &Tensor,
    labels: &Tensor,
    logit_scale: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    let p = z.dim(1)?;
    let mut mpce = Vec::with_capacity(p);
    for i in 0..p {
        let zp = z.narrow(1, i, 1)?.squeeze(1)?;
        let gp = g.narrow(0, i, 1)?.squeeze(0)?;
        mpce.push(cross_entropy(
            &(cosine_matrix(&zp, &gp)? * logit_scale)?,
            labels,
        )?);
    }
    let mpce = Tensor::stack(&mpce, 0)?.mean_all()?;
    let gce = cross_entropy(&(cosine_matrix(&z.sum(1)?, h)? * logit_scale)?, labels)?;
    Ok((mpce, semantic_part_ce(g, h)?, gce))
}

/// SCE: `1/P sum_p mean_c -log softmax_k(g_{p,c} . h_k)[c]` over the classes of `g (P, C, M)` and `h (C, M)`.
pub fn semantic_part_ce(g: &Tensor, h: &Tensor) -> Result<Tensor> {
    let p = g.dim(0)?;
    let c = h.dim(0)?;
    let diag = super::index_tensor(&(0..c).collect::<Vec<_>>(), h.device())?;
    let sce = (0..p)
        .map(|i| cross_entropy(&g.narrow(0, i, 1)?.squeeze(0)?.matmul(&h.t()?)?, &diag))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::stack(&sce, 0)?.mean_all()?)
}

/// Per-class prompts are rows of one table: row `c` must be the same class in the training classes and in the run's
/// full class list, so the training classes must open it, in order (as `GzslLayout` lists them: seen, then unseen).
fn check_seen_first(seen: &ClassEmbeddings, all: &ClassEmbeddings) -> Result<()> {
    let c = seen.num_classes();
    let same = c <= all.num_classes()
        && all
            .names
            .narrow(0, 0, c)?
            .sub(&seen.names)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?
            == 0.0;
    if same {
        Ok(())
    } else {
        Err(ZslError::Invalid(
            "STAR's per-class prompts need the training classes first, in order, in the run's class list".into(),
        ))
    }
}

impl ZslMethod for Star {
    fn kind(&self) -> MethodKind {
        MethodKind::Star
    }

    fn loss(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        ctx: &mut StepContext<'_>,
    ) -> Result<Tensor> {
        let (mpce, sce, gce) = self.loss_terms(batch, labels, classes, ctx.all_classes)?;
        Ok(((mpce + (sce * self.cfg.alpha)?)? + (gce * self.cfg.beta)?)?)
    }

    fn scores(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        self.forward(batch, classes)
    }

    fn as_rescoring(&self) -> Option<&dyn Rescoring> {
        Some(self)
    }

    fn as_component_scores(&self) -> Option<&dyn ComponentScores> {
        Some(self)
    }

    fn as_joint_space(&self) -> Option<&dyn JointSpace> {
        Some(self)
    }
}

// ---- Re-scoring and explorer helpers ----

/// Re-scoring after a class-text edit from `sum_p z_p`, equal to [`ZslMethod::scores`]; checked by
/// `one_class_columns_equal_a_full_rescoring_for_every_method` (src/pipeline/predict.rs).
impl Rescoring for Star {
    /// `sum_p z_p (N, m)`: the part transformers over the feature map, all of the cost.
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor> {
        Ok(self.visual_eval(batch)?.sum(1)?)
    }

    /// `cos(v, h_c)`, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor> {
        cosine_matrix(visual, &self.names(classes)?)
    }
}

/// Per-part scores that add up to [`ZslMethod::scores`]; checked by `components_add_up_to_the_score`
/// (tests/zsl_components.rs).
impl ComponentScores for Star {
    /// Each part's share of the score: `cos(sum_p z_p, h_c) = sum_p <z_p, h_c / |h_c|> / |sum_p z_p|`.
    fn score_components(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<ScoreComponents> {
        let z = self.visual_eval(batch)?; // (N, P, m)
        let (n, p, m) = z.dims3()?;
        let h = l2_normalize(&self.names(classes)?)?; // (C, m)
        let norm = z
            .sum(1)?
            .sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?; // (N, 1)
        let parts = z
            .reshape((n * p, m))?
            .matmul(&h.t()?)?
            .reshape((n, p, h.dim(0)?))?
            .broadcast_div(&norm.unsqueeze(2)?)?
            .transpose(1, 2)?
            .contiguous()?; // (N, C, P)
        let scheme = PartScheme::from_count(self.parts.len())
            .ok_or_else(|| ZslError::Invalid(format!("STAR: {} body parts", self.parts.len())))?;
        Ok(ScoreComponents {
            kind: ComponentKind::BodyParts {
                joints: self.parts.iter().map(|b| b.joints.to_vec()).collect(),
            },
            names: scheme.parts().iter().map(|q| q.name.to_owned()).collect(),
            scores: parts,
        })
    }
}

/// The semantic space the score is a cosine in; its sample points are [`Rescoring::visual_part`] made unit length.
/// Exported by `method_analysis` (src/pipeline/analysis.rs), whose class points `refresh_class_points`
/// (src/pipeline/predict.rs) recomputes after an edit.
impl JointSpace for Star {
    /// `sum_p z_p` and the projected class names `h_c`, both unit length: the score is their cosine, so a sample's
    /// nearest class point is its prediction.
    fn joint_embedding(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<JointEmbedding> {
        Ok(JointEmbedding {
            space: format!(
                "STAR's semantic space ({}-d): summed part features sum_p z_p; class points: class names through \
                 the name projector H; both unit length, so a sample's nearest class point is its prediction",
                self.cfg.prompts
            ),
            samples: l2_normalize(&self.visual_eval(batch)?.sum(1)?)?,
            classes: l2_normalize(&self.names(classes)?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsl::MethodConfig;
    use candle_core::Device;
    use rand::SeedableRng;

    /// Two parts, four 8-d prompts: small enough to check by hand.
    fn tiny_config() -> StarConfig {
        StarConfig {
            parts: 2,
            prompts: 4,
            dim: 8,
            heads: 2,
            hidden: 8,
            ..Default::default()
        }
    }

    fn classes(c: usize, salt: f32) -> ClassEmbeddings {
        let t = |k: usize, s: f32| -> Tensor {
            let v: Vec<f32> = (0..k).map(|i| (i as f32 * 0.73 + s).sin()).collect();
            Tensor::from_vec(v, k, &Device::Cpu).unwrap()
        };
        let names = t(c * 4, salt).reshape((c, 4)).unwrap();
        let mut e = ClassEmbeddings::new(names.clone(), names);
        e.parts = Some(t(c * 2 * 4, salt + 1.0).reshape((c, 2, 4)).unwrap());
        e
    }

    #[test]
    fn a_run_config_from_before_per_class_prompts_loads_with_shared_prompts() {
        let old = "method = \"star\"\nparts = 6\nprompts = 32\ndim = 128\nheads = 4\nhidden = 256\nalpha = 0.1\n\
                   beta = 0.1\nlogit_scale = 1.0\nw_unit_init = false\ntransductive_text = false\n";
        let MethodConfig::Star(cfg) = toml::from_str::<MethodConfig>(old).unwrap() else {
            panic!("a STAR config")
        };
        assert_eq!(cfg, StarConfig::default());
        assert_eq!(cfg.class_prompts, 0);
    }

    #[test]
    fn per_class_prompts_follow_the_run_class_list() -> Result<()> {
        let cfg = StarConfig {
            transductive_text: true,
            class_prompts: 5,
            ..tiny_config()
        };
        let m = MethodConfig::Star(cfg);
        let (method, varmap) = m.build_trainable(Dims { visual: 3, text: 4 }, &Device::Cpu, 1)?;
        let dims = varmap.data().lock().unwrap()["part.0.class_prompt"]
            .dims()
            .to_vec();
        assert_eq!(dims, [5, 4]);
        let map: Vec<f32> = (0..2 * 2 * 25 * 3)
            .map(|i| (i as f32 * 0.3).sin())
            .collect();
        let map = Tensor::from_vec(map, (2, 2, 25, 3), &Device::Cpu)?;
        let batch = FeatureBatch {
            pooled: map.mean(1)?.mean(1)?,
            masked: None,
            map: Some(map),
        };
        let labels = Tensor::new(&[0u32, 2], &Device::Cpu)?;
        let all = classes(5, 0.0);
        let seen = all.select(&[0, 1, 2])?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut loss_with = |seen: &ClassEmbeddings, all: &ClassEmbeddings| {
            let mut ctx = StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: Some(all),
            };
            method.loss(&batch, &labels, seen, &mut ctx)
        };
        assert!(loss_with(&seen, &all).is_ok());
        // The training classes out of the list's order would read other classes' prompts.
        let shuffled = all.select(&[1, 0, 2, 3, 4])?;
        assert!(matches!(
            loss_with(&seen, &shuffled),
            Err(ZslError::Invalid(_))
        ));
        // More classes than prompt rows.
        assert!(matches!(
            loss_with(&seen, &classes(6, 0.0)),
            Err(ZslError::Invalid(_))
        ));
        Ok(())
    }

    #[test]
    fn transductive_sce_reads_every_class_and_needs_them() -> Result<()> {
        let cfg = StarConfig {
            transductive_text: true,
            ..tiny_config()
        };
        let m = MethodConfig::Star(cfg);
        let (method, _) = m.build_trainable(Dims { visual: 3, text: 4 }, &Device::Cpu, 1)?;
        let map: Vec<f32> = (0..4 * 2 * 25 * 3)
            .map(|i| (i as f32 * 0.11).cos())
            .collect();
        let map = Tensor::from_vec(map, (4, 2, 25, 3), &Device::Cpu)?;
        let batch = FeatureBatch {
            pooled: map.mean(1)?.mean(1)?,
            masked: None,
            map: Some(map),
        };
        let labels = Tensor::new(&[0u32, 1, 2, 0], &Device::Cpu)?;
        let seen = classes(3, 0.0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut loss_with = |all: Option<&ClassEmbeddings>| -> Result<f32> {
            let mut ctx = StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: all,
            };
            Ok(method
                .loss(&batch, &labels, &seen, &mut ctx)?
                .to_scalar::<f32>()?)
        };
        assert!(matches!(loss_with(None), Err(ZslError::Missing { .. })));
        let a = loss_with(Some(&classes(5, 0.0)))?;
        let b = loss_with(Some(&classes(5, 2.0)))?;
        assert!(
            (a - b).abs() > 1e-4,
            "the unseen texts shape the loss: {a} vs {b}"
        );
        Ok(())
    }

    /// A map stored in half precision (`extract --map-f16`) is widened after the part selection: STAR scores it
    /// as the f32 map within the rounding, and its loss still reaches every trainable variable.
    #[test]
    fn a_half_precision_map_scores_as_the_f32_map() -> Result<()> {
        let (method, varmap) = MethodConfig::Star(tiny_config()).build_trainable(
            Dims { visual: 3, text: 4 },
            &Device::Cpu,
            1,
        )?;
        let map = ((Tensor::arange(0f32, 600.0, &Device::Cpu)? * 0.37)?.sin()? * 3.0)?;
        let map = map.reshape((4, 2, 25, 3))?;
        let batch = |map: Tensor| -> Result<FeatureBatch> {
            Ok(FeatureBatch {
                pooled: map.to_dtype(candle_core::DType::F32)?.mean(1)?.mean(1)?,
                masked: None,
                map: Some(map),
            })
        };
        let half = batch(map.to_dtype(candle_core::DType::F16)?)?;
        let (full, c) = (batch(map)?, classes(3, 0.0));
        let a = method.scores(&full, &c)?.flatten_all()?.to_vec1::<f32>()?;
        let b = method.scores(&half, &c)?.flatten_all()?.to_vec1::<f32>()?;
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 2e-3 * scale, "{x} vs {y}");
        }
        assert_ne!(a, b, "the f16 map was not rounded");
        let labels = Tensor::new(&[0u32, 1, 2, 0], &Device::Cpu)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut ctx = StepContext {
            epoch: 0,
            rng: &mut rng,
            all_classes: None,
        };
        let grads = method.loss(&half, &labels, &c, &mut ctx)?.backward()?;
        for (name, var) in varmap.data().lock().unwrap().iter() {
            assert!(
                grads.get(var.as_tensor()).is_some(),
                "no gradient for {name}"
            );
        }
        Ok(())
    }
}
