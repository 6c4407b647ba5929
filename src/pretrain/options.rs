//! The pretraining options and per-epoch figures, which both the training loop and the run folder (`config.toml`,
//! `metrics.jsonl`) use.

use serde::{Deserialize, Serialize};

/// Training hyper-parameters (stored in the run's `config.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Fraction of the seen-class training samples held out for validation.
    pub val_fraction: f64,
    pub seed: u64,
    /// Random per-sample scaling of each axis (x0.9-1.1) and a small rotation about the vertical axis.
    pub augment: bool,
    /// Early stopping on the validation hold-out (whole subjects where the data has subject ids): stop once its
    /// accuracy has not improved for this many epochs, and keep the best epoch's weights. `None`: train every epoch
    /// and keep the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 60,
            batch_size: 32,
            lr: 1e-3,
            weight_decay: 1e-4,
            val_fraction: 0.1,
            seed: 0,
            augment: true,
            early_stop: None,
        }
    }
}

/// One epoch's figures (a line of `metrics.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_loss: Option<f64>,
    pub val_acc: Option<f64>,
    pub seconds: f64,
    /// Top-1 (fraction) on the seen classes' samples of the protocol's test side (other subjects, videos or views),
    /// measured once after the last epoch and written on that epoch's line only: the figure that says how well the
    /// encoder transfers beyond its training subjects. Never used to choose anything inside a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_test_top1: Option<f64>,
}
