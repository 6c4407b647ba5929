//! InfoCPL (Xu et al., 2024): information-compensated prompt learning with a codebook of description phrases.
//!
//! Each class `c` has a codebook `P_c` of `K` phrase embeddings and one motion-description embedding `m_c`.
//! Branch `b` (with its own `k_b`, e.g. `k in {1, 5, 10, ...}`) projects the visual feature into the text space,
//! `u_b = LN(W_b v)` (no affine), attends over each class's codebook keeping only its top-`k_b` scores
//!
//! `a_{c,j} = rho * <P_{c,j}, u_b> / sqrt(D)`, masked to `-inf` outside the top-`k_b` of `a_c`,
//! `l_{b,c} = softmax_j(a_c) P_c + m_c`,
//!
//! and scores with its own estimator MLP `T_b([u_b, l_{b,c}])` (`2D -> 1024 -> 512 -> 1`). During the warm-up
//! epochs `rho = -1`: the attention is inverted and the branch attends to its *least* similar phrases
//! (top-k of the negated scores = lowest-k), which the paper uses to spread the codebook's gradient; afterwards
//! `rho = 1`.
//!
//! Loss per branch: InfoNCE with X-sampling negatives. With `s_{i,c} = softplus(T_b(u_{b,i}, l_{b,i,c}))`, the
//! anchor `i`'s positive is `s_{i,y_i}` and its negatives are other skeletons of the batch `j` (with `y_j != y_i`)
//! scored against the anchor's class `y_i`:
//!
//! `L_b = -1/N sum_i log( e^{s_{i,y_i}} / (e^{s_{i,y_i}} + sum_{j in Neg(i)} e^{s_{j,y_i}}) )`,
//!
//! `|Neg(i)| = min(negatives, min_i #{j : y_j != y_i})`. The total loss and the prediction score
//! `-softplus(-T_b)` are averaged over the branches.

use candle_core::{D, Tensor};
use candle_nn::{Linear, VarBuilder};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::blocks::{Estimator, l2_normalize, layer_norm_plain, linear, softplus};
use super::branch_set::{BranchSet, BranchSpec};
use super::loss::{check_labels, labels_vec};
use super::{
    ClassEmbeddings, ComponentKind, ComponentScores, Dims, FeatureBatch, JointEmbedding,
    JointSpace, MethodKind, Rescoring, Result, ScoreComponents, StepContext, ZslError, ZslMethod,
};

const NAME: &str = "InfoCPL";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InfoCplConfig {
    /// The `k` of each branch's top-k attention (clamped to the codebook size).
    pub topk: Vec<usize>,
    /// Epochs with inverted (lowest-k) attention (reference: 15 of 100).
    pub warmup_epochs: usize,
    /// X-sampling negatives per anchor (reference 8).
    pub negatives: usize,
    /// Hidden sizes of each branch's estimator.
    pub hidden: [usize; 2],
    /// Draw one random set of ranks shared by every anchor ([`sample_negatives_shared`], the official
    /// `info_nce`) instead of each anchor's own negatives ([`sample_negatives`]).
    pub shared_negatives: bool,
}

impl Default for InfoCplConfig {
    fn default() -> Self {
        Self {
            // The reference uses k in {1, 5, 10, ..., 45} over 100 phrases and a 1024-512 estimator; fewer, narrower
            // branches keep the CPU cost of scoring every (sample, class) pair per branch affordable.
            topk: vec![1, 5],
            warmup_epochs: 5,
            negatives: 8,
            hidden: [512, 256],
            shared_negatives: false,
        }
    }
}

struct Branch {
    k: usize,
    proj: Linear,
    estimator: Estimator,
}

pub struct InfoCpl {
    branches: Vec<Branch>,
    cfg: InfoCplConfig,
    /// The branches that score (training always uses every trained branch).
    set: BranchSet,
}

/// Keeps the top-`k` entries of the last dimension of `scores` and sets the others to `-inf` (ties with the k-th
/// value are kept, as in the reference's threshold comparison). `k` is clamped to `1..=K`.
pub fn topk_mask(scores: &Tensor, k: usize) -> Result<Tensor> {
    let kk = scores.dim(D::Minus1)?;
    let k = k.clamp(1, kk.max(1));
    let (sorted, _) = scores.detach().sort_last_dim(false)?;
    let thresh = sorted.narrow(D::Minus1, k - 1, 1)?;
    let keep = scores.broadcast_ge(&thresh)?;
    let neg_inf = Tensor::full(f32::NEG_INFINITY, scores.shape(), scores.device())?;
    Ok(keep.where_cond(scores, &neg_inf)?)
}

/// Top-k attention of projected visual features over each class's codebook.
///
/// `rho = 1` keeps the k most similar phrases, `rho = -1` (warm-up) the k least similar.
///
/// # Shapes
/// `u (N, D)`, `phrases (C, K, D)` -> aggregated phrases `(N, C, D)`.
pub fn codebook_attention(u: &Tensor, phrases: &Tensor, k: usize, rho: f64) -> Result<Tensor> {
    let att = codebook_weights(u, phrases, k, rho)?;
    // (C, N, K) x (C, K, D) -> (C, N, D) -> (N, C, D)
    Ok(att.matmul(phrases)?.transpose(0, 1)?.contiguous()?)
}

/// The attention weights of [`codebook_attention`]: `(C, N, K)`, each row a softmax over the top-k scores.
fn codebook_weights(u: &Tensor, phrases: &Tensor, k: usize, rho: f64) -> Result<Tensor> {
    let (c, kk, d) = phrases.dims3()?;
    let n = u.dim(0)?;
    // (C*K, D) x (D, N) -> (C, K, N) -> (C, N, K)
    let att = phrases
        .reshape((c * kk, d))?
        .matmul(&u.t()?)?
        .reshape((c, kk, n))?
        .transpose(1, 2)?
        .contiguous()?;
    let att = (att * (rho / (d as f64).sqrt()))?;
    Ok(crate::nn::kernels::ops::softmax_last_dim(&topk_mask(
        &att, k,
    )?)?)
}

impl InfoCpl {
    pub fn new(cfg: &InfoCplConfig, dims: Dims, vb: VarBuilder) -> Result<Self> {
        if cfg.topk.is_empty() {
            return Err(ZslError::Invalid(
                "InfoCPL needs at least one branch (topk)".into(),
            ));
        }
        let branches = cfg
            .topk
            .iter()
            .enumerate()
            .map(|(b, &k)| {
                let vb = vb.pp(format!("branch.{b}"));
                Ok(Branch {
                    k,
                    proj: candle_nn::linear(dims.visual, dims.text, vb.pp("proj"))?,
                    estimator: Estimator::new(2 * dims.text, cfg.hidden, vb.pp("estimator"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            branches,
            set: BranchSet::trained(&cfg.topk),
            cfg: cfg.clone(),
        })
    }

    fn texts(classes: &ClassEmbeddings) -> Result<(&Tensor, &Tensor)> {
        let phrases = classes.phrases.as_ref().ok_or(ZslError::Missing {
            method: NAME,
            what: "phrase codebooks (class texts with phrases)",
        })?;
        let motion = classes.motion.as_ref().ok_or(ZslError::Missing {
            method: NAME,
            what: "motion descriptions",
        })?;
        Ok((phrases, motion))
    }

    /// Prediction scores `(N, C)`: the mean over the enabled branches of `-softplus(-T_b)`.
    pub fn forward(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        mean_of_branches(self.enabled_scores(batch, classes)?)
    }

    /// Raw estimator outputs `(N, C)` of one branch's weights attending with top-`k`.
    fn branch_logits(
        &self,
        b: &Branch,
        k: usize,
        visual: &Tensor,
        phrases: &Tensor,
        motion: &Tensor,
        rho: f64,
    ) -> Result<Tensor> {
        let u = layer_norm_plain(&linear(&b.proj, visual)?)?;
        Self::branch_logits_from_u(b, k, &u, phrases, motion, rho)
    }

    /// [`Self::branch_logits`] from the projected features `u = LN(W_b v) (N, D)`.
    fn branch_logits_from_u(
        b: &Branch,
        k: usize,
        u: &Tensor,
        phrases: &Tensor,
        motion: &Tensor,
        rho: f64,
    ) -> Result<Tensor> {
        // l_{b,c} = softmax(a_c) P_c + m_c = softmax(a_c) (P_c + m_c), as the weights sum to 1: the estimator
        // takes the weights and the bank P_c + m_c, and never builds the (N, C, 2D) pairs.
        let att = codebook_weights(u, phrases, k, rho)?;
        let bank = phrases.broadcast_add(&motion.unsqueeze(1)?)?;
        b.estimator.forward_attended(u, &att, &bank)
    }

    fn weights_of(&self, spec: &BranchSpec) -> Result<&Branch> {
        self.branches.get(spec.weights).ok_or_else(|| {
            ZslError::Invalid(format!(
                "InfoCPL: branch set uses trained branch {}, the run has {}",
                spec.weights,
                self.branches.len()
            ))
        })
    }

    /// `(name, -softplus(-T_b) (N, C))` of every enabled branch of the current set.
    fn enabled_scores(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<Vec<(String, Tensor)>> {
        self.enabled_scores_from(classes, |_, b| {
            layer_norm_plain(&linear(&b.proj, &batch.pooled)?)
        })
    }

    /// [`Self::enabled_scores`] from each enabled branch's projected features `u = LN(W_b v) (N, D)`, given by
    /// `u_of(spec, weights)` (computed, or cut from [`Rescoring::visual_part`]'s cache).
    fn enabled_scores_from(
        &self,
        classes: &ClassEmbeddings,
        u_of: impl Fn(&BranchSpec, &Branch) -> Result<Tensor>,
    ) -> Result<Vec<(String, Tensor)>> {
        let (phrases, motion) = Self::texts(classes)?;
        self.set
            .enabled()
            .map(|spec| {
                let b = self.weights_of(spec)?;
                let u = u_of(spec, b)?;
                let l = Self::branch_logits_from_u(b, spec.k, &u, phrases, motion, 1.0)?;
                Ok((
                    BranchSet::name(spec, &self.cfg.topk),
                    softplus(&l.neg()?)?.neg()?,
                ))
            })
            .collect()
    }
}

/// The mean of the branch scores: InfoCPL's score.
fn mean_of_branches(per: Vec<(String, Tensor)>) -> Result<Tensor> {
    let n = per.len();
    let mut it = per.into_iter().map(|(_, s)| s);
    let first = it
        .next()
        .ok_or(ZslError::Invalid("InfoCPL has no enabled branch".into()))?;
    let total = it.try_fold(first, |acc, s| acc + s)?;
    Ok((total / n as f64)?)
}

// Loss.

/// InfoNCE with X-sampling from a score matrix `s (N, C)`: `negatives[i]` lists the batch rows whose score for
/// the anchor's class is a negative of anchor `i` (all lists of equal length).
pub fn x_sampling_infonce(
    s: &Tensor,
    labels: &[usize],
    negatives: &[Vec<usize>],
) -> Result<Tensor> {
    let (n, c) = s.dims2()?;
    let m = negatives.first().map_or(0, Vec::len);
    let mut idx = Vec::with_capacity(n * (m + 1));
    for (i, &y) in labels.iter().enumerate() {
        idx.push(i * c + y);
        for &j in &negatives[i] {
            idx.push(j * c + y);
        }
    }
    let idx = super::index_tensor(&idx, s.device())?;
    let logits = s
        .flatten_all()?
        .index_select(&idx, 0)?
        .reshape((n, m + 1))?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    Ok(logp.narrow(1, 0, 1)?.neg()?.mean_all()?)
}

/// Each anchor's batch rows of another class, in batch order.
fn other_class_rows(labels: &[usize]) -> Vec<Vec<usize>> {
    labels
        .iter()
        .map(|&y| (0..labels.len()).filter(|&j| labels[j] != y).collect())
        .collect()
}

/// Draws each anchor's negatives: distinct batch rows of another class, `min(want, fewest available)` each.
pub fn sample_negatives(
    labels: &[usize],
    want: usize,
    rng: &mut impl rand::Rng,
) -> Vec<Vec<usize>> {
    let pools = other_class_rows(labels);
    let m = pools.iter().map(Vec::len).min().unwrap_or(0).min(want);
    pools
        .into_iter()
        .map(|mut p| {
            p.shuffle(rng);
            p.truncate(m);
            p
        })
        .collect()
}

/// The official `info_nce`'s X-sampling (model_multi_desc.py): one random permutation of the ranks
/// `0..m_min` (`m_min` the fewest other-class rows of any anchor) whose first `min(want, m_min)` ranks every anchor
/// shares: anchor `i`'s negatives are its other-class rows (in batch order) at those ranks.
pub fn sample_negatives_shared(
    labels: &[usize],
    want: usize,
    rng: &mut impl rand::Rng,
) -> Vec<Vec<usize>> {
    let pools = other_class_rows(labels);
    let pool = pools.iter().map(Vec::len).min().unwrap_or(0);
    let mut ranks: Vec<usize> = (0..pool).collect();
    ranks.shuffle(rng);
    ranks.truncate(want.min(pool));
    // The official mask picks the matching rows in batch order, not in rank order.
    ranks.sort_unstable();
    pools
        .iter()
        .map(|p| ranks.iter().map(|&r| p[r]).collect())
        .collect()
}

impl InfoCpl {
    /// The loss with given X-sampling negatives (see [`sample_negatives`]); `epoch` decides the attention direction.
    pub fn loss_with_negatives(
        &self,
        batch: &FeatureBatch,
        labels: &[usize],
        classes: &ClassEmbeddings,
        epoch: usize,
        negatives: &[Vec<usize>],
    ) -> Result<Tensor> {
        let (phrases, motion) = Self::texts(classes)?;
        let rho = if epoch < self.cfg.warmup_epochs {
            -1.0
        } else {
            1.0
        };
        let mut total: Option<Tensor> = None;
        for b in &self.branches {
            let s = softplus(&self.branch_logits(b, b.k, &batch.pooled, phrases, motion, rho)?)?;
            let l = x_sampling_infonce(&s, labels, negatives)?;
            total = Some(match total {
                Some(t) => (t + l)?,
                None => l,
            });
        }
        let total = total.ok_or(ZslError::Invalid("InfoCPL has no branch".into()))?;
        Ok((total / self.branches.len() as f64)?)
    }
}

impl ZslMethod for InfoCpl {
    fn kind(&self) -> MethodKind {
        MethodKind::InfoCpl
    }

    fn loss(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        ctx: &mut StepContext<'_>,
    ) -> Result<Tensor> {
        let labels = labels_vec(labels)?;
        check_labels(&labels, classes.num_classes())?;
        let negatives = if self.cfg.shared_negatives {
            sample_negatives_shared(&labels, self.cfg.negatives, ctx.rng)
        } else {
            sample_negatives(&labels, self.cfg.negatives, ctx.rng)
        };
        self.loss_with_negatives(batch, &labels, classes, ctx.epoch, &negatives)
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

    fn as_infocpl(&self) -> Option<&InfoCpl> {
        Some(self)
    }

    fn as_infocpl_mut(&mut self) -> Option<&mut InfoCpl> {
        Some(self)
    }
}

// ---- Re-scoring and explorer helpers ----

/// The branch choice the explorer's branch editor makes and a run folder's saved branch set restores
/// (`load_run`); InfoCPL's own, reached through [`ZslMethod::as_infocpl`]. A set of one enabled branch scores as
/// that branch, checked by `one_enabled_branch_scores_as_that_branch` (below); a cancelled re-scoring keeps the
/// old set, checked by `rescoring_follows_the_set_and_a_cancel_keeps_the_old_one` (src/pipeline/branch_rescore.rs).
impl InfoCpl {
    /// The branch set scoring uses.
    pub fn branch_set(&self) -> &BranchSet {
        &self.set
    }

    /// Scores with another branch set from now on; an error for a set that does not fit the trained branches.
    pub fn set_branch_set(&mut self, set: BranchSet) -> Result<()> {
        set.check(self.branches.len()).map_err(ZslError::Invalid)?;
        self.set = set;
        Ok(())
    }

    /// The `k` of each trained branch.
    pub fn trained_topk(&self) -> Vec<usize> {
        self.cfg.topk.clone()
    }
}

/// Re-scoring after a class-text edit (or a branch-set edit) from every trained branch's projection, equal to
/// [`ZslMethod::scores`]; checked by `one_class_columns_equal_a_full_rescoring_for_every_method`
/// (src/pipeline/predict.rs) and, for other branch sets, `one_enabled_branch_scores_as_that_branch` (below).
impl Rescoring for InfoCpl {
    /// Every trained branch's projection `LN(W_b v)`, side by side `(N, B * D)`: the sample side of the score,
    /// whatever branch set is enabled later.
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor> {
        let us = self
            .branches
            .iter()
            .map(|b| layer_norm_plain(&linear(&b.proj, &batch.pooled)?))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&us, 1)?)
    }

    /// The mean of the enabled branches' scores, each from its slice of `visual`, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor> {
        let d = visual.dim(1)? / self.branches.len().max(1);
        let per = self.enabled_scores_from(classes, |spec, _| {
            Ok(visual.narrow(1, spec.weights * d, d)?)
        })?;
        mean_of_branches(per)
    }
}

/// The per-branch scores whose mean is [`ZslMethod::scores`]; checked by `components_add_up_to_the_score`
/// (tests/zsl_components.rs).
impl ComponentScores for InfoCpl {
    /// Each enabled branch's `-softplus(-T_b)`; their mean is the score.
    fn score_components(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<ScoreComponents> {
        let (names, per): (Vec<String>, Vec<Tensor>) =
            self.enabled_scores(batch, classes)?.into_iter().unzip();
        Ok(ScoreComponents {
            kind: ComponentKind::Branches,
            names,
            scores: Tensor::stack(&per, 2)?,
        })
    }
}

/// The text space of the first enabled branch's projection; its shapes are checked by
/// `one_enabled_branch_scores_as_that_branch` (below).
impl JointSpace for InfoCpl {
    /// The first enabled branch's projection `LN(W_b v)` and each class's language feature at uniform attention,
    /// `mean_j P_{c,j} + m_c`, both in the text space and scaled to unit length. The estimator MLP, not the distance,
    /// scores a pair, so a sample's nearest class point need not be its prediction.
    fn joint_embedding(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<JointEmbedding> {
        let (phrases, motion) = Self::texts(classes)?;
        let spec = self
            .set
            .enabled()
            .next()
            .ok_or(ZslError::Invalid("InfoCPL has no enabled branch".into()))?;
        let b = self.weights_of(spec)?;
        let u = layer_norm_plain(&linear(&b.proj, &batch.pooled)?)?;
        let lang = (phrases.mean(1)? + motion)?;
        Ok(JointEmbedding {
            space: format!(
                "text space ({}-d): skeleton features projected by the {} branch (LN(W v)); class points: each \
                 class's motion description plus its mean phrase; both unit length. An MLP scores the pairs, so \
                 the nearest class point is not the prediction",
                lang.dim(1)?,
                BranchSet::name(spec, &self.cfg.topk)
            ),
            samples: l2_normalize(&u)?,
            classes: l2_normalize(&lang)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsl::MethodConfig;
    use candle_core::Device;

    fn small() -> (Box<dyn ZslMethod>, FeatureBatch, ClassEmbeddings) {
        let dev = Device::Cpu;
        let cfg = MethodConfig::InfoCpl(InfoCplConfig {
            topk: vec![1, 3],
            hidden: [16, 8],
            ..InfoCplConfig::default()
        });
        let dims = Dims { visual: 6, text: 4 };
        let (m, _vm) = cfg.build_trainable(dims, &dev, 3).unwrap();
        let t = |shape: &[usize], seed: u64| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|i| ((i as u64 * 7919 + seed * 104_729) % 997) as f32 / 500.0 - 1.0)
                .collect();
            Tensor::from_vec(v, shape, &dev).unwrap()
        };
        let classes = ClassEmbeddings {
            names: t(&[5, 4], 1),
            sentences: t(&[5, 4], 2),
            parts: None,
            phrases: Some(t(&[5, 6, 4], 3)),
            motion: Some(t(&[5, 4], 4)),
        };
        (m, FeatureBatch::from_pooled(t(&[7, 6], 5)), classes)
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    /// Why InfoCPL's scores compare poorly across classes (its low GZSL seen accuracy): each anchor's InfoNCE
    /// contrasts skeletons under one class text, so adding any per-class constant to the score matrix leaves the
    /// loss unchanged; nothing trains a class's level against another's. Hand-computed value for the unshifted case.
    #[test]
    fn x_sampling_infonce_ignores_per_class_offsets() {
        let dev = Device::Cpu;
        // 3 samples x 2 classes; labels [0, 1, 0]; anchor 0's negative is row 1, anchor 1's row 0, anchor 2's row 1.
        let s = [0.5f32, -1.0, 2.0, 0.25, -0.5, 1.5];
        let labels = [0, 1, 0];
        let negatives = vec![vec![1], vec![0], vec![1]];
        let loss = |v: &[f32]| {
            let t = Tensor::from_vec(v.to_vec(), (3, 2), &dev).unwrap();
            x_sampling_infonce(&t, &labels, &negatives)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        // -log(e^p / (e^p + e^n)) = softplus(n - p), pairs (p, n): (0.5, 2.0), (0.25, -1.0), (-0.5, 2.0).
        let sp = |x: f64| (1.0 + x.exp()).ln();
        let want = (sp(1.5) + sp(-1.25) + sp(2.5)) / 3.0;
        assert!((f64::from(loss(&s)) - want).abs() < 1e-5);
        let shifted: Vec<f32> = s
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i % 2 == 0 { 7.0 } else { -3.0 })
            .collect();
        assert!((loss(&shifted) - loss(&s)).abs() < 1e-5);
        // A per-sample offset does change it: the loss orders skeletons, not classes.
        let per_row: Vec<f32> = s
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i / 2) as f32)
            .collect();
        assert!((loss(&per_row) - loss(&s)).abs() > 1e-2);
    }

    #[test]
    fn one_enabled_branch_scores_as_that_branch() {
        let (mut m, batch, classes) = small();
        let stored = values(&m.scores(&batch, &classes).unwrap());
        let parts = |m: &dyn ZslMethod| {
            m.as_component_scores()
                .unwrap()
                .score_components(&batch, &classes)
                .unwrap()
        };
        let comps = parts(m.as_ref());
        fn info(m: &mut Box<dyn ZslMethod>) -> &mut InfoCpl {
            m.as_infocpl_mut().unwrap()
        }
        let trained = info(&mut m).trained_topk();
        assert_eq!(comps.names, ["top-1", "top-3"]);
        let mut set = BranchSet::trained(&trained);
        set.branches[0].enabled = false;
        info(&mut m).set_branch_set(set).unwrap();
        let only = values(&m.scores(&batch, &classes).unwrap());
        let branch1 = values(&comps.scores.narrow(2, 1, 1).unwrap());
        assert!(close(&only, &branch1));
        assert!(!close(&only, &stored));
        // A new k on branch 0's weights: attends differently, so scores differently.
        let mut set = BranchSet::trained(&trained);
        set.branches.push(BranchSpec {
            weights: 0,
            k: 6,
            enabled: true,
        });
        set.branches[0].enabled = false;
        set.branches[1].enabled = false;
        info(&mut m).set_branch_set(set).unwrap();
        let wide = parts(m.as_ref());
        assert_eq!(wide.names, ["top-6 (top-1 weights)"]);
        // The cached sample side (every trained branch's projection) scores any set as the full path does.
        let rescoring = m.as_rescoring().unwrap();
        let visual = rescoring.visual_part(&batch).unwrap();
        assert!(close(
            &values(&rescoring.scores_from_visual(&visual, &classes).unwrap()),
            &values(&m.scores(&batch, &classes).unwrap())
        ));
        assert!(!close(
            &values(&wide.scores),
            &values(&comps.scores.narrow(2, 0, 1).unwrap())
        ));
        // The full trained set reproduces the stored scores; a set without an enabled branch is refused.
        info(&mut m)
            .set_branch_set(BranchSet::trained(&trained))
            .unwrap();
        assert!(close(
            &values(&m.scores(&batch, &classes).unwrap()),
            &stored
        ));
        let mut none = BranchSet::trained(&[1, 3]);
        none.branches.iter_mut().for_each(|b| b.enabled = false);
        assert!(info(&mut m).set_branch_set(none).is_err());
        let joint = m
            .as_joint_space()
            .unwrap()
            .joint_embedding(&batch, &classes)
            .unwrap();
        assert_eq!(joint.samples.dims(), [7, 4]);
        assert_eq!(joint.classes.dims(), [5, 4]);
    }
}
