//! Experiments above the methods: a trained zero-shot run's folder ([`run`]), model selection on seen classes only
//! ([`select`]: pseudo-unseen validation folds, epoch and GZSL calibration chosen there), and the benchmark
//! ([`bench`]) that trains and evaluates every method over a protocol's splits.

pub mod bench;
pub mod fold_models;
pub mod run;
pub mod run_kind;
pub mod saved_gamma;
pub mod select;
mod val_fold;
