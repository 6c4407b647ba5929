//! CLIP's text tower, the official STAR's text encoder (ViT-L/14@336px, `clip.load` + `encode_text` in
//! cseeyangchen/STAR Text_Prompt.py), through candle-transformers' CLIP text transformer.
//!
//! A CLIP folder in the Hugging Face layout (`openai/clip-vit-large-patch14-336`): `config.json` (a CLIPModel config
//! with a `text_config` section and `projection_dim`, or a bare text config), `tokenizer.json` and
//! `model.safetensors` (`text_model.*` and `text_projection.weight`; the vision tower is not read). No package
//! registry carries these weights, so the folder is the user's: `--clip-dir DIR`, or the Hugging Face hub cache
//! ([`hf_cache_dir`]). A text is tokenized with its start and end tokens, truncated to the context length (77) with
//! the end token kept (`clip.tokenize(..., truncate=True)`), run through the causal transformer, and read at its
//! end-of-text token, then projected: `encode_text`'s `x[eot] @ text_projection`.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{Linear, Module, VarBuilder};
use candle_transformers::models::clip::text_model::{
    Activation, ClipTextConfig, ClipTextTransformer,
};
use tokenizers::Tokenizer;

use super::TextError;
use super::pooling::l2_normalize;
use crate::formats::ReadError;

/// The Hugging Face hub's folder of the official STAR's CLIP.
pub const HF_REPO_FOLDER: &str = "models--openai--clip-vit-large-patch14-336";

/// Texts per forward pass.
const BATCH_SIZE: usize = 32;

/// `<hub cache>/models--openai--clip-vit-large-patch14-336`, the hub cache being `$HF_HUB_CACHE`,
/// `$HF_HOME/hub` or `~/.cache/huggingface/hub`.
pub fn hf_cache_dir() -> Option<PathBuf> {
    let hub = std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
        })?;
    Some(hub.join(HF_REPO_FOLDER))
}

/// The model folder inside a hub cache entry (`snapshots/<revision>/` holding `model.safetensors`), or `dir` itself
/// when it is a plain model folder. A missing folder or weights file is one error naming the folder and the file.
pub fn model_folder(dir: &Path) -> Result<PathBuf, TextError> {
    let missing = |what: &str| -> TextError {
        ReadError::file(
            dir,
            format!(
                "no CLIP text weights here ({what} is missing). No package registry carries CLIP; put \
                 openai/clip-vit-large-patch14-336's config.json, tokenizer.json and model.safetensors in a folder \
                 and pass --clip-dir, or download them into the Hugging Face cache"
            ),
        )
        .into()
    };
    if !dir.is_dir() {
        return Err(missing("the folder"));
    }
    if dir.join("model.safetensors").is_file() {
        return Ok(dir.to_path_buf());
    }
    let snapshots = dir.join("snapshots");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("model.safetensors").is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .ok_or_else(|| missing("model.safetensors (in the folder or under snapshots/<revision>/)"))
}

/// A loaded CLIP text encoder.
pub struct ClipTextEncoder {
    id: String,
    tokenizer_path: PathBuf,
    tokenizer: Tokenizer,
    model: ClipTextTransformer,
    projection: Linear,
    device: Device,
    dim: usize,
    context: usize,
}

/// The fields of a CLIP config this encoder reads (`text_config` of a CLIPModel, or a CLIPTextModel's own).
#[derive(serde::Deserialize)]
struct TextConfigJson {
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default)]
    projection_dim: Option<usize>,
    #[serde(default)]
    hidden_act: Option<String>,
}

impl ClipTextEncoder {
    /// Loads the CLIP folder `dir` (a model folder or a hub cache entry, see [`model_folder`]) for the CPU.
    pub fn load(dir: &Path) -> Result<Self, TextError> {
        let dir = model_folder(dir)?;
        let config_path = dir.join("config.json");
        let bytes = std::fs::read(&config_path).map_err(|e| ReadError::io(&config_path, e))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ReadError::file(&config_path, format!("invalid JSON: {e}")))?;
        let top_projection = value
            .get("projection_dim")
            .and_then(serde_json::Value::as_u64);
        let text = value.get("text_config").cloned().unwrap_or(value.clone());
        let t: TextConfigJson = serde_json::from_value(text).map_err(|e| {
            ReadError::field(
                &config_path,
                "text_config",
                format!("not a CLIP text config: {e}"),
            )
        })?;
        if let Some(act) = t.hidden_act.as_deref().filter(|a| *a != "quick_gelu") {
            return Err(ReadError::field(
                &config_path,
                "hidden_act",
                format!("`{act}` (CLIP's text tower uses quick_gelu)"),
            )
            .into());
        }
        if t.num_attention_heads == 0 || !t.hidden_size.is_multiple_of(t.num_attention_heads) {
            return Err(ReadError::field(
                &config_path,
                "num_attention_heads",
                format!(
                    "{} heads do not divide hidden_size {}",
                    t.num_attention_heads, t.hidden_size
                ),
            )
            .into());
        }
        let projection_dim = top_projection
            .map(|p| p as usize)
            .or(t.projection_dim)
            .unwrap_or(t.hidden_size);
        let cfg = ClipTextConfig {
            vocab_size: t.vocab_size,
            embed_dim: t.hidden_size,
            activation: Activation::QuickGelu,
            intermediate_size: t.intermediate_size,
            max_position_embeddings: t.max_position_embeddings,
            pad_with: None,
            num_hidden_layers: t.num_hidden_layers,
            num_attention_heads: t.num_attention_heads,
            projection_dim,
        };
        let tokenizer_path = dir.join("tokenizer.json");
        let tok_bytes =
            std::fs::read(&tokenizer_path).map_err(|e| ReadError::io(&tokenizer_path, e))?;
        let mut tokenizer = Tokenizer::from_bytes(&tok_bytes)
            .map_err(|e| ReadError::file(&tokenizer_path, format!("not a tokenizer: {e}")))?;
        // Padding and truncation are done here, as clip.tokenize does them.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| ReadError::file(&tokenizer_path, e.to_string()))?;
        let weights = dir.join("model.safetensors");
        let device = Device::Cpu;
        // SAFETY: the weights are memory-mapped read-only; as for the sentence encoders, this assumes no one
        // truncates the file while it is loaded.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(std::slice::from_ref(&weights), DType::F32, &device)
        }
        .map_err(|e| ReadError::file(&weights, format!("not a safetensors file: {e}")))?;
        let mismatch = |e: candle_core::Error| {
            ReadError::file(&weights, format!("does not match config.json: {e}"))
        };
        let model = ClipTextTransformer::new(vb.pp("text_model"), &cfg).map_err(mismatch)?;
        let projection =
            candle_nn::linear_no_bias(cfg.embed_dim, projection_dim, vb.pp("text_projection"))
                .map_err(mismatch)?;
        let size = std::fs::metadata(&weights)
            .map_err(|e| ReadError::io(&weights, e))?
            .len();
        let name = dir
            .file_name()
            .map_or_else(|| "clip".to_owned(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            id: format!("clip:{name}@{size}"),
            tokenizer_path,
            tokenizer,
            model,
            projection,
            device,
            dim: projection_dim,
            context: t.max_position_embeddings,
        })
    }

    /// Identifies the model for caching and run records.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Embedding size (the projection's).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Token ids of each text with its start and end tokens, at most the context length long: a longer text keeps
    /// its first `context - 1` tokens and its end token (`clip.tokenize(..., truncate=True)`).
    pub fn token_ids(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, TextError> {
        Ok(
            super::encoder::tokenize(&self.tokenizer, &self.tokenizer_path, texts)?
                .into_iter()
                .map(|mut ids| {
                    if ids.len() > self.context {
                        let end = ids[ids.len() - 1];
                        ids.truncate(self.context);
                        ids[self.context - 1] = end;
                    }
                    ids
                })
                .collect(),
        )
    }

    /// `encode_text`: the projected feature at each text's end token, `texts.len() x dim`, row-major, not
    /// normalised.
    pub fn encode_text(&self, texts: &[&str]) -> Result<Vec<f32>, TextError> {
        let ids = self.token_ids(texts)?;
        let mut out = vec![0f32; ids.len() * self.dim];
        let model_err = |source: candle_core::Error| TextError::Model {
            model: self.id.clone(),
            source,
        };
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        for batch in order.chunks(BATCH_SIZE) {
            let rows: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let feats = self.forward_batch(&rows).map_err(model_err)?;
            for (&i, row) in batch.iter().zip(feats.chunks_exact(self.dim)) {
                out[i * self.dim..(i + 1) * self.dim].copy_from_slice(row);
            }
        }
        Ok(out)
    }

    /// [`Self::encode_text`] made unit length, as the project's sentence embeddings are.
    pub fn embed(&self, texts: &[&str]) -> Result<super::Embeddings, TextError> {
        let raw = self.encode_text(texts)?;
        let t = Tensor::from_vec(raw, (texts.len(), self.dim), &self.device)
            .and_then(|t| l2_normalize(&t)?.flatten_all()?.to_vec1::<f32>());
        Ok(super::Embeddings {
            dim: self.dim,
            data: t.map_err(|source| TextError::Model {
                model: self.id.clone(),
                source,
            })?,
        })
    }

    /// Rows padded with zeros (clip.tokenize's padding; the causal mask keeps it from the tokens before), read at
    /// each row's last token, projected.
    fn forward_batch(&self, rows: &[&[u32]]) -> candle_core::Result<Vec<f32>> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(rows.len() * len);
        for row in rows {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(0u32, len - row.len()));
        }
        let ids = Tensor::from_vec(ids, (rows.len(), len), &self.device)?;
        let hidden = self.model.forward_with_mask(&ids, usize::MAX)?; // (B, L, D)
        let eot: Vec<u32> = rows
            .iter()
            .enumerate()
            .map(|(b, r)| (b * len + r.len().max(1) - 1) as u32)
            .collect();
        let eot = Tensor::from_vec(eot, rows.len(), &self.device)?;
        let d = hidden.dim(2)?;
        let pooled = hidden
            .reshape((rows.len() * len, d))?
            .index_select(&eot, 0)?;
        self.projection.forward(&pooled)?.flatten_all()?.to_vec1()
    }
}
