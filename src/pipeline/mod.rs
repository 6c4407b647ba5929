//! The joins between the layers: a pretrained skeleton encoder turns a dataset's split into the feature files the
//! zero-shot methods train on ([`features`]), and a sentence encoder turns class texts into class embeddings
//! ([`class_texts`]). The CLI's `extract --split`, `bench --data`, the demo and the explorer all go through here.

pub mod class_texts;
pub mod description_embed;
pub mod features;
pub mod predict;
pub mod sentence;

pub use class_texts::{TextEmbedder, class_embeddings_from_texts};
pub use features::{FeatureOptions, split_features_from_dataset};
pub use predict::{EncoderModel, predict_dataset, predictions_from_features};
pub use sentence::{CachedEncoder, text_embedder};

/// Errors of the pipeline joins.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Zsl(#[from] crate::zsl::ZslError),
    #[error(transparent)]
    Preprocess(#[from] crate::skeleton::PreprocessError),
    #[error("text encoder: {0}")]
    Text(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
