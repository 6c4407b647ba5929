//! ZSL/GZSL metrics, calibration and the seen-class validation split.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use skelzero::eval::calibration::best_gamma;
use skelzero::eval::{ScoreMatrix, confusion, gzsl, harmonic, top1};
use skelzero::experiment::select::validation_split;

#[test]
fn top1_counts_every_sample_once() {
    // 5 samples, 2 classes; per-batch averaging over batches [3, 2] would give (2/3 + 0/2)/2 = 1/3, not 2/5.
    let s = ScoreMatrix::new(5, 2, vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]).unwrap();
    let acc = top1(&s, &[0, 0, 0, 0, 0]).unwrap();
    assert!((acc - 0.4).abs() < 1e-12);
    assert!(top1(&s, &[0, 0]).is_err());
    assert!(top1(&s, &[0, 0, 0, 0, 2]).is_err());
    assert!(ScoreMatrix::new(2, 2, vec![0.0; 3]).is_err());
}

#[test]
fn gzsl_calibrated_stacking_moves_predictions_to_unseen() {
    // Classes 0, 1 seen; 2 unseen. Sample scores favour seen classes by 0.3.
    let s = ScoreMatrix::new(
        4,
        3,
        vec![
            1.0, 0.0, 0.8, // true 0: correct unless gamma > 0.2
            0.0, 1.0, 0.5, // true 1
            0.9, 0.0, 0.7, // true 2: needs gamma > 0.2
            0.0, 0.6, 0.5, // true 2: needs gamma > 0.1
        ],
    )
    .unwrap();
    let labels = [0, 1, 2, 2];
    let seen = [true, true, false];
    let g0 = gzsl(&s, &labels, &seen, 0.0).unwrap();
    assert_eq!((g0.s, g0.u, g0.h), (1.0, 0.0, 0.0));
    let g = gzsl(&s, &labels, &seen, 0.15).unwrap();
    assert_eq!((g.s, g.u), (1.0, 0.5));
    assert!((g.h - harmonic(1.0, 0.5)).abs() < 1e-12);
    let g = gzsl(&s, &labels, &seen, 0.25).unwrap();
    assert_eq!((g.s, g.u), (0.5, 1.0));
    let best = best_gamma(&s, &labels, &seen, 201).unwrap();
    assert!((best.h - 2.0 / 3.0).abs() < 1e-9, "{best:?}");
    assert!(gzsl(&s, &labels, &[true], 0.0).is_err());
}

#[test]
fn confusion_matrix_counts_true_by_predicted() {
    let m = confusion(&[0, 1, 1, 2], &[0, 0, 1, 2], 3);
    assert_eq!(m, vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 0, 1]]);
}

#[test]
fn validation_split_holds_out_seen_classes_only() {
    let seen = [0, 2, 3, 5, 7, 8];
    let labels: Vec<usize> = (0..120).map(|i| seen[i % seen.len()]).collect();
    let v = validation_split(&labels, &seen, 2, 0.25, 1).unwrap();
    assert_eq!(v.pseudo_unseen.len(), 2);
    assert_eq!(v.pseudo_seen.len(), 4);
    assert!(
        v.pseudo_unseen
            .iter()
            .chain(&v.pseudo_seen)
            .all(|c| seen.contains(c))
    );
    for &r in &v.train_rows {
        assert!(v.pseudo_seen.contains(&labels[r]));
        assert!(!v.val_seen_rows.contains(&r));
    }
    assert!(
        v.val_unseen_rows
            .iter()
            .all(|&r| v.pseudo_unseen.contains(&labels[r]))
    );
    assert_eq!(
        v.train_rows.len() + v.val_seen_rows.len() + v.val_unseen_rows.len(),
        120
    );
    assert_eq!(v.val_seen_rows.len(), 4 * 5);
    assert!(validation_split(&labels, &seen, 6, 0.2, 1).is_err());
}
