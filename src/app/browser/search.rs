//! The browser's search texts.

use crate::dataset::Dataset;

/// The searched texts in lower case, made once per data version: lower-casing 114,480 ids and their class names
/// on every keystroke cost about 5 ms a frame (`benches/explorer_scale.rs`).
pub(super) struct Lowered {
    pub generation: u64,
    pub ids: Vec<String>,
    pub classes: Vec<String>,
}

impl Lowered {
    pub fn new(dataset: &Dataset, generation: u64) -> Self {
        Self {
            generation,
            ids: dataset
                .samples
                .iter()
                .map(|s| s.meta.id.to_lowercase())
                .collect(),
            classes: dataset.classes.iter().map(|c| c.to_lowercase()).collect(),
        }
    }
}
