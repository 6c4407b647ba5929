//! Metrics: the score matrix, ZSL top-1, GZSL seen/unseen/harmonic accuracy, calibrated stacking and the GZSL class
//! layout they are computed over. Pure functions of scores and labels: the methods, model selection, the benchmark
//! and the explorer all measure through here.

pub mod calibration;
pub mod layout;
pub mod metrics;

pub use layout::GzslLayout;
pub use metrics::{Gzsl, MetricError, ScoreMatrix, confusion, gzsl, harmonic, top1};
