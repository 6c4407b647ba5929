//! Evaluation: ZSL/GZSL metrics, calibrated stacking, seen-class model selection and the benchmark.

pub mod analysis;
pub mod bench;
pub mod calibration;
pub mod metrics;
pub mod predictions;
pub mod select;
pub mod tsne;

pub use metrics::{Gzsl, MetricError, ScoreMatrix, confusion, gzsl, harmonic, top1};
