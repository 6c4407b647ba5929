//! The benchmark core: every method on every split with the honest protocol of [`super::select`], a paper-style
//! table (per split, then mean ± std over splits) and a JSON report. Producing the per-split features and class
//! texts (reading, pretraining, extraction, text encoding) is the caller's job, so this file stays independent of
//! the data and encoder layers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::select::{Evaluation, Protocol, SelectionConfig, fit_and_evaluate};
use crate::util::parallel::{Job, side_by_side};
use crate::zsl::ZslError;
use crate::zsl::features::SplitFeatures;
use crate::zsl::trainer::{BatchSource, TrainConfig};
use crate::zsl::{ClassEmbeddings, FeatureBatch, MethodConfig, MethodKind};

/// One split's inputs.
pub struct BenchSplit {
    pub name: String,
    pub classes: ClassEmbeddings,
    pub features: SplitFeatures,
    /// The split's skeleton encoder, where the caller pretrained it.
    pub encoder: Option<EncoderResult>,
    /// Per validation fold of [`selection_for`], `features.train` as extracted by an encoder pretrained without the
    /// fold's pseudo-unseen classes ([`Protocol::fold_train`]); `None`: the folds read the split's features.
    pub fold_train: Option<Vec<FeatureBatch>>,
}

/// The selection settings [`run_split`] uses on a split's features: the validation folds are
/// `validation_folds(&f.train_labels, &f.seen, sel.pseudo_unseen, sel.folds, sel.holdout, sel.seed)`, which a
/// caller that pretrains fold encoders needs to know beforehand.
pub fn selection_for(f: &SplitFeatures, seed: u64, folds: Option<usize>) -> SelectionConfig {
    selection_for_classes(f.seen.len(), f.unseen.len(), seed, folds)
}

/// [`selection_for`] from the split's class counts, for a caller that plans the folds before any feature exists.
pub fn selection_for_classes(
    seen: usize,
    unseen: usize,
    seed: u64,
    folds: Option<usize>,
) -> SelectionConfig {
    let mut sel = SelectionConfig::for_split(seen, unseen);
    sel.seed = seed;
    if let Some(n) = folds {
        sel.folds = n;
    }
    sel
}

/// A split's skeleton encoder as measured after pretraining. Fractions in `[0, 1]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncoderResult {
    /// Top-1 of the encoder's classifier on the seen classes' samples of the protocol's test side (MSR: the seen
    /// classes of subjects 2,4,6,8,10); unseen-class samples are never used.
    pub encoder_seen_test_top1: f64,
    /// Samples behind it.
    pub seen_test_samples: usize,
    /// Optimiser updates of the encoder's schedule.
    #[serde(default)]
    pub updates: usize,
    /// Wall seconds of the split encoder's pretraining in this run (near 0 when reused from `--work`).
    #[serde(default)]
    pub pretrain_seconds: f64,
    /// Each fold encoder's top-1 on its own seen classes of the test side (empty without fold encoders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fold_encoders_seen_test_top1: Vec<f64>,
    /// Wall seconds of the fold encoders' pretraining and extraction (`None` without fold encoders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold_encoders_seconds: Option<f64>,
}

/// Per-method result on one split. Fractions in `[0, 1]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    pub zsl_top1: f64,
    pub gzsl_s: f64,
    pub gzsl_u: f64,
    pub gzsl_h: f64,
    pub gamma: f64,
    /// `gamma` in units of the model's score spread on its training samples (see [`super::select`]).
    #[serde(default)]
    pub gamma_in_spreads: Option<f64>,
    /// Epoch chosen on the seen-class validation split.
    pub epoch: usize,
    /// Learning rate chosen on the seen-class validation split.
    pub lr: f64,
    /// Test-selected numbers ("oracle"), for comparison with papers that select on the test set only.
    pub oracle_zsl_top1: f64,
    pub oracle_gzsl_h: f64,
    pub seconds: f64,
    /// Mean validation ZSL top-1 over the pseudo-unseen folds at the chosen (lr, epoch).
    #[serde(default)]
    pub val_zsl_top1: f64,
    /// Per-fold validation ZSL top-1 (its spread shows how noisy the selection is).
    #[serde(default)]
    pub val_folds_zsl_top1: Vec<f64>,
    /// The folds' mean validation ZSL top-1 at every epoch of the chosen lr: the curve whose maximum is `epoch`.
    #[serde(default)]
    pub val_zsl_curve: Vec<f64>,
    /// Each fold's validation ZSL top-1 at every epoch of the chosen lr.
    #[serde(default)]
    pub val_folds_zsl_curve: Vec<Vec<f64>>,
    /// The final model's test ZSL top-1 on the unseen classes at every epoch: the oracle's curve, recorded to show
    /// what the selection missed, never used by it.
    #[serde(default)]
    pub test_zsl_curve: Vec<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    /// Mean and population standard deviation.
    pub fn of(v: &[f64]) -> Self {
        if v.is_empty() {
            return Self {
                mean: 0.0,
                std: 0.0,
            };
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        Self {
            mean,
            std: var.sqrt(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanResult {
    pub zsl_top1: MeanStd,
    pub gzsl_s: MeanStd,
    pub gzsl_u: MeanStd,
    pub gzsl_h: MeanStd,
    pub gamma: MeanStd,
    pub oracle_zsl_top1: MeanStd,
    pub splits: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub dataset: String,
    /// The preset every method ran with (`"default"` or `"paper"`).
    #[serde(default)]
    pub preset: crate::zsl::preset::Preset,
    /// STAR trained its SCE over the unseen classes' texts too (`--transductive-text`).
    #[serde(default)]
    pub transductive_text: bool,
    /// Split name -> method name -> result.
    pub splits: BTreeMap<String, BTreeMap<String, MethodResult>>,
    /// Split name -> method name -> error, for methods that could not run (e.g. missing texts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, BTreeMap<String, String>>,
    /// Method name -> mean ± std over splits.
    pub mean: BTreeMap<String, MeanResult>,
    /// Split name -> chance level of ZSL top-1 (1 / unseen classes).
    pub chance: BTreeMap<String, f64>,
    /// Split name -> its classes, so a custom split's row can be read back and rerun.
    #[serde(default)]
    pub split_classes: BTreeMap<String, SplitClasses>,
    /// Split name -> its pretrained encoder (runs from raw data only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encoders: BTreeMap<String, EncoderResult>,
    pub wall_seconds: f64,
    /// STAR (paper preset) trained with the official online augmentation (`bench --data` only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub online_augmentation: bool,
}

/// A split's definition in the report: seen and unseen classes as **1-based** ids, as `--unseen` and split files
/// take them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitClasses {
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
}

/// Runs `methods` on one split and adds the results to `report`, in `methods`' order. `augment` re-draws the
/// training features at every step for the methods configured to train with it (STAR's `online_augment`). `jobs`
/// methods train side by side ([`side_by_side`]); each method's figures are the same whatever `jobs` is.
#[allow(clippy::too_many_arguments)]
pub fn run_split(
    report: &mut BenchReport,
    split: &BenchSplit,
    augment: Option<&dyn BatchSource>,
    methods: &[MethodConfig],
    train: &dyn Fn(MethodKind) -> TrainConfig,
    lrs: &dyn Fn(MethodKind) -> Vec<f64>,
    seed: u64,
    folds: Option<usize>,
    jobs: usize,
) {
    let f = &split.features;
    report
        .chance
        .insert(split.name.clone(), 1.0 / f.unseen.len().max(1) as f64);
    let one_based = |v: &[usize]| v.iter().map(|c| c + 1).collect();
    report.split_classes.insert(
        split.name.clone(),
        SplitClasses {
            seen: one_based(&f.seen),
            unseen: one_based(&f.unseen),
        },
    );
    if let Some(e) = &split.encoder {
        report.encoders.insert(split.name.clone(), e.clone());
    }
    let protocol = Protocol {
        classes: &split.classes,
        seen: &f.seen,
        unseen: &f.unseen,
        train: &f.train,
        train_labels: &f.train_labels,
        test: &f.test,
        test_labels: &f.test_labels,
        fold_train: split.fold_train.as_deref(),
        augment: None,
    };
    let sel = selection_for(f, seed, folds);
    // The methods are independent: side by side (`jobs`), the longest first so the last to start is a short one.
    let work: Vec<Job<'_, Result<Evaluation, ZslError>>> = methods
        .iter()
        .map(|m| {
            let kind = m.kind();
            let sel = SelectionConfig {
                lrs: lrs(kind),
                ..sel.clone()
            };
            let tc = train(kind);
            let protocol = Protocol {
                augment: augment.filter(|_| m.online_augment()),
                ..protocol
            };
            let name = &split.name;
            Box::new(move || {
                tracing::info!("{name}: training {kind}");
                fit_and_evaluate(m, &tc, &sel, &protocol).map(|fitted| fitted.evaluation)
            }) as Job<'_, _>
        })
        .collect();
    let outcomes = side_by_side(work, |i| expected_cost(methods[i].kind()), jobs);
    for (m, outcome) in methods.iter().zip(outcomes) {
        let kind = m.kind();
        match outcome {
            Ok(e) => {
                let r = MethodResult {
                    zsl_top1: e.zsl_top1,
                    gzsl_s: e.gzsl.s,
                    gzsl_u: e.gzsl.u,
                    gzsl_h: e.gzsl.h,
                    gamma: e.gzsl.gamma,
                    gamma_in_spreads: e.gamma_in_spreads,
                    epoch: e.epoch,
                    lr: e.lr,
                    oracle_zsl_top1: e.oracle_zsl_top1,
                    oracle_gzsl_h: e.oracle_gzsl.h,
                    seconds: e.train_seconds,
                    val_zsl_top1: e.val_zsl_top1,
                    val_folds_zsl_top1: e.val_folds.iter().map(|f| f.zsl_top1).collect(),
                    val_folds_zsl_curve: e.val_folds.iter().map(|f| f.zsl_curve.clone()).collect(),
                    val_zsl_curve: e.val_zsl_curve,
                    test_zsl_curve: e.test_zsl_curve,
                };
                report
                    .splits
                    .entry(split.name.clone())
                    .or_default()
                    .insert(kind.name().to_owned(), r);
            }
            Err(err) => {
                tracing::warn!("{}: {kind} failed: {err}", split.name);
                report
                    .errors
                    .entry(split.name.clone())
                    .or_default()
                    .insert(kind.name().to_owned(), err.to_string());
            }
        }
    }
}

/// A method's rough training time on one split, to start the longest first: seconds per MSR split with fold
/// encoders, measured 2026-12-06 (STAR 128, RelationNet 39, SMIE 34, InfoCPL 30, DeViSE 3); PKU-MMD ranks them
/// the same way.
fn expected_cost(kind: MethodKind) -> u64 {
    match kind {
        MethodKind::Star => 128,
        MethodKind::RelationNet => 39,
        MethodKind::Smie => 34,
        MethodKind::InfoCpl => 30,
        MethodKind::Devise => 3,
    }
}

/// Fills `report.mean` from the per-split results.
pub fn summarize(report: &mut BenchReport) {
    let mut by_method: BTreeMap<String, Vec<&MethodResult>> = BTreeMap::new();
    for results in report.splits.values() {
        for (m, r) in results {
            by_method.entry(m.clone()).or_default().push(r);
        }
    }
    report.mean = by_method
        .into_iter()
        .map(|(m, rs)| {
            let col = |f: fn(&MethodResult) -> f64| {
                MeanStd::of(&rs.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            (
                m,
                MeanResult {
                    zsl_top1: col(|r| r.zsl_top1),
                    gzsl_s: col(|r| r.gzsl_s),
                    gzsl_u: col(|r| r.gzsl_u),
                    gzsl_h: col(|r| r.gzsl_h),
                    gamma: col(|r| r.gamma),
                    oracle_zsl_top1: col(|r| r.oracle_zsl_top1),
                    splits: rs.len(),
                },
            )
        })
        .collect();
}

fn method_order(name: &str) -> usize {
    MethodKind::ALL
        .iter()
        .position(|m| m.name() == name)
        .unwrap_or(usize::MAX)
}

/// The paper-style text table (percentages).
pub fn table(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — ZSL top-1 and GZSL S/U/H (%), model selection on seen-class validation only",
        report.dataset
    );
    let _ = writeln!(out, "preset: {}", report.preset);
    if report.transductive_text {
        let _ = writeln!(
            out,
            "STAR is TRANSDUCTIVE on the text side: SCE trained over the unseen classes' texts (--transductive-text)"
        );
    }
    let header = format!(
        "{:<12} {:<12} {:>8} {:>7} {:>7} {:>7} {:>8} {:>12} {:>10}",
        "split", "method", "ZSL", "S", "U", "H", "gamma", "oracle ZSL*", "encoder**"
    );
    let enc = |split: &str| {
        report.encoders.get(split).map_or_else(
            || "-".to_owned(),
            |e| format!("{:.1}", 100.0 * e.encoder_seen_test_top1),
        )
    };
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.len()));
    for (split, results) in &report.splits {
        let mut rs: Vec<_> = results.iter().collect();
        rs.sort_by_key(|(m, _)| method_order(m));
        for (m, r) in rs {
            let title =
                MethodKind::from_name(m).map_or_else(|| m.to_string(), |k| k.title().to_owned());
            let _ = writeln!(
                out,
                "{split:<12} {title:<12} {:>8.1} {:>7.1} {:>7.1} {:>7.1} {:>8.3} {:>12.1} {:>10}",
                100.0 * r.zsl_top1,
                100.0 * r.gzsl_s,
                100.0 * r.gzsl_u,
                100.0 * r.gzsl_h,
                r.gamma,
                100.0 * r.oracle_zsl_top1,
                enc(split)
            );
        }
        if let Some(c) = report.chance.get(split) {
            let _ = writeln!(out, "{split:<12} {:<12} {:>8.1}", "(chance)", 100.0 * c);
        }
    }
    for (split, errs) in &report.errors {
        for (m, e) in errs {
            let _ = writeln!(out, "{split:<12} {m:<12} failed: {e}");
        }
    }
    let mut ms: Vec<_> = report.mean.iter().collect();
    ms.sort_by_key(|(m, _)| method_order(m));
    let _ = writeln!(out, "{}", "-".repeat(header.len()));
    let p = |x: MeanStd| format!("{:.1}±{:.1}", 100.0 * x.mean, 100.0 * x.std);
    let enc_mean = if report.encoders.is_empty() {
        "-".to_owned()
    } else {
        let v: Vec<f64> = report
            .encoders
            .values()
            .map(|e| e.encoder_seen_test_top1)
            .collect();
        p(MeanStd::of(&v))
    };
    for (m, r) in ms {
        let title =
            MethodKind::from_name(m).map_or_else(|| m.to_string(), |k| k.title().to_owned());
        let _ = writeln!(
            out,
            "{:<12} {title:<12} {:>8} {:>7} {:>7} {:>7} {:>8.3} {:>12} {:>10}",
            format!("mean ({})", r.splits),
            p(r.zsl_top1),
            p(r.gzsl_s),
            p(r.gzsl_u),
            p(r.gzsl_h),
            r.gamma.mean,
            p(r.oracle_zsl_top1),
            enc_mean
        );
    }
    let _ = writeln!(
        out,
        "* oracle: best test epoch (test-set selection as in some papers); for comparison only, never used to select."
    );
    let _ = writeln!(
        out,
        "** encoder: the split's skeleton encoder, top-1 on the seen classes of the test side (unseen never used)."
    );
    let _ = writeln!(out, "wall time {:.1} s", report.wall_seconds);
    out
}
