//! Sentence encoders (Sentence-BERT all-MiniLM-L6-v2 and all-mpnet-base-v2, and CLIP's text tower) in candle, the model store that finds
//! or installs their weights, an on-disk embedding cache, and readers of precomputed class-text features.
//!
//! The pipeline matches sentence-transformers: `tokenizer.json` -> transformer -> mean pooling over the attention
//! mask -> L2 normalisation.

pub mod cache;
pub mod clip;
pub mod encoder;
mod install;
pub mod mpnet;
pub mod pooling;
pub mod precomputed;
pub mod store;
pub mod store_error;

pub use cache::EmbeddingCache;
pub use encoder::{Embeddings, TextEncoder};
pub use store::{KnownModel, ModelStore};
pub use store_error::StoreError;

use crate::formats::ReadError;

/// Errors of the text encoders.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("tokenizing with {}: {message}", path.display())]
    Tokenize {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("running the {model} encoder: {source}")]
    Model {
        model: String,
        #[source]
        source: candle_core::Error,
    },
}
