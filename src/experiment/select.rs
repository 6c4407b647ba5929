//! Honest model selection and evaluation.
//!
//! Everything the method is tuned on comes from the seen classes: a few seen classes are held out as
//! *pseudo-unseen*, the method is trained on the rest, and the epoch is chosen by ZSL top-1 on the pseudo-unseen
//! samples, the calibration `gamma` by GZSL H on held-out pseudo-seen samples plus the pseudo-unseen ones. One such
//! fold of a few classes is noise (MSR: ~70 samples of 5 classes), so [`SelectionConfig::folds`] disjoint groups of
//! seen classes are held out in turn: the (lr, epoch) maximises the mean validation ZSL top-1 over the folds, and
//! gamma is the mean of the folds' best gammas at that (lr, epoch), each divided by its model's score spread on its
//! own training samples ([`score_spread`]) and multiplied back by the final model's. The method
//! is then retrained on all seen classes with the same schedule, its weights taken at the chosen epoch, and
//! evaluated once on the unseen test classes. The "oracle" numbers (epoch and gamma picked on the test set, as
//! several papers do) are reported separately and never feed back.

use std::collections::HashMap;

use candle_core::Tensor;
use candle_nn::VarMap;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::fold_models::{FoldModel, FoldModels};
use super::val_fold::ValFold;
use crate::eval::calibration::{best_gamma, score_spread};
use crate::eval::layout::{local_labels, rows_of_classes};
use crate::eval::{Gzsl, GzslLayout, gzsl, top1};
use crate::zsl::trainer::{BatchSource, RowsOf, TrainConfig, TrainSet, score_matrix, train};
use crate::zsl::{ClassEmbeddings, Dims, FeatureBatch, MethodConfig, Result, ZslError};

/// Seen-class validation split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationSplit {
    /// Seen classes the validation model trains on.
    pub pseudo_seen: Vec<usize>,
    /// Seen classes held out as pseudo-unseen.
    pub pseudo_unseen: Vec<usize>,
    /// Rows (of the seen training set) the validation model trains on.
    pub train_rows: Vec<usize>,
    /// Held-out rows of pseudo-seen classes (GZSL validation).
    pub val_seen_rows: Vec<usize>,
    /// Rows of pseudo-unseen classes.
    pub val_unseen_rows: Vec<usize>,
}

/// Splits the seen training set: `n_pseudo` seen classes become pseudo-unseen (at least 2), and `holdout` of each
/// pseudo-seen class's samples are held out for GZSL validation.
pub fn validation_split(
    labels: &[usize],
    seen: &[usize],
    n_pseudo: usize,
    holdout: f64,
    seed: u64,
) -> Result<ValidationSplit> {
    let mut folds = validation_folds(labels, seen, n_pseudo, 1, holdout, seed)?;
    folds
        .pop()
        .ok_or_else(|| ZslError::Invalid("no validation fold".into()))
}

/// `folds` validation splits whose pseudo-unseen class groups are disjoint: the seen classes are shuffled once
/// (`seed`) and fold `f` holds out the `f`-th group of `n_pseudo` of them. With `folds == 1` this is exactly
/// [`validation_split`]'s split (same classes and rows for the same seed).
pub fn validation_folds(
    labels: &[usize],
    seen: &[usize],
    n_pseudo: usize,
    folds: usize,
    holdout: f64,
    seed: u64,
) -> Result<Vec<ValidationSplit>> {
    if seen.len() < 3 || n_pseudo < 2 || n_pseudo >= seen.len() {
        return Err(ZslError::Invalid(format!(
            "validation needs 2..{} pseudo-unseen classes out of {} seen, got {n_pseudo}",
            seen.len().saturating_sub(1),
            seen.len()
        )));
    }
    let max_folds = seen.len() / n_pseudo;
    if folds == 0 || folds > max_folds {
        return Err(ZslError::Invalid(format!(
            "validation folds must be 1..={max_folds} ({} seen classes, {n_pseudo} pseudo-unseen per fold), got {folds}",
            seen.len()
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut classes = seen.to_vec();
    classes.shuffle(&mut rng);
    let mut out = Vec::with_capacity(folds);
    for f in 0..folds {
        let held = f * n_pseudo..(f + 1) * n_pseudo;
        let mut pseudo_unseen = classes[held.clone()].to_vec();
        let mut pseudo_seen: Vec<usize> = classes
            .iter()
            .enumerate()
            .filter(|(i, _)| !held.contains(i))
            .map(|(_, &c)| c)
            .collect();
        pseudo_unseen.sort_unstable();
        pseudo_seen.sort_unstable();
        let mut split = ValidationSplit {
            pseudo_seen: pseudo_seen.clone(),
            pseudo_unseen: pseudo_unseen.clone(),
            train_rows: Vec::new(),
            val_seen_rows: Vec::new(),
            val_unseen_rows: Vec::new(),
        };
        // One rng stream across folds: fold 0 draws exactly what the single split used to.
        for &c in &pseudo_seen {
            let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
            rows.shuffle(&mut rng);
            let k = ((rows.len() as f64) * holdout).round() as usize;
            let k = k.min(rows.len().saturating_sub(1));
            split.val_seen_rows.extend_from_slice(&rows[..k]);
            split.train_rows.extend_from_slice(&rows[k..]);
        }
        split.val_unseen_rows = (0..labels.len())
            .filter(|&i| pseudo_unseen.contains(&labels[i]))
            .collect();
        split.train_rows.sort_unstable();
        split.val_seen_rows.sort_unstable();
        out.push(split);
    }
    Ok(out)
}

/// Re-draws `split`'s pseudo-seen rows so that its GZSL validation rows are every sample of whole held-out
/// subjects: `holdout` of the distinct subjects (rounded, at least one, fewer than all), drawn with `seed`, the same
/// in every fold. `subjects[i]` is row `i`'s subject. Pseudo-unseen rows are all kept (no model trains on them).
pub fn hold_out_subjects(
    split: &mut ValidationSplit,
    labels: &[usize],
    subjects: &[u32],
    holdout: f64,
    seed: u64,
) -> Result<()> {
    if subjects.len() != labels.len() {
        return Err(ZslError::Invalid(format!(
            "{} subjects for {} training rows",
            subjects.len(),
            labels.len()
        )));
    }
    let mut distinct: Vec<u32> = subjects.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(ZslError::Invalid(format!(
            "holding out whole subjects needs at least 2 training subjects, got {}",
            distinct.len()
        )));
    }
    distinct.shuffle(&mut StdRng::seed_from_u64(seed));
    let k = ((distinct.len() as f64 * holdout).round() as usize).clamp(1, distinct.len() - 1);
    let held = &distinct[..k];
    let pseudo_seen: Vec<usize> = (0..labels.len())
        .filter(|&i| split.pseudo_seen.contains(&labels[i]))
        .collect();
    (split.val_seen_rows, split.train_rows) = pseudo_seen
        .into_iter()
        .partition(|&i| held.contains(&subjects[i]));
    Ok(())
}

/// Everything a method is fitted and evaluated on. Labels are global class ids (rows of `classes`).
#[derive(Clone, Copy)]
pub struct Protocol<'a> {
    pub classes: &'a ClassEmbeddings,
    pub seen: &'a [usize],
    pub unseen: &'a [usize],
    pub train: &'a FeatureBatch,
    pub train_labels: &'a [usize],
    /// GZSL test set (unseen test samples and held-out seen samples); ZSL uses its unseen-class rows.
    pub test: &'a FeatureBatch,
    pub test_labels: &'a [usize],
    /// Per validation fold (in [`validation_folds`] order), the features of `train`'s rows (same rows, same order)
    /// from an encoder pretrained without that fold's pseudo-unseen classes. The encoder behind `train` saw every
    /// seen class, so its features already separate a fold's pseudo-unseen classes, which truly unseen classes are
    /// not: selection on them overrates early, sharp epochs. `None`: every fold reads `train`.
    pub fold_train: Option<&'a [FeatureBatch]>,
    /// Fresh features of `train`'s rows at every training step (STAR's online augmentation, from the split's
    /// encoder). The folds use it only when they read `train` (no [`Self::fold_train`]): a fold encoder's features
    /// cannot be re-drawn from the split's encoder. `None`: every step reads the fixed features.
    pub augment: Option<&'a dyn BatchSource>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SelectionConfig {
    pub pseudo_unseen: usize,
    /// Learning rates tried on the validation split (empty: the training config's).
    #[serde(default)]
    pub lrs: Vec<f64>,
    pub holdout: f64,
    pub gamma_steps: usize,
    pub seed: u64,
    /// Disjoint pseudo-unseen folds the selection averages over (1 in configs saved before folds existed).
    #[serde(default = "one_fold")]
    pub folds: usize,
    /// Retrain each fold's model at the chosen (lr, epoch) and return it ([`Fitted::fold_models`]), so that a
    /// scoring-time choice (InfoCPL's branch set) can later be measured on the folds' pseudo-unseen classes. Costs
    /// one more fold training per fold, up to the chosen epoch.
    #[serde(default)]
    pub keep_fold_models: bool,
    /// The subject of each seen-class training row, when known: the GZSL validation then holds out whole subjects
    /// (`holdout` of them, at least one, drawn with `seed`) instead of random rows, so gamma is tuned on people the
    /// validation model never saw, as the test's are ([`hold_out_subjects`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subjects: Option<Vec<u32>>,
}

fn one_fold() -> usize {
    1
}

impl SelectionConfig {
    /// Defaults scaled to the number of seen classes: a pseudo-unseen set the size of the test's unseen set, and
    /// [`Self::DEFAULT_FOLDS`] disjoint folds where the seen classes allow it.
    pub fn for_split(seen: usize, unseen: usize) -> Self {
        let pseudo_unseen = unseen.clamp(2, seen.saturating_sub(1).max(2));
        Self {
            pseudo_unseen,
            lrs: Vec::new(),
            holdout: 0.2,
            gamma_steps: 101,
            seed: 0,
            folds: Self::DEFAULT_FOLDS.min(seen / pseudo_unseen).max(1),
            keep_fold_models: false,
            train_subjects: None,
        }
    }

    /// Folds `for_split` asks for: one pseudo-unseen fold of ~70 MSR samples made the selection noise.
    pub const DEFAULT_FOLDS: usize = 3;
}

/// The outcome of [`fit_and_evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub zsl_top1: f64,
    pub gzsl: Gzsl,
    /// Epoch (0-based) chosen on validation.
    pub epoch: usize,
    /// Learning rate chosen on validation.
    pub lr: f64,
    /// Mean over the validation folds of the pseudo-unseen ZSL top-1 at the chosen (lr, epoch).
    pub val_zsl_top1: f64,
    /// Mean over the folds of the validation GZSL H, each at its own best gamma.
    pub val_gzsl_h: f64,
    /// Per-fold validation figures at the chosen (lr, epoch), to show the spread behind the means.
    #[serde(default)]
    pub val_folds: Vec<FoldValidation>,
    /// The applied gamma in units of the final model's score spread (the folds' mean); `None` where a spread was
    /// undefined and the folds' raw gammas were averaged instead.
    #[serde(default)]
    pub gamma_in_spreads: Option<f64>,
    /// The final model's score spread on its training samples ([`score_spread`]).
    #[serde(default)]
    pub spread: Option<f64>,
    /// Test-selected numbers for comparison with papers that select on the test set, never used for selection:
    /// the best ZSL top-1 over the final run's epochs, and GZSL with the test-best gamma at the selected epoch.
    pub oracle_zsl_top1: f64,
    pub oracle_gzsl: Gzsl,
    pub train_seconds: f64,
    /// The selection's evidence epoch by epoch, at the chosen lr: the folds' mean validation ZSL top-1, whose
    /// maximum chose `epoch` (epochs before the first selectable one included, as run).
    #[serde(default)]
    pub val_zsl_curve: Vec<f64>,
    /// The final model's ZSL top-1 on the unseen test classes epoch by epoch, the curve the oracle takes its best
    /// selectable epoch from. Kept so a selection that missed can be seen against the curve it missed; never read
    /// by the selection.
    #[serde(default)]
    pub test_zsl_curve: Vec<f64>,
}

/// One validation fold's figures at the chosen (lr, epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldValidation {
    /// Global ids of the fold's pseudo-unseen classes.
    pub pseudo_unseen: Vec<usize>,
    pub zsl_top1: f64,
    pub gzsl_h: f64,
    /// The fold's best gamma, in its own model's score units.
    pub gamma: f64,
    /// That model's score spread on its training samples ([`score_spread`]).
    #[serde(default)]
    pub spread: Option<f64>,
    /// The fold's validation ZSL top-1 at every epoch of the chosen lr.
    #[serde(default)]
    pub zsl_curve: Vec<f64>,
}

/// Cap on the GZSL validation rows scored per fold and epoch: bounds SMIE's pair-wise scorer on NTU-size data.
pub const GZSL_VAL_ROWS_CAP: usize = 2048;

/// Training samples a model's score spread is measured on (a fixed-seed subsample). A median of per-sample
/// deviations needs few, and they are scored at every epoch of every fold: with 256 (all of an MSR fold's), STAR's
/// MSR fits took 27% longer.
pub const SPREAD_ROWS: usize = 64;

/// `rows` itself when it has at most `cap` entries, else a fixed-seed uniform subsample of that size (sorted).
pub(super) fn capped_rows(mut rows: Vec<usize>, cap: usize, seed: u64) -> Vec<usize> {
    if rows.len() > cap {
        rows.shuffle(&mut StdRng::seed_from_u64(seed));
        rows.truncate(cap);
        rows.sort_unstable();
    }
    rows
}

pub(super) fn snapshot(varmap: &VarMap) -> Result<HashMap<String, Tensor>> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| ZslError::Invalid("poisoned var map".into()))?;
    data.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect()
}

fn restore(varmap: &VarMap, snap: &HashMap<String, Tensor>) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| ZslError::Invalid("poisoned var map".into()))?;
    for (k, v) in data.iter() {
        if let Some(t) = snap.get(k) {
            v.set(t)?;
        }
    }
    Ok(())
}

/// The trained method of [`fit_and_evaluate`], ready to save.
pub struct Fitted {
    pub method: Box<dyn crate::zsl::ZslMethod>,
    pub varmap: VarMap,
    pub evaluation: Evaluation,
    /// The fold models at the chosen (lr, epoch) when [`SelectionConfig::keep_fold_models`] asked for them (and the
    /// folds read `train` itself, so that the feature file gives their rows back).
    pub fold_models: Option<FoldModels>,
}

/// Validation-selected training and one evaluation on the test classes (see the module doc).
pub fn fit_and_evaluate(
    method_cfg: &MethodConfig,
    train_cfg: &TrainConfig,
    sel: &SelectionConfig,
    p: &Protocol<'_>,
) -> Result<Fitted> {
    let start = std::time::Instant::now();
    let device = p.train.pooled.device().clone();
    let dims = Dims {
        visual: p.train.visual_dim(),
        text: p.classes.dim(),
    };
    // 1. Validation runs on the seen classes only, one per (lr, fold).
    let mut splits = validation_folds(
        p.train_labels,
        p.seen,
        sel.pseudo_unseen,
        sel.folds,
        sel.holdout,
        sel.seed,
    )?;
    if let Some(subjects) = &sel.train_subjects {
        for split in &mut splits {
            hold_out_subjects(split, p.train_labels, subjects, sel.holdout, sel.seed)?;
        }
    }
    if let Some(fold_train) = p.fold_train
        && (fold_train.len() != splits.len()
            || fold_train.iter().any(|b| b.len() != p.train_labels.len()))
    {
        return Err(ZslError::Invalid(format!(
            "{} fold feature sets for {} folds (each must hold the {} training rows)",
            fold_train.len(),
            splits.len(),
            p.train_labels.len()
        )));
    }
    // Each fold's tensors are built when the fold trains and dropped after: they copy most of the training rows,
    // STAR's map included, so holding all folds at once kept the map four times over with three folds (about
    // 150 GB for NTU-120 in f32). Building one is deterministic, so a rebuilt fold is the same fold.
    let build_fold = |f: usize| -> Result<ValFold<'_>> {
        let features = p.fold_train.and_then(|t| t.get(f)).unwrap_or(p.train);
        ValFold::new(p, features, &splits[f], sel.seed.wrapping_add(f as u64))
    };
    let lrs = if sel.lrs.is_empty() {
        vec![train_cfg.lr]
    } else {
        sel.lrs.clone()
    };
    // Only scalars are kept per (lr, fold, epoch): the chosen epoch is known after all folds ran, and keeping
    // score matrices (or weights) for every epoch would not be bounded. Each fold's best gamma and H are computed
    // every epoch on at most GZSL_VAL_ROWS_CAP validation rows.
    let mut curves: Vec<Vec<Vec<EpochVal>>> = Vec::with_capacity(lrs.len());
    for &lr in &lrs {
        let mut per_fold = Vec::with_capacity(splits.len());
        for (f, split) in splits.iter().enumerate() {
            let fold = build_fold(f)?;
            // Online augmentation re-crops the fold's rows of the split's own samples; folds on fold encoders'
            // features train on those fixed features.
            let fold_augment = match (p.augment, p.fold_train) {
                (Some(source), None) => Some(RowsOf {
                    source,
                    rows: &split.train_rows,
                }),
                _ => None,
            };
            let (method, varmap, cfg) = fold.model(
                method_cfg,
                train_cfg,
                lr,
                p.train_labels.len(),
                dims,
                &device,
            )?;
            let fixed = fold.train_set(method_cfg);
            let set = TrainSet {
                augment: fold_augment
                    .as_ref()
                    .map(|a| a as &dyn BatchSource)
                    .or(fixed.augment),
                ..fixed
            };
            let mut curve = Vec::with_capacity(cfg.epochs);
            train(method.as_ref(), &varmap, &set, &cfg, |_epoch, _loss| {
                let g = score_matrix(method.as_ref(), &fold.gzsl, &fold.all_classes, 256)?;
                let s = match &fold.unseen_in_gzsl {
                    // Scores are per (sample, class) pair, so the ZSL matrix is a block of the GZSL one.
                    Some((rows, cols)) => g.select(rows, cols),
                    None => {
                        let unseen = fold.unseen.as_ref().ok_or_else(|| {
                            ZslError::Invalid("a fold without its pseudo-unseen rows".into())
                        })?;
                        score_matrix(method.as_ref(), unseen, &fold.unseen_classes, 256)?
                    }
                };
                let zsl = top1(&s, &fold.unseen_labels).map_err(metric_err)?;
                let bg = best_gamma(&g, &fold.gzsl_labels, &fold.gzsl_seen, sel.gamma_steps)
                    .map_err(metric_err)?;
                let own = score_matrix(method.as_ref(), &fold.spread, &fold.seen_classes, 256)?;
                curve.push(EpochVal {
                    zsl,
                    gamma: bg.gamma,
                    h: bg.h,
                    spread: score_spread(&own),
                });
                Ok(())
            })?;
            per_fold.push(curve);
        }
        curves.push(per_fold);
    }
    // Per lr, the folds' mean validation ZSL top-1 at each epoch all folds ran.
    let mut mean_curves: Vec<Vec<f64>> = curves
        .iter()
        .map(|per_fold| {
            let epochs = per_fold.iter().map(Vec::len).min().unwrap_or(0);
            (0..epochs)
                .map(|e| per_fold.iter().map(|c| c[e].zsl).sum::<f64>() / per_fold.len() as f64)
                .collect()
        })
        .collect();
    // (lr index, epoch, mean val ZSL top-1). Ties go to the later epoch (more training at equal accuracy) within
    // one lr, to the first lr across.
    let mut best: Option<(usize, usize, f64)> = None;
    for (li, mean) in mean_curves.iter().enumerate() {
        for (e, &acc) in mean
            .iter()
            .enumerate()
            .skip(first_selectable(method_cfg, mean.len()))
        {
            let better = match best {
                None => true,
                Some((bl, _, b)) => acc > b || (acc == b && bl == li),
            };
            if better {
                best = Some((li, e, acc));
            }
        }
    }
    let (li, epoch, val_zsl) =
        best.ok_or_else(|| ZslError::Invalid("no training epoch ran".into()))?;
    let lr = lrs[li];
    let val_folds: Vec<FoldValidation> = curves[li]
        .iter()
        .zip(&splits)
        .map(|(c, split)| FoldValidation {
            pseudo_unseen: split.pseudo_unseen.clone(),
            zsl_top1: c[epoch].zsl,
            gzsl_h: c[epoch].h,
            gamma: c[epoch].gamma,
            spread: c[epoch].spread,
            zsl_curve: c.iter().map(|v| v.zsl).collect(),
        })
        .collect();
    // Gamma: the mean of the folds' best gammas, in units of each model's score spread. Each fold's grid spans its
    // own score range, so a common grid would need every fold's score matrix kept per epoch; the mean needs one
    // scalar per fold and averages out a fold whose few pseudo-unseen classes happen to be easy or hard.
    let fold_models = if sel.keep_fold_models && p.fold_train.is_none() {
        let folds = splits
            .iter()
            .enumerate()
            .map(|(f, split)| {
                build_fold(f)?
                    .model_at(
                        method_cfg,
                        train_cfg,
                        lr,
                        epoch,
                        p.train_labels.len(),
                        dims,
                        &device,
                    )
                    .map(|weights| FoldModel {
                        split: split.clone(),
                        weights,
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Some(FoldModels {
            folds,
            train_samples: p.train_labels.len(),
            lr,
            epoch,
        })
    } else {
        None
    };
    let n = val_folds.len() as f64;
    let val_h = val_folds.iter().map(|f| f.gzsl_h).sum::<f64>() / n;
    let final_cfg = TrainConfig {
        lr,
        ..train_cfg.clone()
    };

    // 2. Final run on all seen classes, weights taken at the selected epoch.
    let (method, varmap) =
        method_cfg.build_trainable_with(dims, &device, final_cfg.seed, final_cfg.init)?;
    method_cfg.fit_statistics(&varmap, p.train)?;
    let seen_classes = p.classes.select(p.seen)?;
    let all_rows: Vec<usize> = (0..p.train_labels.len()).collect();
    let labels = local_labels(p.train_labels, &all_rows, p.seen);
    let own_rows = p
        .train
        .select(&capped_rows(all_rows.clone(), SPREAD_ROWS, sel.seed))?;
    let layout = GzslLayout::new(p.seen, p.unseen);
    let all_classes = p.classes.select(layout.classes())?;
    let set = TrainSet {
        features: p.train,
        labels: &labels,
        classes: &seen_classes,
        all_classes: method_cfg.transductive_text().then_some(&all_classes),
        augment: p.augment,
    };
    let zsl_rows = rows_of_classes(p.test_labels, p.unseen);
    let zsl_test = p.test.select(&zsl_rows)?;
    let zsl_labels = local_labels(p.test_labels, &zsl_rows, p.unseen);
    let unseen_classes = p.classes.select(p.unseen)?;
    let test_rows: Vec<usize> = (0..p.test_labels.len()).collect();
    let g_labels = layout.local_labels(p.test_labels, &test_rows);
    let g_seen = layout.seen_mask();

    let mut snap = None;
    let mut oracle_zsl = 0f64;
    let mut test_zsl_curve = Vec::with_capacity(final_cfg.epochs);
    train(method.as_ref(), &varmap, &set, &final_cfg, |e, _| {
        if e == epoch {
            snap = Some(snapshot(&varmap)?);
        }
        // Oracle bookkeeping (test-selected epoch among the selectable ones), reported apart; ZSL only, as it is
        // cheap.
        let s = score_matrix(method.as_ref(), &zsl_test, &unseen_classes, 256)?;
        let zsl = top1(&s, &zsl_labels).map_err(metric_err)?;
        test_zsl_curve.push(zsl);
        if e >= first_selectable(method_cfg, final_cfg.epochs) {
            oracle_zsl = oracle_zsl.max(zsl);
        }
        Ok(())
    })?;
    if let Some(s) = &snap {
        restore(&varmap, s)?;
    }
    let s = score_matrix(method.as_ref(), &zsl_test, &unseen_classes, 256)?;
    let zsl_top1 = top1(&s, &zsl_labels).map_err(metric_err)?;
    let g = score_matrix(method.as_ref(), p.test, &all_classes, 256)?;
    let final_spread = score_spread(&score_matrix(
        method.as_ref(),
        &own_rows,
        &seen_classes,
        256,
    )?);
    let (gamma, gamma_in_spreads) = transferred_gamma(&val_folds, final_spread);
    if gamma_in_spreads.is_none() {
        tracing::warn!("a score spread is undefined: gamma is the folds' mean in raw score units");
    }
    let gz = gzsl(&g, &g_labels, &g_seen, gamma).map_err(metric_err)?;
    if tracing::enabled!(tracing::Level::DEBUG) {
        let raw = transferred_gamma(&val_folds, None).0;
        let raw_h = gzsl(&g, &g_labels, &g_seen, raw).map_err(metric_err)?.h;
        tracing::debug!(
            "gamma {gamma:.4} ({gamma_in_spreads:?} spreads of {final_spread:?}): H {:.4}; the folds' raw mean {raw:.4} would give H {raw_h:.4}",
            gz.h
        );
    }
    // Oracle gamma: the best on the test set, for the selected weights.
    let oracle_gzsl = best_gamma(&g, &g_labels, &g_seen, sel.gamma_steps).map_err(metric_err)?;
    let evaluation = Evaluation {
        zsl_top1,
        gzsl: gz,
        epoch,
        lr,
        val_zsl_top1: val_zsl,
        val_gzsl_h: val_h,
        val_folds,
        gamma_in_spreads,
        spread: final_spread,
        oracle_zsl_top1: oracle_zsl,
        oracle_gzsl,
        train_seconds: start.elapsed().as_secs_f64(),
        val_zsl_curve: mean_curves.swap_remove(li),
        test_zsl_curve,
    };
    Ok(Fitted {
        method,
        varmap,
        evaluation,
        fold_models,
    })
}

/// The gamma applied to the final model, from the folds' best gammas: their mean in units of each fold model's
/// score spread, times `final_spread` (the final model's), returned with that mean. Where a spread is undefined
/// (`None`) it is the folds' mean gamma in raw score units, with `None`.
pub fn transferred_gamma(
    folds: &[FoldValidation],
    final_spread: Option<f64>,
) -> (f64, Option<f64>) {
    let n = folds.len().max(1) as f64;
    let units = folds
        .iter()
        .map(|f| f.spread.map(|s| f.gamma / s))
        .sum::<Option<f64>>()
        .map(|sum| sum / n);
    match (units, final_spread) {
        (Some(units), Some(spread)) if !folds.is_empty() => (units * spread, Some(units)),
        _ => (folds.iter().map(|f| f.gamma).sum::<f64>() / n, None),
    }
}

/// Optimiser steps of one epoch of [`train`] over `rows` samples at `batch` (a last batch of one sample is
/// skipped there).
pub fn steps_per_epoch(rows: usize, batch: usize) -> usize {
    let bs = batch.max(2);
    rows / bs + usize::from(rows % bs >= 2)
}

/// The batch size that gives a fold model on `fold_rows` samples as many optimiser steps per epoch as the final
/// model gets from `final_rows` samples at `batch` (or the nearest count a batch size can give), so that an epoch
/// chosen on the folds carries the same number of updates, under the same per-epoch schedule, to the final model.
pub fn fold_batch_size(fold_rows: usize, final_rows: usize, batch: usize) -> usize {
    let want = steps_per_epoch(final_rows, batch);
    // Among the batch sizes that come nearest, the one nearest the proportional batch (same rows: `batch` itself).
    let proportional = (batch.max(2) * fold_rows).div_ceil(final_rows.max(1));
    (2..=fold_rows.max(2))
        .min_by_key(|&b| {
            (
                steps_per_epoch(fold_rows, b).abs_diff(want),
                b.abs_diff(proportional),
            )
        })
        .unwrap_or(2)
}

/// The method's first selectable epoch ([`MethodConfig::first_selectable_epoch`]), kept below `epochs` so that a
/// schedule no longer than the warm-up still selects its last epoch.
fn first_selectable(method_cfg: &MethodConfig, epochs: usize) -> usize {
    method_cfg
        .first_selectable_epoch()
        .min(epochs.saturating_sub(1))
}

/// One fold's validation curve point.
struct EpochVal {
    zsl: f64,
    gamma: f64,
    h: f64,
    spread: Option<f64>,
}

fn metric_err(e: crate::eval::MetricError) -> ZslError {
    ZslError::Invalid(e.to_string())
}
