//! Supervised pretraining of the skeleton encoders on the seen classes: AdamW with a cosine schedule,
//! cross-entropy, train-mode batch norm, optional augmentation, validation every epoch, one checkpoint per epoch.
//!
//! Resuming restarts from the last complete epoch's checkpoint. candle 0.11 keeps AdamW's moments private, so they
//! cannot be saved: a resumed run starts with fresh moments (and the schedule continues where it stopped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{Optimizer, VarMap};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::options::{EpochMetrics, TrainOptions};
use super::run::{Progress, RunDir, RunError};
use crate::nn::checkpoint;
use crate::nn::encoder::Encoder;
use crate::nn::optim::{cosine_lr, trainable_vars};

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{0}")]
    Data(String),
}

/// Preprocessed samples in memory: `x` holds `len` samples of shape (C, T, V, M), row-major, and one label each.
#[derive(Clone, Debug, Default)]
pub struct TensorSet {
    pub x: Vec<f32>,
    pub labels: Vec<u32>,
    /// (C, T, V, M)
    pub shape: [usize; 4],
}

impl TensorSet {
    pub fn new(x: Vec<f32>, labels: Vec<u32>, shape: [usize; 4]) -> Result<Self, TrainError> {
        let per: usize = shape.iter().product();
        if per == 0 || x.len() != per * labels.len() {
            return Err(TrainError::Data(format!(
                "{} values for {} samples of shape {shape:?}",
                x.len(),
                labels.len()
            )));
        }
        Ok(Self { x, labels, shape })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// A batch of the samples `idx` as an (N, C, T, V, M) tensor, augmented with `rng` when given.
    pub fn batch(
        &self,
        idx: &[usize],
        rng: Option<&mut rand::rngs::StdRng>,
        dev: &Device,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let per = self.sample_len();
        let mut x = Vec::with_capacity(idx.len() * per);
        for &i in idx {
            x.extend_from_slice(&self.x[i * per..(i + 1) * per]);
        }
        if let Some(rng) = rng {
            let [c, t, v, m] = self.shape;
            if c == 3 {
                for s in x.chunks_exact_mut(per) {
                    augment(s, t * v * m, rng);
                }
            }
        }
        let labels: Vec<u32> = idx.iter().map(|&i| self.labels[i]).collect();
        let [c, t, v, m] = self.shape;
        Ok((
            Tensor::from_vec(x, (idx.len(), c, t, v, m), dev)?,
            Tensor::new(labels.as_slice(), dev)?,
        ))
    }
}

/// Scales each axis by U(0.9, 1.1) and rotates about y by U(-15, 15) degrees; `plane` values per channel.
fn augment(s: &mut [f32], plane: usize, rng: &mut rand::rngs::StdRng) {
    let sc: [f32; 3] = [
        rng.random_range(0.9..1.1),
        rng.random_range(0.9..1.1),
        rng.random_range(0.9..1.1),
    ];
    let th: f32 = rng.random_range(-15f32..15.0).to_radians();
    let (sn, cs) = th.sin_cos();
    let (xs, rest) = s.split_at_mut(plane);
    let (ys, zs) = rest.split_at_mut(plane);
    for ((x, y), z) in xs.iter_mut().zip(ys.iter_mut()).zip(zs.iter_mut()) {
        let (a, b, c) = (*x * sc[0], *y * sc[1], *z * sc[2]);
        *x = cs * a + sn * c;
        *y = b;
        *z = -sn * a + cs * c;
    }
}

/// The training and validation samples of [`train`].
#[derive(Clone, Copy, Debug)]
pub struct Splits<'a> {
    pub train: &'a TensorSet,
    pub val: &'a TensorSet,
}

/// How a call to [`train`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainOutcome {
    Finished {
        epochs_done: usize,
    },
    /// `stop` was raised; the checkpoint is that of the last complete epoch.
    Stopped {
        epochs_done: usize,
    },
}

/// Trains `enc` (whose variables live in `vm`) from epoch `run.load_progress()` to `opts.epochs`, writing the
/// checkpoint, metrics and progress after every epoch. Polls `stop` after each batch.
pub fn train(
    enc: &Encoder,
    vm: &VarMap,
    data: Splits<'_>,
    opts: &TrainOptions,
    run: &RunDir,
    stop: &AtomicBool,
    show_progress: bool,
) -> Result<TrainOutcome, TrainError> {
    let Splits {
        train: train_set,
        val: val_set,
    } = data;
    if train_set.is_empty() {
        return Err(TrainError::Data("no training samples".into()));
    }
    let dev = enc.device().clone();
    let start = run.load_progress()?.epochs_done;
    let mut metrics = run.load_metrics()?;
    metrics.truncate(start);
    let bs = opts.batch_size.max(1);
    let steps_per_epoch = train_set.len().div_ceil(bs);
    let total_steps = steps_per_epoch * opts.epochs;
    let params = candle_nn::ParamsAdamW {
        lr: opts.lr,
        weight_decay: opts.weight_decay,
        ..Default::default()
    };
    let mut opt = candle_nn::AdamW::new(trainable_vars(vm), params)?;
    let mut early = match opts.early_stop {
        Some(_) if val_set.is_empty() => {
            return Err(TrainError::Data(
                "early stopping needs a validation hold-out (--val-fraction above 0)".into(),
            ));
        }
        Some(patience) => Some(EarlyStop::resume(patience, &metrics)),
        None => None,
    };
    if run.load_progress()?.stopped_early {
        return Ok(TrainOutcome::Finished { epochs_done: start });
    }
    for epoch in start..opts.epochs {
        let t0 = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed.wrapping_add(epoch as u64));
        let mut order: Vec<usize> = (0..train_set.len()).collect();
        order.shuffle(&mut rng);
        let bar = progress_bar(show_progress, steps_per_epoch as u64, epoch, opts.epochs);
        let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
        let mut lr = opts.lr;
        for (b, idx) in order.chunks(bs).enumerate() {
            if stop.load(Ordering::Relaxed) {
                bar.abandon_with_message("stopped");
                return Ok(TrainOutcome::Stopped { epochs_done: epoch });
            }
            // BN in train mode needs more than one value per channel.
            if idx.len() < 2 {
                continue;
            }
            let step = epoch * steps_per_epoch + b;
            lr = cosine_lr(opts.lr, step, total_steps);
            opt.set_learning_rate(lr);
            // Dropout masks from the seed and the step, not from thread-local state: reproducible, also on resume.
            enc.set_dropout_key(crate::nn::init::mix64(opts.seed) ^ step as u64);
            let (x, y) = train_set.batch(idx, opts.augment.then_some(&mut rng), &dev)?;
            let logits = enc.classify(&enc.encode(&x, true)?.pooled)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            opt.backward_step(&loss)?;
            let l = loss.to_scalar::<f32>()? as f64;
            if !l.is_finite() {
                return Err(TrainError::Data(format!(
                    "loss became {l} at epoch {} batch {b}",
                    epoch + 1
                )));
            }
            loss_sum += l * idx.len() as f64;
            correct += count_correct(&logits, &y)?;
            seen += idx.len();
            bar.inc(1);
            bar.set_message(format!(
                "loss {:.4} acc {:.1}%",
                loss_sum / seen as f64,
                100.0 * correct as f64 / seen as f64
            ));
        }
        let (val_loss, val_acc) = if val_set.is_empty() {
            (None, None)
        } else {
            let (l, a) = evaluate(enc, val_set, bs)?;
            (Some(l), Some(a))
        };
        bar.finish_with_message(format!(
            "loss {:.4} acc {:.1}%{}",
            loss_sum / seen.max(1) as f64,
            100.0 * correct as f64 / seen.max(1) as f64,
            val_acc
                .map(|a| format!(" | val acc {:.1}%", 100.0 * a))
                .unwrap_or_default()
        ));
        checkpoint::save_varmap(vm, &run.checkpoint_path()).map_err(RunError::from)?;
        let mut stop_now = false;
        if let (Some(e), Some(acc)) = (&mut early, val_acc) {
            if e.improved(epoch + 1, acc) {
                checkpoint::save_varmap(vm, &run.best_checkpoint_path()).map_err(RunError::from)?;
            }
            stop_now = e.patience_spent(epoch + 1) && epoch + 1 < opts.epochs;
        }
        metrics.push(EpochMetrics {
            epoch: epoch + 1,
            lr,
            train_loss: loss_sum / seen.max(1) as f64,
            train_acc: correct as f64 / seen.max(1) as f64,
            val_loss,
            val_acc,
            seconds: t0.elapsed().as_secs_f64(),
            seen_test_top1: None,
        });
        run.save_metrics(&metrics)?;
        let last = epoch + 1 == opts.epochs;
        if let Some(e) = early.as_ref().filter(|_| stop_now || last) {
            // The run ends on the best epoch's weights, not the last epoch's.
            checkpoint::load_varmap(vm, &run.best_checkpoint_path()).map_err(RunError::from)?;
            checkpoint::save_varmap(vm, &run.checkpoint_path()).map_err(RunError::from)?;
            if stop_now {
                eprintln!(
                    "early stop after epoch {}: validation accuracy best at epoch {} ({:.1}%), not improved for {} epochs",
                    epoch + 1,
                    e.best_epoch,
                    100.0 * e.best_acc,
                    e.patience
                );
            }
        }
        run.save_progress(Progress {
            epochs_done: epoch + 1,
            best_epoch: early.as_ref().map(|e| e.best_epoch),
            stopped_early: stop_now,
        })?;
        if stop_now {
            return Ok(TrainOutcome::Finished {
                epochs_done: epoch + 1,
            });
        }
    }
    Ok(TrainOutcome::Finished {
        epochs_done: opts.epochs.max(start),
    })
}

/// Early stopping's state: the best validation accuracy so far and its epoch.
struct EarlyStop {
    patience: usize,
    best_epoch: usize,
    best_acc: f64,
}

impl EarlyStop {
    /// The state after the epochs of `metrics` (a resumed run), strict improvement keeping the earliest best.
    fn resume(patience: usize, metrics: &[EpochMetrics]) -> Self {
        let mut s = Self {
            patience: patience.max(1),
            best_epoch: 0,
            best_acc: f64::NEG_INFINITY,
        };
        for m in metrics {
            if let Some(acc) = m.val_acc {
                s.improved(m.epoch, acc);
            }
        }
        s
    }

    /// Records epoch `epoch`'s accuracy; whether it is a new best.
    fn improved(&mut self, epoch: usize, acc: f64) -> bool {
        if acc > self.best_acc {
            self.best_acc = acc;
            self.best_epoch = epoch;
            true
        } else {
            false
        }
    }

    /// Whether `patience` epochs have passed since the best, as of epoch `epoch`.
    fn patience_spent(&self, epoch: usize) -> bool {
        epoch >= self.best_epoch + self.patience
    }
}

fn progress_bar(show: bool, len: u64, epoch: usize, epochs: usize) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
    bar
}

fn count_correct(logits: &Tensor, y: &Tensor) -> candle_core::Result<usize> {
    let pred = logits.argmax(1)?;
    pred.eq(y)?
        .to_dtype(candle_core::DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()
        .map(|c| c as usize)
}

/// Mean cross-entropy and top-1 accuracy of `enc` (eval mode) on `set`.
pub fn evaluate(enc: &Encoder, set: &TensorSet, batch: usize) -> candle_core::Result<(f64, f64)> {
    let dev = enc.device().clone();
    let (mut loss, mut correct) = (0f64, 0usize);
    let idx: Vec<usize> = (0..set.len()).collect();
    for chunk in idx.chunks(batch.max(1)) {
        let (x, y) = set.batch(chunk, None, &dev)?;
        let logits = enc.classify(&enc.encode(&x, false)?.pooled)?;
        loss += candle_nn::loss::cross_entropy(&logits, &y)?.to_scalar::<f32>()? as f64
            * chunk.len() as f64;
        correct += count_correct(&logits, &y)?;
    }
    let n = set.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n))
}

/// Pooled features (eval mode) of every sample of `set`: N x C, row-major.
pub fn extract_features(
    enc: &Encoder,
    set: &TensorSet,
    batch: usize,
) -> candle_core::Result<Vec<f32>> {
    let dev = enc.device().clone();
    let mut out = Vec::new();
    let idx: Vec<usize> = (0..set.len()).collect();
    for chunk in idx.chunks(batch.max(1)) {
        let (x, _) = set.batch(chunk, None, &dev)?;
        out.extend(
            enc.encode(&x, false)?
                .pooled
                .flatten_all()?
                .to_vec1::<f32>()?,
        );
    }
    Ok(out)
}

/// Splits `0..n` into (train, validation) index lists holding out whole subjects where every sample has one and
/// there are at least two: `fraction` of the subjects (rounded, at least one, never all), drawn with `seed`. A
/// same-subject hold-out reads near 100% on small sets (MSR: the held-out repetitions are the training subjects' own)
/// and says nothing about other people; a held-out subject does. Without subject ids it falls back to
/// [`holdout_split`]. The third list is the held-out subjects (empty on the fallback).
pub fn holdout_by_subject(
    labels: &[u32],
    subjects: &[Option<u32>],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>, Vec<u32>) {
    let ids: Option<Vec<u32>> = subjects.iter().copied().collect();
    let distinct: std::collections::BTreeSet<u32> = ids.iter().flatten().copied().collect();
    let Some(ids) =
        ids.filter(|i| i.len() == labels.len() && distinct.len() >= 2 && fraction > 0.0)
    else {
        let (tr, va) = holdout_split(labels, fraction, seed);
        return (tr, va, Vec::new());
    };
    let mut order: Vec<u32> = distinct.into_iter().collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let k = ((order.len() as f64 * fraction).round() as usize).clamp(1, order.len() - 1);
    let mut held: Vec<u32> = order[..k].to_vec();
    held.sort_unstable();
    let (va, tr): (Vec<usize>, Vec<usize>) = (0..ids.len()).partition(|&i| held.contains(&ids[i]));
    (tr, va, held)
}

/// Splits `0..n` into (train, validation) index lists, stratified by `labels`, holding out `fraction` of each class
/// (at least one sample of classes with two or more).
pub fn holdout_split(labels: &[u32], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut by_class: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, &l) in labels.iter().enumerate() {
        by_class.entry(l).or_default().push(i);
    }
    let (mut tr, mut va) = (Vec::new(), Vec::new());
    for (_, mut idx) in by_class {
        idx.shuffle(&mut rng);
        let k = if fraction <= 0.0 || idx.len() < 2 {
            0
        } else {
            ((idx.len() as f64 * fraction).round() as usize).clamp(1, idx.len() - 1)
        };
        va.extend_from_slice(&idx[..k]);
        tr.extend_from_slice(&idx[k..]);
    }
    tr.sort_unstable();
    va.sort_unstable();
    (tr, va)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_holdout_keeps_every_held_out_subject_out_of_training() {
        // 6 subjects x 4 classes x 3 repetitions.
        let (mut labels, mut subjects) = (Vec::new(), Vec::new());
        for s in 1..=6u32 {
            for c in 0..4u32 {
                for _ in 0..3 {
                    labels.push(c);
                    subjects.push(Some(s));
                }
            }
        }
        for seed in 0..5 {
            let (tr, va, held) = holdout_by_subject(&labels, &subjects, 0.2, seed);
            assert_eq!(held.len(), 1, "round(6 * 0.2) = 1 subject");
            assert_eq!(tr.len() + va.len(), labels.len());
            assert!(va.iter().all(|&i| held.contains(&subjects[i].unwrap())));
            assert!(
                tr.iter().all(|&i| !held.contains(&subjects[i].unwrap())),
                "seed {seed}: a held-out subject trains"
            );
        }
        // A large fraction never holds out every subject.
        let (tr, _, held) = holdout_by_subject(&labels, &subjects, 0.99, 0);
        assert_eq!(held.len(), 5);
        assert!(!tr.is_empty());
        // No subject ids (or one missing): the per-class random hold-out.
        let mut partial = subjects.clone();
        partial[0] = None;
        let (tr, va, held) = holdout_by_subject(&labels, &partial, 0.2, 0);
        assert!(held.is_empty());
        assert_eq!((tr, va), holdout_split(&labels, 0.2, 0));
        // Fraction 0: nothing held out.
        let (tr, va, _) = holdout_by_subject(&labels, &subjects, 0.0, 0);
        assert!(va.is_empty());
        assert_eq!(tr.len(), labels.len());
    }
}
