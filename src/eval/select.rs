//! Honest model selection and evaluation.
//!
//! Everything the method is tuned on comes from the seen classes: a few seen classes are held out as
//! *pseudo-unseen*, the method is trained on the rest, and the epoch is chosen by ZSL top-1 on the pseudo-unseen
//! samples, the calibration `gamma` by GZSL H on held-out pseudo-seen samples plus the pseudo-unseen ones. The method
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

use super::calibration::best_gamma;
use super::metrics::{Gzsl, ScoreMatrix, gzsl, top1};
use crate::zsl::trainer::{TrainConfig, TrainSet, score_matrix, train};
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
    if seen.len() < 3 || n_pseudo < 2 || n_pseudo >= seen.len() {
        return Err(ZslError::Invalid(format!(
            "validation needs 2..{} pseudo-unseen classes out of {} seen, got {n_pseudo}",
            seen.len().saturating_sub(1),
            seen.len()
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut classes = seen.to_vec();
    classes.shuffle(&mut rng);
    let mut pseudo_unseen = classes[..n_pseudo].to_vec();
    let mut pseudo_seen = classes[n_pseudo..].to_vec();
    pseudo_unseen.sort_unstable();
    pseudo_seen.sort_unstable();
    let mut split = ValidationSplit {
        pseudo_seen: pseudo_seen.clone(),
        pseudo_unseen: pseudo_unseen.clone(),
        train_rows: Vec::new(),
        val_seen_rows: Vec::new(),
        val_unseen_rows: Vec::new(),
    };
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
    Ok(split)
}

/// Everything a method is fitted and evaluated on. Labels are global class ids (rows of `classes`).
pub struct Protocol<'a> {
    pub classes: &'a ClassEmbeddings,
    pub seen: &'a [usize],
    pub unseen: &'a [usize],
    pub train: &'a FeatureBatch,
    pub train_labels: &'a [usize],
    /// GZSL test set (unseen test samples and held-out seen samples); ZSL uses its unseen-class rows.
    pub test: &'a FeatureBatch,
    pub test_labels: &'a [usize],
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
}

impl SelectionConfig {
    /// Defaults scaled to the number of seen classes: a pseudo-unseen set the size of the test's unseen set.
    pub fn for_split(seen: usize, unseen: usize) -> Self {
        Self {
            pseudo_unseen: unseen.clamp(2, seen.saturating_sub(1).max(2)),
            lrs: Vec::new(),
            holdout: 0.2,
            gamma_steps: 101,
            seed: 0,
        }
    }
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
    pub val_zsl_top1: f64,
    pub val_gzsl_h: f64,
    /// Test-selected numbers for comparison with papers that select on the test set, never used for selection:
    /// the best ZSL top-1 over the final run's epochs, and GZSL with the test-best gamma at the selected epoch.
    pub oracle_zsl_top1: f64,
    pub oracle_gzsl: Gzsl,
    pub train_seconds: f64,
}

/// Column indices of `classes` within `all` (a class set in global ids), and labels mapped to local indices.
fn local_labels(labels: &[usize], rows: &[usize], classes: &[usize]) -> Vec<usize> {
    rows.iter()
        .map(|&r| {
            classes
                .iter()
                .position(|&c| c == labels[r])
                .unwrap_or(usize::MAX)
        })
        .collect()
}

fn snapshot(varmap: &VarMap) -> Result<HashMap<String, Tensor>> {
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
    // 1. Validation run on the seen classes only.
    let split = validation_split(
        p.train_labels,
        p.seen,
        sel.pseudo_unseen,
        sel.holdout,
        sel.seed,
    )?;
    let vtrain = p.train.select(&split.train_rows)?;
    let vtrain_labels = local_labels(p.train_labels, &split.train_rows, &split.pseudo_seen);
    let vclasses = p.classes.select(&split.pseudo_seen)?;
    let vun = p.train.select(&split.val_unseen_rows)?;
    let vun_labels = local_labels(p.train_labels, &split.val_unseen_rows, &split.pseudo_unseen);
    let un_classes = p.classes.select(&split.pseudo_unseen)?;
    let mut vall_classes_ids = split.pseudo_seen.clone();
    vall_classes_ids.extend_from_slice(&split.pseudo_unseen);
    let vall_classes = p.classes.select(&vall_classes_ids)?;
    let mut vg_rows = split.val_seen_rows.clone();
    vg_rows.extend_from_slice(&split.val_unseen_rows);
    let vg = p.train.select(&vg_rows)?;
    let vg_labels = local_labels(p.train_labels, &vg_rows, &vall_classes_ids);
    let vg_seen: Vec<bool> = (0..vall_classes_ids.len())
        .map(|j| j < split.pseudo_seen.len())
        .collect();

    let lrs = if sel.lrs.is_empty() {
        vec![train_cfg.lr]
    } else {
        sel.lrs.clone()
    };
    // (lr, epoch, val ZSL top-1, GZSL validation scores at that epoch)
    let mut best: Option<(f64, usize, f64, ScoreMatrix)> = None;
    for &lr in &lrs {
        let cfg = TrainConfig {
            lr,
            ..train_cfg.clone()
        };
        let (method, varmap) = method_cfg.build_trainable(dims, &device, cfg.seed)?;
        let set = TrainSet {
            features: &vtrain,
            labels: &vtrain_labels,
            classes: &vclasses,
        };
        train(method.as_ref(), &varmap, &set, &cfg, |epoch, _loss| {
            let s = score_matrix(method.as_ref(), &vun, &un_classes, 256)?;
            let acc = top1(&s, &vun_labels).map_err(metric_err)?;
            // Ties go to the later epoch (more training at equal accuracy) within one lr, to the first lr across.
            let better = match &best {
                None => true,
                Some((blr, _, b, _)) => acc > *b || (acc == *b && *blr == lr),
            };
            if better {
                let g = score_matrix(method.as_ref(), &vg, &vall_classes, 256)?;
                best = Some((lr, epoch, acc, g));
            }
            Ok(())
        })?;
    }
    let (lr, epoch, val_zsl, val_scores) =
        best.ok_or_else(|| ZslError::Invalid("no training epoch ran".into()))?;
    let val_g =
        best_gamma(&val_scores, &vg_labels, &vg_seen, sel.gamma_steps).map_err(metric_err)?;
    let final_cfg = TrainConfig {
        lr,
        ..train_cfg.clone()
    };

    // 2. Final run on all seen classes, weights taken at the selected epoch.
    let (method, varmap) = method_cfg.build_trainable(dims, &device, final_cfg.seed)?;
    let seen_classes = p.classes.select(p.seen)?;
    let all_rows: Vec<usize> = (0..p.train_labels.len()).collect();
    let labels = local_labels(p.train_labels, &all_rows, p.seen);
    let set = TrainSet {
        features: p.train,
        labels: &labels,
        classes: &seen_classes,
    };
    let zsl_rows: Vec<usize> = (0..p.test_labels.len())
        .filter(|&i| p.unseen.contains(&p.test_labels[i]))
        .collect();
    let zsl_test = p.test.select(&zsl_rows)?;
    let zsl_labels = local_labels(p.test_labels, &zsl_rows, p.unseen);
    let unseen_classes = p.classes.select(p.unseen)?;
    let mut all_ids = p.seen.to_vec();
    all_ids.extend_from_slice(p.unseen);
    let all_classes = p.classes.select(&all_ids)?;
    let test_rows: Vec<usize> = (0..p.test_labels.len()).collect();
    let g_labels = local_labels(p.test_labels, &test_rows, &all_ids);
    let g_seen: Vec<bool> = (0..all_ids.len()).map(|j| j < p.seen.len()).collect();

    let mut snap = None;
    let mut oracle_zsl = 0f64;
    train(method.as_ref(), &varmap, &set, &final_cfg, |e, _| {
        if e == epoch {
            snap = Some(snapshot(&varmap)?);
        }
        // Oracle bookkeeping (test-selected epoch), reported apart; ZSL only, as it is cheap.
        let s = score_matrix(method.as_ref(), &zsl_test, &unseen_classes, 256)?;
        oracle_zsl = oracle_zsl.max(top1(&s, &zsl_labels).map_err(metric_err)?);
        Ok(())
    })?;
    if let Some(s) = &snap {
        restore(&varmap, s)?;
    }
    let s = score_matrix(method.as_ref(), &zsl_test, &unseen_classes, 256)?;
    let zsl_top1 = top1(&s, &zsl_labels).map_err(metric_err)?;
    let g = score_matrix(method.as_ref(), p.test, &all_classes, 256)?;
    let gz = gzsl(&g, &g_labels, &g_seen, val_g.gamma).map_err(metric_err)?;
    // Oracle gamma: the best on the test set, for the selected weights.
    let oracle_gzsl = best_gamma(&g, &g_labels, &g_seen, sel.gamma_steps).map_err(metric_err)?;
    let evaluation = Evaluation {
        zsl_top1,
        gzsl: gz,
        epoch,
        lr,
        val_zsl_top1: val_zsl,
        val_gzsl_h: val_g.h,
        oracle_zsl_top1: oracle_zsl,
        oracle_gzsl,
        train_seconds: start.elapsed().as_secs_f64(),
    };
    Ok(Fitted {
        method,
        varmap,
        evaluation,
    })
}

fn metric_err(e: super::metrics::MetricError) -> ZslError {
    ZslError::Invalid(e.to_string())
}
