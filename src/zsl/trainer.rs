//! The training loop shared by every method: shuffled mini-batches, AdamW with a linear-warm-up cosine schedule,
//! and a per-epoch callback (for validation and model selection).

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{
    ClassEmbeddings, FeatureBatch, Result, StepContext, ZslError, ZslMethod, index_tensor,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Epochs of linear learning-rate warm-up before the cosine decay.
    pub lr_warmup_epochs: usize,
    pub seed: u64,
    pub optimizer: OptimizerKind,
    pub schedule: LrSchedule,
    /// How the linear layers are initialised.
    pub init: super::LinearInit,
    /// The preset these options come from (recorded in the run's config.toml).
    pub preset: super::preset::Preset,
}

/// The optimiser.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerKind {
    /// AdamW (decoupled weight decay); with `weight_decay = 0` it is Adam.
    #[default]
    AdamW,
    /// SGD with momentum, optionally Nesterov, and L2 weight decay added to the gradient (PyTorch's `optim.SGD`).
    Sgd { momentum: f64, nesterov: bool },
}

/// How the learning rate changes over the epochs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// skelzero's: warm-up `lr (e+1)/(w+1)` for `e < w`, then cosine decay to 0 at `epochs`.
    #[default]
    WarmupCosine,
    /// The official SMIE's `adjust_learning_rate` (procedure.py): `lr e / w` for `e < w` (0 at the first epoch),
    /// then `lr (1 + cos(pi (e - w) / (total - w))) / 2`, with `total` fixed (100 there) whatever the epoch count.
    OfficialWarmupCosine { total: usize },
    /// Multiply by `gamma` at each milestone epoch (PyTorch `MultiStepLR`; the official STAR's schedule).
    Step { milestones: Vec<usize>, gamma: f64 },
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 40,
            batch_size: 64,
            lr: 1e-3,
            weight_decay: 1e-4,
            lr_warmup_epochs: 2,
            seed: 0,
            optimizer: OptimizerKind::AdamW,
            schedule: LrSchedule::WarmupCosine,
            init: super::LinearInit::Kaiming,
            preset: super::preset::Preset::Default,
        }
    }
}

impl TrainConfig {
    /// The learning rate of epoch `e` (0-based): linear warm-up, then cosine decay to 0 at `epochs`.
    pub fn lr_at(&self, e: usize) -> f64 {
        let w = self.lr_warmup_epochs;
        match &self.schedule {
            LrSchedule::WarmupCosine => {
                if e < w {
                    return self.lr * (e + 1) as f64 / (w + 1) as f64;
                }
                let span = self.epochs.saturating_sub(w).max(1) as f64;
                let x = (e - w) as f64 / span;
                self.lr * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())
            }
            LrSchedule::OfficialWarmupCosine { total } => {
                if e < w {
                    return self.lr * e as f64 / w as f64;
                }
                let span = total.saturating_sub(w).max(1) as f64;
                let x = (e - w) as f64 / span;
                self.lr * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())
            }
            LrSchedule::Step { milestones, gamma } => {
                if e < w {
                    // The official STAR's warm-up (`warm_up_epoch`, 0 in its configs).
                    return self.lr * (e + 1) as f64 / w as f64;
                }
                let passed = milestones.iter().filter(|&&m| e >= m).count();
                self.lr * gamma.powi(passed as i32)
            }
        }
    }
}

/// Fresh features of training rows at every step, in place of the fixed ones (STAR's online augmentation: each
/// sample re-cropped and re-rotated, the frozen encoder run again).
pub trait BatchSource: Sync {
    /// The features of `rows` (indices into the [`TrainSet`]'s features, whose labels they keep), drawn with `rng`
    /// (the training loop's, so that the same seed gives the same run).
    fn batch(&self, rows: &[usize], rng: &mut StdRng) -> Result<FeatureBatch>;
}

/// Fixed features are their own source: the rows as they are.
impl BatchSource for FeatureBatch {
    fn batch(&self, rows: &[usize], _rng: &mut StdRng) -> Result<FeatureBatch> {
        self.select(rows)
    }
}

/// A [`BatchSource`] over a subset of another's rows: row `i` here is row `rows[i]` there (a validation fold's
/// training rows among the split's).
pub struct RowsOf<'a> {
    pub source: &'a dyn BatchSource,
    pub rows: &'a [usize],
}

impl BatchSource for RowsOf<'_> {
    fn batch(&self, rows: &[usize], rng: &mut StdRng) -> Result<FeatureBatch> {
        let outer = rows
            .iter()
            .map(|&r| {
                self.rows.get(r).copied().ok_or_else(|| {
                    ZslError::Invalid(format!("training row {r} out of range for a row subset"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.source.batch(&outer, rng)
    }
}

/// Training data: features, labels indexing the rows of `classes`, and the (seen) class texts.
pub struct TrainSet<'a> {
    pub features: &'a FeatureBatch,
    pub labels: &'a [usize],
    pub classes: &'a ClassEmbeddings,
    /// Every class text of the run (seen and unseen), handed to methods that train transductively on the text side
    /// (STAR with `transductive_text`); `None` keeps training on the seen classes only.
    pub all_classes: Option<&'a ClassEmbeddings>,
    /// Where each step's features come from instead of `features` (online augmentation); `None`: `features`.
    pub augment: Option<&'a dyn BatchSource>,
}

/// Trains `method` (whose parameters are `varmap`) on `set`; calls `on_epoch(epoch, mean_loss)` after each epoch.
/// Returns the mean loss of each epoch, or [`ZslError::Stopped`] after the epoch during which Ctrl-C was pressed
/// (where the command installed the handler, [`crate::util::interrupt::stop_flag`]).
pub fn train(
    method: &dyn ZslMethod,
    varmap: &VarMap,
    set: &TrainSet<'_>,
    cfg: &TrainConfig,
    mut on_epoch: impl FnMut(usize, f32) -> Result<()>,
) -> Result<Vec<f32>> {
    let n = set.features.len();
    if n < 2 || n != set.labels.len() {
        return Err(ZslError::Invalid(format!(
            "training needs at least 2 samples with one label each (got {n} samples, {} labels)",
            set.labels.len()
        )));
    }
    set.features.validate()?;
    set.classes.validate()?;
    super::loss::check_labels(set.labels, set.classes.num_classes())?;
    let mut opt = Opt::new(varmap, cfg)?;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let device = set.features.pooled.device().clone();
    let bs = cfg.batch_size.max(2);
    let mut history = Vec::with_capacity(cfg.epochs);
    for epoch in 0..cfg.epochs {
        opt.set_learning_rate(cfg.lr_at(epoch));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let (mut sum, mut count) = (0f64, 0usize);
        for chunk in order.chunks(bs) {
            // A one-sample batch has no negatives for the contrastive methods.
            if chunk.len() < 2 {
                continue;
            }
            let batch = match set.augment {
                Some(source) => source.batch(chunk, &mut rng)?,
                None => set.features.select(chunk)?,
            };
            let labels = batch_labels(set.labels, chunk, &device)?;
            let mut ctx = StepContext {
                epoch,
                rng: &mut rng,
                all_classes: set.all_classes,
            };
            let loss = method.loss(&batch, &labels, set.classes, &mut ctx)?;
            let value = loss.to_scalar::<f32>()?;
            if !value.is_finite() {
                return Err(ZslError::Invalid(format!(
                    "{} loss became {value} at epoch {epoch}",
                    method.kind()
                )));
            }
            opt.backward_step(&loss)?;
            sum += f64::from(value) * chunk.len() as f64;
            count += chunk.len();
        }
        let mean = (sum / count.max(1) as f64) as f32;
        history.push(mean);
        on_epoch(epoch, mean)?;
        if crate::util::interrupt::stop_requested() {
            return Err(ZslError::Stopped {
                epochs_done: epoch + 1,
            });
        }
    }
    Ok(history)
}

/// The optimiser of a run ([`OptimizerKind`]).
enum Opt {
    AdamW(AdamW),
    Sgd(Sgd),
}

impl Opt {
    fn new(varmap: &VarMap, cfg: &TrainConfig) -> Result<Self> {
        Ok(match cfg.optimizer {
            OptimizerKind::AdamW => Self::AdamW(AdamW::new(
                varmap.all_vars(),
                ParamsAdamW {
                    lr: cfg.lr_at(0),
                    weight_decay: cfg.weight_decay,
                    ..Default::default()
                },
            )?),
            OptimizerKind::Sgd { momentum, nesterov } => Self::Sgd(Sgd {
                vars: varmap.all_vars(),
                buffers: Vec::new(),
                lr: cfg.lr_at(0),
                momentum,
                nesterov,
                weight_decay: cfg.weight_decay,
            }),
        })
    }

    fn set_learning_rate(&mut self, lr: f64) {
        match self {
            Self::AdamW(o) => o.set_learning_rate(lr),
            Self::Sgd(o) => o.lr = lr,
        }
    }

    fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        match self {
            Self::AdamW(o) => Ok(o.backward_step(loss)?),
            Self::Sgd(o) => o.step(&loss.backward()?),
        }
    }
}

/// PyTorch's `optim.SGD` (dampening 0): `g = grad + wd p`, `b = mu b + g` (`b = g` at the first step),
/// `g = g + mu b` with Nesterov else `g = b`, `p = p - lr g`. candle's own SGD has no momentum.
pub struct Sgd {
    vars: Vec<candle_core::Var>,
    /// One momentum buffer per var, created at the first step that var has a gradient.
    buffers: Vec<Option<Tensor>>,
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
}

impl Sgd {
    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> Result<()> {
        self.buffers.resize(self.vars.len(), None);
        for (var, buf) in self.vars.iter().zip(self.buffers.iter_mut()) {
            let Some(grad) = grads.get(var) else { continue };
            // Detached: a gradient (and `var * wd`) carries the step's op graph, and a momentum buffer built from
            // it would chain every step's graph, forward activations included, to the next: STAR's paper preset
            // grew by about 1.8 GB an epoch on MSR until it was killed.
            let mut g = grad.detach();
            if self.weight_decay != 0.0 {
                g = (g + (var.as_tensor() * self.weight_decay)?)?;
            }
            if self.momentum != 0.0 {
                let b = match buf.take() {
                    None => g.clone(),
                    Some(b) => ((b * self.momentum)? + &g)?,
                };
                g = if self.nesterov {
                    (g + (&b * self.momentum)?)?
                } else {
                    b.clone()
                };
                *buf = Some(b.detach());
            }
            var.set(&(var.as_tensor() - (g * self.lr)?)?)?;
        }
        Ok(())
    }
}

fn batch_labels(labels: &[usize], rows: &[usize], device: &Device) -> Result<Tensor> {
    let picked: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
    index_tensor(&picked, device)
}

/// Scores of all samples against `classes` in batches, as a row-major `N x C` matrix.
pub fn score_matrix(
    method: &dyn ZslMethod,
    features: &FeatureBatch,
    classes: &ClassEmbeddings,
    batch_size: usize,
) -> Result<crate::eval::ScoreMatrix> {
    let n = features.len();
    let c = classes.num_classes();
    let mut data = Vec::with_capacity(n * c);
    let rows: Vec<usize> = (0..n).collect();
    for chunk in rows.chunks(batch_size.max(1)) {
        let batch = features.select(chunk)?;
        let s = method.scores(&batch, classes)?.detach();
        data.extend(s.flatten_all()?.to_vec1::<f32>()?);
    }
    crate::eval::ScoreMatrix::new(n, c, data)
        .map_err(|e| ZslError::Invalid(format!("score matrix: {e}")))
}
