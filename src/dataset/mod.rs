//! Datasets: labelled samples read from a folder or file, zero-shot splits, and class texts.

pub mod sample;

pub use sample::{Dataset, DatasetKind, Sample, SampleMeta};
