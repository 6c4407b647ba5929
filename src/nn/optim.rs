//! Optimiser helpers shared by every training loop: which variables to train, and the learning-rate schedule.

use candle_core::Var;
use candle_nn::VarMap;

/// The optimiser's variables: every var of `vm` except batch-norm running statistics, sorted by name so that runs
/// are reproducible.
pub fn trainable_vars(vm: &VarMap) -> Vec<Var> {
    let data = match vm.data().lock() {
        Ok(d) => d,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut named: Vec<(&String, &Var)> =
        data.iter().filter(|(k, _)| !is_running_stat(k)).collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named.into_iter().map(|(_, v)| v.clone()).collect()
}

/// Whether `name` is a batch-norm running statistic (a buffer, not a parameter).
pub fn is_running_stat(name: &str) -> bool {
    name.ends_with("running_mean") || name.ends_with("running_var")
}

/// Cosine learning-rate schedule from `base` at step 0 down to 0 at `total` steps.
pub fn cosine_lr(base: f64, step: usize, total: usize) -> f64 {
    if total == 0 {
        return base;
    }
    let p = (step.min(total) as f64) / total as f64;
    0.5 * base * (1.0 + (std::f64::consts::PI * p).cos())
}
