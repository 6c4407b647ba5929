//! Seen-class model selection over disjoint pseudo-unseen folds.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use skelzero::experiment::select::{
    SelectionConfig, ValidationSplit, fit_and_evaluate, fold_batch_size, hold_out_subjects,
    steps_per_epoch, validation_folds, validation_split,
};
use skelzero::zsl::trainer::TrainConfig;
use skelzero::zsl::{MethodConfig, MethodKind};

mod zsl_synth;
use zsl_synth::{SEEN, synth};

/// 15 seen classes (ids 3..18, not contiguous from 0) with a varying number of samples each.
fn labels_and_seen() -> (Vec<usize>, Vec<usize>) {
    let seen: Vec<usize> = (3..18).collect();
    let mut labels = Vec::new();
    for (i, &c) in seen.iter().enumerate() {
        labels.extend(std::iter::repeat_n(c, 5 + i % 4));
    }
    labels.shuffle(&mut StdRng::seed_from_u64(9));
    (labels, seen)
}

/// The single split as it was drawn before folds existed (one shuffle of the classes, then each pseudo-seen
/// class's rows from the same generator).
fn old_split(
    labels: &[usize],
    seen: &[usize],
    n: usize,
    holdout: f64,
    seed: u64,
) -> ValidationSplit {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut classes = seen.to_vec();
    classes.shuffle(&mut rng);
    let mut pu = classes[..n].to_vec();
    let mut ps = classes[n..].to_vec();
    pu.sort_unstable();
    ps.sort_unstable();
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for &c in &ps {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        rows.shuffle(&mut rng);
        let k = (((rows.len() as f64) * holdout).round() as usize).min(rows.len() - 1);
        val.extend_from_slice(&rows[..k]);
        train.extend_from_slice(&rows[k..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    ValidationSplit {
        val_unseen_rows: (0..labels.len())
            .filter(|&i| pu.contains(&labels[i]))
            .collect(),
        pseudo_seen: ps,
        pseudo_unseen: pu,
        train_rows: train,
        val_seen_rows: val,
    }
}

#[test]
fn folds_hold_out_disjoint_classes_and_never_train_on_them() {
    let (labels, seen) = labels_and_seen();
    for seed in 0..4 {
        let folds = validation_folds(&labels, &seen, 5, 3, 0.2, seed).unwrap();
        assert_eq!(folds.len(), 3);
        let mut held: Vec<usize> = folds.iter().flat_map(|f| f.pseudo_unseen.clone()).collect();
        held.sort_unstable();
        held.dedup();
        assert_eq!(
            held.len(),
            15,
            "seed {seed}: a class is pseudo-unseen in two folds"
        );
        for f in &folds {
            assert_eq!(f.pseudo_unseen.len(), 5);
            assert_eq!(f.pseudo_seen.len(), 10);
            assert!(f.pseudo_seen.iter().all(|c| !f.pseudo_unseen.contains(c)));
            for &r in &f.train_rows {
                assert!(
                    f.pseudo_seen.contains(&labels[r]),
                    "row {r} of a pseudo-unseen class trains"
                );
                assert!(!f.val_seen_rows.contains(&r));
            }
            for &r in &f.val_unseen_rows {
                assert!(f.pseudo_unseen.contains(&labels[r]));
            }
            let n_unseen = labels
                .iter()
                .filter(|l| f.pseudo_unseen.contains(l))
                .count();
            assert_eq!(f.val_unseen_rows.len(), n_unseen);
            assert_eq!(
                f.train_rows.len() + f.val_seen_rows.len() + n_unseen,
                labels.len()
            );
        }
    }
}

#[test]
fn one_fold_reproduces_the_single_split() {
    let (labels, seen) = labels_and_seen();
    for seed in [0, 1, 7, 42] {
        let old = old_split(&labels, &seen, 4, 0.2, seed);
        assert_eq!(validation_split(&labels, &seen, 4, 0.2, seed).unwrap(), old);
        let folds = validation_folds(&labels, &seen, 4, 1, 0.2, seed).unwrap();
        assert_eq!(folds, vec![old.clone()]);
        // Fold 0 of several is the same split too.
        let three = validation_folds(&labels, &seen, 4, 3, 0.2, seed).unwrap();
        assert_eq!(three[0], old);
    }
}

#[test]
fn bad_fold_counts_are_refused_with_the_limit_named() {
    let (labels, seen) = labels_and_seen();
    for bad in [0, 4] {
        let err = validation_folds(&labels, &seen, 5, bad, 0.2, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("folds") && err.contains("1..=3"), "{err}");
        assert!(err.contains(&format!("got {bad}")), "{err}");
    }
    assert_eq!(SelectionConfig::for_split(15, 5).folds, 3);
    assert_eq!(SelectionConfig::for_split(8, 5).folds, 1);
    assert_eq!(SelectionConfig::for_split(3, 2).folds, 1);
    // Configs saved before folds existed load with one fold.
    let old = "pseudo_unseen = 5\nholdout = 0.2\ngamma_steps = 101\nseed = 0\n";
    let sel: SelectionConfig = toml::from_str(old).unwrap();
    assert_eq!(sel.folds, 1);
}

#[test]
fn three_fold_fit_reports_each_fold() {
    let s = synth();
    let p = s.protocol();
    let tc = TrainConfig {
        epochs: 15,
        batch_size: 32,
        lr: 2e-2,
        ..Default::default()
    };
    let mut sel = SelectionConfig::for_split(SEEN, zsl_synth::C - SEEN);
    assert_eq!(sel.folds, 3);
    sel.lrs = vec![2e-3, 2e-2];
    let f = fit_and_evaluate(
        &MethodConfig::default_for(MethodKind::Devise),
        &tc,
        &sel,
        &p,
    )
    .unwrap();
    let e = &f.evaluation;
    assert_eq!(e.val_folds.len(), 3);
    let mut held: Vec<usize> = e
        .val_folds
        .iter()
        .flat_map(|v| v.pseudo_unseen.clone())
        .collect();
    held.sort_unstable();
    held.dedup();
    assert_eq!(held.len(), 15);
    let mean = e.val_folds.iter().map(|v| v.zsl_top1).sum::<f64>() / 3.0;
    assert!((e.val_zsl_top1 - mean).abs() < 1e-12);
    // Gamma travels in units of each model's score spread on its own training samples.
    let units = e
        .val_folds
        .iter()
        .map(|v| v.gamma / v.spread.unwrap())
        .sum::<f64>()
        / 3.0;
    assert!((e.gamma_in_spreads.unwrap() - units).abs() < 1e-9, "{e:?}");
    let spread = e.spread.unwrap();
    assert!(spread > 0.0, "{e:?}");
    assert!((e.gzsl.gamma - units * spread).abs() < 1e-9, "{e:?}");
    assert!(e.epoch < tc.epochs && sel.lrs.contains(&e.lr));
    // Chance on 5 pseudo-unseen classes is 0.2; the synthetic problem transfers.
    assert!(e.val_zsl_top1 > 0.4, "{e:?}");
    assert!(e.zsl_top1 > 0.4, "{e:?}");
    // The recorded curves are the evidence behind the figures: the folds' mean curve peaks at the chosen epoch
    // (ties to the later one), each fold's curve holds its figure there, and the oracle is the test curve's best.
    assert_eq!(e.val_zsl_curve.len(), tc.epochs);
    assert_eq!(e.test_zsl_curve.len(), tc.epochs);
    let peak = e.val_zsl_curve.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(e.val_zsl_curve[e.epoch], peak);
    assert!(e.val_zsl_curve[e.epoch + 1..].iter().all(|&v| v < peak));
    assert!((e.val_zsl_curve[e.epoch] - e.val_zsl_top1).abs() < 1e-12);
    for v in &e.val_folds {
        assert_eq!(v.zsl_curve.len(), tc.epochs);
        assert_eq!(v.zsl_curve[e.epoch], v.zsl_top1);
    }
    let best_test = e.test_zsl_curve.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(best_test, e.oracle_zsl_top1);
    assert!(e.test_zsl_curve.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn gamma_grid_resolves_saturated_scores_beside_an_outlier() {
    use skelzero::eval::calibration::best_gamma;
    use skelzero::eval::metrics::ScoreMatrix;
    // Seen classes 0, 1; unseen 2, 3. Confident scores sit within 0.01 of 0 (log sigmoid saturating), one pair is
    // an outlier at -50: seen samples lead by 0.004, unseen ones trail by 0.002, so only gamma in (0.002, 0.004)
    // classifies all four right; an even grid over the -50..0 range steps by ~1 and misses it.
    #[rustfmt::skip]
    let data = vec![
        -0.001, -0.01, -0.005, -50.0,
        -0.01, -0.001, -0.005, -0.02,
        -0.001, -0.01, -0.003, -0.02,
        -0.01, -0.001, -0.02, -0.003,
    ];
    let scores = ScoreMatrix { n: 4, c: 4, data };
    let seen = [true, true, false, false];
    let g = best_gamma(&scores, &[0, 1, 2, 3], &seen, 101).unwrap();
    assert!((g.h - 1.0).abs() < 1e-12, "{g:?}");
    assert!(g.gamma > 0.002 && g.gamma < 0.004, "{g:?}");
}

/// InfoCPL's warm-up epochs train with inverted (lowest-k) attention but are scored with top-k attention; as in the
/// reference, selection only considers the epochs after the warm-up. A schedule no longer than the warm-up still
/// selects an epoch (its last).
#[test]
fn infocpl_never_selects_a_warm_up_epoch() {
    use skelzero::zsl::infocpl::InfoCplConfig;
    let s = synth();
    let p = s.protocol();
    let tc = TrainConfig {
        epochs: 6,
        batch_size: 32,
        lr: 1e-2,
        ..Default::default()
    };
    let mut sel = SelectionConfig::for_split(SEEN, zsl_synth::C - SEEN);
    sel.lrs = vec![1e-2];
    for (warmup, first) in [(4, 4), (9, 5)] {
        let cfg = MethodConfig::InfoCpl(InfoCplConfig {
            topk: vec![1, 2],
            hidden: [16, 8],
            warmup_epochs: warmup,
            ..InfoCplConfig::default()
        });
        assert_eq!(cfg.first_selectable_epoch(), warmup);
        let e = fit_and_evaluate(&cfg, &tc, &sel, &p).unwrap().evaluation;
        assert!(
            e.epoch >= first && e.epoch < tc.epochs,
            "warm-up {warmup}: selected epoch {}",
            e.epoch
        );
        // The curves cover the warm-up too; the oracle skips it as the selection does.
        assert_eq!(e.test_zsl_curve.len(), tc.epochs);
        let selectable = first.min(tc.epochs - 1);
        let best = e.test_zsl_curve[selectable..]
            .iter()
            .cloned()
            .fold(f64::MIN, f64::max);
        assert_eq!(best, e.oracle_zsl_top1);
    }
    assert_eq!(
        MethodConfig::default_for(MethodKind::Devise).first_selectable_epoch(),
        0
    );
}

/// The selection takes each fold's ZSL scores as a block of its GZSL score matrix (pseudo-unseen rows and columns)
/// instead of scoring them again: that needs every method's score of a (sample, class) pair to be independent of
/// the other samples and classes scored with it.
#[test]
fn every_method_scores_pairs_independently_of_the_rest() {
    use skelzero::zsl::Dims;
    use skelzero::zsl::trainer::score_matrix;
    let s = synth();
    let p = s.protocol();
    let dims = Dims {
        visual: p.train.visual_dim(),
        text: p.classes.dim(),
    };
    let rows: Vec<usize> = (0..p.test_labels.len()).step_by(3).collect();
    let sub = p.test.select(&rows).unwrap();
    let cols = [17, 4, 11];
    let sub_classes = p.classes.select(&cols).unwrap();
    for kind in MethodKind::ALL {
        let (m, _vm) = MethodConfig::default_for(kind)
            .build_trainable(dims, &candle_core::Device::Cpu, 3)
            .unwrap();
        let full = score_matrix(m.as_ref(), p.test, p.classes, 256).unwrap();
        let part = score_matrix(m.as_ref(), &sub, &sub_classes, 256).unwrap();
        for (a, &i) in rows.iter().enumerate() {
            for (b, &j) in cols.iter().enumerate() {
                let (x, y) = (full.row(i)[j], part.row(a)[b]);
                assert!((x - y).abs() < 1e-5, "{kind}: ({i}, {j}) {x} vs {y}");
            }
        }
    }
}

#[test]
fn score_spread_is_per_sample_and_in_score_units() {
    use skelzero::eval::calibration::score_spread;
    use skelzero::eval::metrics::ScoreMatrix;
    let mut rng = StdRng::seed_from_u64(3);
    let (n, c) = (31, 7);
    let data: Vec<f32> = (0..n * c)
        .map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng))
        .collect();
    let base = ScoreMatrix { n, c, data };
    let spread = score_spread(&base).unwrap();
    // The median of per-row population standard deviations, computed here directly.
    let mut stds: Vec<f64> = (0..n)
        .map(|i| {
            let r: Vec<f64> = base.row(i).iter().map(|&v| f64::from(v)).collect();
            let m = r.iter().sum::<f64>() / c as f64;
            (r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / c as f64).sqrt()
        })
        .collect();
    stds.sort_by(f64::total_cmp);
    assert!(
        (spread - stds[n / 2]).abs() < 1e-6,
        "{spread} vs {}",
        stds[n / 2]
    );
    // Scaling the scores scales it; a per-sample or global offset (which calibrated stacking ignores) does not.
    let shifted = ScoreMatrix {
        data: base
            .data
            .iter()
            .enumerate()
            .map(|(k, &v)| 1000.0 * v - 5.0 * (k / c) as f32 + 17.0)
            .collect(),
        ..base.clone()
    };
    let s2 = score_spread(&shifted).unwrap();
    assert!((s2 / spread - 1000.0).abs() < 1e-2, "{s2} vs {spread}");
    // Masked pairs (-inf, NaN) are left out of their row; a row with one finite score is left out.
    let masked = ScoreMatrix {
        n: 3,
        c: 3,
        data: vec![
            0.0,
            2.0,
            f32::NEG_INFINITY, //
            1.0,
            f32::NAN,
            3.0, //
            f32::NAN,
            5.0,
            f32::NEG_INFINITY,
        ],
    };
    assert!((score_spread(&masked).unwrap() - 1.0).abs() < 1e-12);
    let flat = ScoreMatrix {
        n: 2,
        c: 2,
        data: vec![1.0; 4],
    };
    assert_eq!(score_spread(&flat), None);
}

#[test]
fn gamma_transfers_in_spread_units_whatever_the_final_scale() {
    use skelzero::eval::calibration::score_spread;
    use skelzero::eval::metrics::{ScoreMatrix, gzsl};
    use skelzero::experiment::select::{FoldValidation, transferred_gamma};
    let fold = |gamma: f64, spread: Option<f64>| FoldValidation {
        pseudo_unseen: vec![0, 1],
        zsl_top1: 0.5,
        gzsl_h: 0.5,
        gamma,
        spread,
        zsl_curve: vec![],
    };
    let folds = [fold(2.0, Some(1.0)), fold(6.0, Some(2.0))];
    let (g, units) = transferred_gamma(&folds, Some(0.01));
    assert_eq!(units, Some(2.5));
    assert!((g - 0.025).abs() < 1e-12);
    // Without a spread anywhere, the raw mean.
    assert_eq!(transferred_gamma(&folds, None), (4.0, None));
    assert_eq!(
        transferred_gamma(&[fold(2.0, Some(1.0)), fold(6.0, None)], Some(1.0)),
        (4.0, None)
    );
    // A final model whose scores are 1000x larger gets the same GZSL predictions: seen classes 0, 1 lead every
    // row by a margin of about one spread, which 1.5 spreads of gamma overturns for the unseen rows only.
    let rows = [
        [3.0f32, 0.0, 1.0, 0.0],
        [0.0, 3.5, 0.0, 1.0],
        [2.0, 0.0, 1.5, 0.0],
        [0.0, 2.0, 0.0, 1.6],
    ];
    let labels = [0, 1, 2, 3];
    let seen = [true, true, false, false];
    let mut results = Vec::new();
    for k in [1.0f32, 1000.0] {
        let m = ScoreMatrix {
            n: 4,
            c: 4,
            data: rows.iter().flatten().map(|v| k * v).collect(),
        };
        let (g, _) = transferred_gamma(
            &[fold(0.9, Some(1.0)), fold(0.9, Some(1.0))],
            score_spread(&m),
        );
        let r = gzsl(&m, &labels, &seen, g).unwrap();
        results.push((r.s, r.u, r.h, g / f64::from(k)));
    }
    assert!((results[0].2 - 1.0).abs() < 1e-12, "{results:?}");
    assert_eq!(results[0].0, results[1].0);
    assert_eq!(results[0].1, results[1].1);
    assert!((results[0].3 - results[1].3).abs() < 1e-6, "{results:?}");
}

#[test]
fn holding_out_subjects_puts_whole_subjects_in_gzsl_validation() {
    let (labels, seen) = labels_and_seen();
    // Five subjects, assigned round-robin.
    let subjects: Vec<u32> = (0..labels.len()).map(|i| 1 + (i % 5) as u32).collect();
    let mut split = validation_split(&labels, &seen, 4, 0.2, 3).unwrap();
    let pseudo_unseen_rows = split.val_unseen_rows.clone();
    hold_out_subjects(&mut split, &labels, &subjects, 0.2, 3).unwrap();
    let held: std::collections::BTreeSet<u32> =
        split.val_seen_rows.iter().map(|&i| subjects[i]).collect();
    // 20 % of five subjects: one, every one of whose pseudo-seen rows is held out and none trained on.
    assert_eq!(held.len(), 1);
    assert!(
        split
            .train_rows
            .iter()
            .all(|&i| !held.contains(&subjects[i]))
    );
    let pseudo_seen_rows = (0..labels.len())
        .filter(|&i| split.pseudo_seen.contains(&labels[i]))
        .count();
    assert_eq!(
        split.train_rows.len() + split.val_seen_rows.len(),
        pseudo_seen_rows
    );
    assert!(
        split
            .val_seen_rows
            .iter()
            .all(|&i| split.pseudo_seen.contains(&labels[i]))
    );
    assert_eq!(split.val_unseen_rows, pseudo_unseen_rows);
    // One subject cannot be split, and the subject list must cover every row.
    let one = vec![1; labels.len()];
    assert!(hold_out_subjects(&mut split, &labels, &one, 0.2, 3).is_err());
    assert!(hold_out_subjects(&mut split, &labels, &subjects[1..], 0.2, 3).is_err());
}

/// An epoch chosen on a fold model means the same number of optimiser updates in the final model: the fold model
/// trains on about half the rows, so it gets the batch size that gives it the final model's steps per epoch.
#[test]
fn fold_models_take_the_final_models_steps_per_epoch() {
    // The trainer skips a last batch of one sample.
    assert_eq!(steps_per_epoch(64, 64), 1);
    assert_eq!(steps_per_epoch(65, 64), 1);
    assert_eq!(steps_per_epoch(66, 64), 2);
    // MSR 15/5: ~216 seen training rows at batch 64 (4 steps), a fold model ~115 rows (2 steps at batch 64).
    let b = fold_batch_size(115, 216, 64);
    assert_eq!(steps_per_epoch(115, b), 4, "batch {b}");
    assert!(b < 64);
    for final_rows in [40, 100, 216, 1000, 4003] {
        for batch in [16, 32, 64, 256] {
            for frac in [0.3, 0.53, 0.8, 1.0] {
                let fold_rows = ((final_rows as f64) * frac) as usize;
                let want = steps_per_epoch(final_rows, batch);
                let b = fold_batch_size(fold_rows, final_rows, batch);
                let got = steps_per_epoch(fold_rows, b);
                // Not every count is reachable with near-equal batches (9 rows cannot make 4), but the nearest is.
                let nearest = (2..=fold_rows)
                    .map(|x| steps_per_epoch(fold_rows, x).abs_diff(want))
                    .min()
                    .unwrap();
                assert_eq!(
                    got.abs_diff(want),
                    nearest,
                    "{fold_rows} fold rows, {final_rows} final rows at {batch}: batch {b} gives {got} steps, want {want}"
                );
                assert!(b >= 2);
            }
        }
    }
    // The same rows: the same batch size.
    assert_eq!(fold_batch_size(216, 216, 64), 64);
}
