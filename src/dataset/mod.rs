//! Datasets: labelled samples read from a folder or file, zero-shot splits, and class texts.

pub mod inspect;
pub mod load;
pub mod sample;

pub use load::load_dataset;
pub use sample::{Dataset, DatasetKind, Sample, SampleMeta};
