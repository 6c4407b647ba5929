//! The GUI-free core that the CLI and the explorer both call. The joins between the layers: a pretrained skeleton
//! encoder turns a dataset's split into the feature files the zero-shot methods train on ([`features`]), and a
//! sentence encoder turns class texts into class embeddings ([`class_texts`]). Above them, what the explorer shows
//! and `skelzero eval --predictions` writes: [`predictions`] and the methods' [`analysis`] (STAR parts, InfoCPL
//! branches, joint-space features), the embedded [`demo`], live scoring ([`scoring`]), re-scoring after a
//! description edit ([`rescore`]) or a branch-set edit ([`branch_rescore`]), the [`tsne`] map, and the research
//! views' figures ([`research`]: margins, per-class accuracy, nearest samples, two runs' agreement) and the training samples' points for the nearest-training-samples list
//! ([`training_points`]). Every long job
//! here reports progress and checks cancel through [`crate::util::jobs::JobHandle`]; none of it knows egui.

pub mod analysis;
pub mod augment;
pub mod binding;
pub mod branch_rescore;
pub mod branch_validation;
pub mod class_texts;
pub mod demo;
pub mod description_embed;
pub mod features;
pub mod fixture;
pub mod fixture_analysis;
pub mod predict;
pub mod predictions;
pub mod rescore;
pub mod research;
pub mod run_predictions;
pub mod scoring;
pub mod sentence;
pub mod training_points;
pub mod tsne;

pub use class_texts::{
    TextEmbedder, class_embeddings_from_texts, class_embeddings_from_texts_with,
};
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
