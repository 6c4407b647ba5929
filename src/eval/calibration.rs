//! Choosing the calibrated-stacking `gamma` (Chao et al., 2016) on a validation score matrix.

use super::metrics::{Gzsl, MetricError, ScoreMatrix, gzsl};

/// Candidate gammas spanning the score range: 0 plus `steps` evenly spaced values in
/// `[-(max - min), max - min]` of the scores (a gamma beyond that range only reproduces the extremes).
pub fn gamma_grid(scores: &ScoreMatrix, steps: usize) -> Vec<f64> {
    let (lo, hi) = scores
        .data
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let mut grid = vec![0.0];
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || steps < 2 {
        return grid;
    }
    let span = f64::from(hi - lo);
    grid.extend((0..steps).map(|i| -span + 2.0 * span * i as f64 / (steps - 1) as f64));
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
    for g in gamma_grid(scores, steps) {
        let r = gzsl(scores, labels, seen, g)?;
        if r.h > best.h + 1e-12 || (r.h >= best.h - 1e-12 && g.abs() < best.gamma.abs()) {
            best = r;
        }
    }
    Ok(best)
}
