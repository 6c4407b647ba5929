//! Datasets: labelled samples read from a folder or file or generated (the synthetic demo), zero-shot splits, and
//! class texts.

pub mod description_set;
pub mod inspect;
pub mod load;
pub mod protocol;
pub mod sample;
pub mod split_args;
pub mod splits;
pub mod synthetic;
pub mod texts;

pub use load::load_dataset;
pub use sample::{Dataset, DatasetKind, Sample, SampleMeta, subject_from_id};
