//! Choosing the calibrated-stacking `gamma` (Chao et al., 2016) on a validation score matrix.

use super::metrics::{Gzsl, MetricError, ScoreMatrix, gzsl};

/// Candidate gammas: 0 plus the midpoints between consecutive distinct per-sample margins
/// `max_seen - max_unseen` (a sample's prediction flips from seen to unseen exactly when gamma passes its margin),
/// thinned to at most `steps` evenly spaced quantiles.
///
/// An even grid over the whole score range was too coarse where scores saturate: InfoCPL's `log sigmoid` scores
/// put every confident class within ~0.01 of 0 while a few pairs reach -20 or below, so the 101 steps were ~0.4 apart
/// and the best validation gamma was a step that sent every seen sample to an unseen class on the test set.
pub fn gamma_grid(scores: &ScoreMatrix, seen: &[bool], steps: usize) -> Vec<f64> {
    let mut margins: Vec<f64> = (0..scores.n)
        .filter_map(|i| {
            let row = scores.row(i);
            let (mut s, mut u) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            for (&v, &is_seen) in row.iter().zip(seen) {
                if !v.is_finite() {
                    continue;
                }
                if is_seen {
                    s = s.max(v);
                } else {
                    u = u.max(v);
                }
            }
            (s.is_finite() && u.is_finite()).then(|| f64::from(s) - f64::from(u))
        })
        .collect();
    margins.sort_by(f64::total_cmp);
    margins.dedup();
    let mids: Vec<f64> = margins.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    let mut grid = vec![0.0];
    if mids.len() <= steps {
        grid.extend(mids);
    } else if steps >= 2 {
        grid.extend((0..steps).map(|i| mids[i * (mids.len() - 1) / (steps - 1)]));
    }
    grid
}

/// The gamma maximising H on (validation) `scores`; ties go to the gamma closest to 0.
pub fn best_gamma(
    scores: &ScoreMatrix,
    labels: &[usize],
    seen: &[bool],
    steps: usize,
) -> Result<Gzsl, MetricError> {
    let mut best = gzsl(scores, labels, seen, 0.0)?;
    for g in gamma_grid(scores, seen, steps) {
        let r = gzsl(scores, labels, seen, g)?;
        if r.h > best.h + 1e-12 || (r.h >= best.h - 1e-12 && g.abs() < best.gamma.abs()) {
            best = r;
        }
    }
    Ok(best)
}

/// The typical spread of a model's scores across classes: the median over samples of the standard deviation of the
/// sample's finite scores (rows with fewer than two finite scores are skipped; `None` when no row is left or the
/// spread is not positive).
///
/// Calibrated stacking's gamma is chosen on validation models and applied to the final model, and the methods'
/// score scales drift between runs: InfoCPL's `log sigmoid` scores of one final MSR model spanned [-0.035, -0.004]
/// where a validation model of the same epoch spanned [-13.9, -6.8]. Measured on each model's own training samples
/// and classes, this spread is the unit in which gamma is carried from the one to the other.
pub fn score_spread(scores: &ScoreMatrix) -> Option<f64> {
    let mut stds: Vec<f64> = (0..scores.n)
        .filter_map(|i| {
            let finite: Vec<f64> = scores
                .row(i)
                .iter()
                .filter(|v| v.is_finite())
                .map(|&v| f64::from(v))
                .collect();
            (finite.len() >= 2).then(|| {
                let n = finite.len() as f64;
                let mean = finite.iter().sum::<f64>() / n;
                (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
            })
        })
        .collect();
    if stds.is_empty() {
        return None;
    }
    stds.sort_by(f64::total_cmp);
    let m = stds.len() / 2;
    let median = if stds.len() % 2 == 1 {
        stds[m]
    } else {
        0.5 * (stds[m - 1] + stds[m])
    };
    (median.is_finite() && median > 0.0).then_some(median)
}
