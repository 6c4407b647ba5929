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
        }
    }
}

impl TrainConfig {
    /// The learning rate of epoch `e` (0-based): linear warm-up, then cosine decay to 0 at `epochs`.
    pub fn lr_at(&self, e: usize) -> f64 {
        if e < self.lr_warmup_epochs {
            return self.lr * (e + 1) as f64 / (self.lr_warmup_epochs + 1) as f64;
        }
        let span = self.epochs.saturating_sub(self.lr_warmup_epochs).max(1) as f64;
        let x = (e - self.lr_warmup_epochs) as f64 / span;
        self.lr * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())
    }
}

/// Training data: features, labels indexing the rows of `classes`, and the (seen) class texts.
pub struct TrainSet<'a> {
    pub features: &'a FeatureBatch,
    pub labels: &'a [usize],
    pub classes: &'a ClassEmbeddings,
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
    let mut opt = AdamW::new(
        varmap.all_vars(),
        ParamsAdamW {
            lr: cfg.lr_at(0),
            weight_decay: cfg.weight_decay,
            ..Default::default()
        },
    )?;
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
            let batch = set.features.select(chunk)?;
            let labels = batch_labels(set.labels, chunk, &device)?;
            let mut ctx = StepContext {
                epoch,
                rng: &mut rng,
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
