//! [`TextEncoder`]: loads a Sentence-BERT model folder in the Hugging Face layout (`config.json`, `tokenizer.json`,
//! `model.safetensors`, optional `sentence_bert_config.json`) and embeds texts in length-sorted, padded batches.

use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::TextError;
use super::mpnet::{MpnetConfig, MpnetModel};
use super::pooling::{l2_normalize, mean_pool};
use crate::formats::ReadError;

/// Texts per forward pass (sentence-transformers' default).
const BATCH_SIZE: usize = 32;

/// Row-major `len x dim` sentence embeddings, one row per input text, each of unit L2 norm.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Embeddings {
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.dim.max(1))
    }
}

// The explorer embeds on a worker thread.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<TextEncoder>();
};

enum Backbone {
    Bert(Box<BertModel>),
    Mpnet(Box<MpnetModel>),
}

/// A loaded sentence encoder.
pub struct TextEncoder {
    id: String,
    dir: PathBuf,
    tokenizer_path: PathBuf,
    tokenizer: Tokenizer,
    backbone: Backbone,
    device: Device,
    dim: usize,
    max_len: usize,
    pad_id: u32,
}

/// What `config.json` describes.
enum Arch {
    Bert(BertConfig),
    Mpnet(MpnetConfig),
}

#[derive(serde::Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

impl TextEncoder {
    /// Loads the model in `dir` for the CPU. Every error names the file at fault.
    pub fn load(dir: &Path) -> Result<Self, TextError> {
        Self::load_on(dir, &Device::Cpu)
    }

    /// [`Self::load`] with the weights on `device` (embeddings are always returned as host values).
    pub fn load_on(dir: &Path, device: &Device) -> Result<Self, TextError> {
        let config_path = dir.join("config.json");
        let config_bytes =
            std::fs::read(&config_path).map_err(|e| ReadError::io(&config_path, e))?;
        let arch = arch_from_config(&config_path, &config_bytes)?;
        let (hidden, max_positions, pad_from_config) = match &arch {
            Arch::Bert(c) => (
                c.hidden_size,
                c.max_position_embeddings,
                c.pad_token_id as u32,
            ),
            // MPNet's positions start after the padding id.
            Arch::Mpnet(c) => (
                c.hidden_size,
                c.max_position_embeddings
                    .saturating_sub(c.pad_token_id as usize + 1),
                c.pad_token_id,
            ),
        };
        let vocab_size = match &arch {
            Arch::Bert(c) => c.vocab_size,
            Arch::Mpnet(c) => c.vocab_size,
        };

        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer_bytes =
            std::fs::read(&tokenizer_path).map_err(|e| ReadError::io(&tokenizer_path, e))?;
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| ReadError::file(&tokenizer_path, format!("not a tokenizer: {e}")))?;
        if tokenizer.get_vocab_size(true) > vocab_size {
            return Err(ReadError::file(
                &tokenizer_path,
                format!(
                    "the tokenizer has {} tokens but config.json's vocab_size is {vocab_size}",
                    tokenizer.get_vocab_size(true)
                ),
            )
            .into());
        }
        let pad_id = tokenizer
            .get_padding()
            .map_or(pad_from_config, |p| p.pad_id);

        let max_len = sentence_max_len(dir)?
            .or_else(|| tokenizer.get_truncation().map(|t| t.max_length))
            .unwrap_or(max_positions)
            .min(max_positions);
        // We pad per batch ourselves; truncation follows sentence-transformers (longest first, at the end).
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| ReadError::file(&tokenizer_path, e.to_string()))?;

        let weights_path = dir.join("model.safetensors");
        if let Err(e) = std::fs::metadata(&weights_path) {
            return Err(ReadError::io(&weights_path, e).into());
        }
        let device = device.clone();
        // SAFETY: the weights are memory-mapped read-only; like every mmap this assumes no one truncates the file
        // while it is loaded, which is the model store's contract (installs are atomic renames of new folders).
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                std::slice::from_ref(&weights_path),
                DType::F32,
                &device,
            )
        }
        .map_err(|e| {
            ReadError::file(
                &weights_path,
                format!("not a safetensors file: {}", without_backtrace(e)),
            )
        })?;
        let mismatch = |e: candle_core::Error| {
            ReadError::file(
                &weights_path,
                format!("does not match config.json: {}", without_backtrace(e)),
            )
        };
        let backbone = match &arch {
            Arch::Bert(c) => Backbone::Bert(Box::new(BertModel::load(vb, c).map_err(mismatch)?)),
            Arch::Mpnet(c) => Backbone::Mpnet(Box::new(MpnetModel::new(c, vb).map_err(mismatch)?)),
        };

        Ok(Self {
            id: model_id(dir, &config_bytes, &tokenizer_bytes, &weights_path)?,
            dir: dir.to_path_buf(),
            tokenizer_path,
            tokenizer,
            backbone,
            device,
            dim: hidden,
            max_len,
            pad_id,
        })
    }

    /// Identifies the model for caching: the folder name and a hash of its config, tokenizer and weights.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Embedding size.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Longest token sequence; longer texts are truncated.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids of each text, with the special tokens, truncated to [`Self::max_len`].
    pub fn token_ids(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, TextError> {
        tokenize(&self.tokenizer, &self.tokenizer_path, texts)
    }

    /// Unit-norm embeddings of `texts`, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings, TextError> {
        let ids = self.token_ids(texts)?;
        // Batches of similar length waste little on padding.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut data = vec![0f32; ids.len() * self.dim];
        for batch in order.chunks(BATCH_SIZE) {
            let rows: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let pooled = self
                .forward_batch(&rows)
                .map_err(|source| TextError::Model {
                    model: self.id.clone(),
                    source: without_backtrace(source),
                })?;
            for (&i, row) in batch.iter().zip(pooled.chunks_exact(self.dim)) {
                data[i * self.dim..(i + 1) * self.dim].copy_from_slice(row);
            }
        }
        Ok(Embeddings {
            dim: self.dim,
            data,
        })
    }

    /// Pads the rows to the longest, runs the backbone and pools: `rows.len() x dim` values, row-major.
    fn forward_batch(&self, rows: &[&[u32]]) -> candle_core::Result<Vec<f32>> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for row in rows {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(self.pad_id, len - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, len - row.len()));
        }
        let ids = Tensor::from_vec(ids, (rows.len(), len), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows.len(), len), &self.device)?;
        let features = match &self.backbone {
            Backbone::Bert(m) => m.forward(&ids, &ids.zeros_like()?, Some(&mask))?,
            Backbone::Mpnet(m) => m.forward(&ids, &mask)?,
        };
        l2_normalize(&mean_pool(&features, &mask)?)?
            .flatten_all()?
            .to_vec1()
    }
}

/// candle attaches a backtrace to errors when `RUST_BACKTRACE` is set; a user-facing message needs only the error.
fn without_backtrace(e: candle_core::Error) -> candle_core::Error {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => without_backtrace(*inner),
        other => other,
    }
}

fn arch_from_config(path: &Path, bytes: &[u8]) -> Result<Arch, ReadError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ReadError::file(path, format!("invalid JSON: {e}")))?;
    let model_type = value
        .get("model_type")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ReadError::field(path, "model_type", "missing or not a string"))?;
    let invalid =
        |e: serde_json::Error| ReadError::file(path, format!("not a {model_type} config: {e}"));
    let (hidden, heads, layers) = match model_type.as_str() {
        "bert" => {
            let c: BertConfig = serde_json::from_value(value.clone()).map_err(invalid)?;
            (c.hidden_size, c.num_attention_heads, c.num_hidden_layers)
        }
        "mpnet" => {
            let c: MpnetConfig = serde_json::from_value(value.clone()).map_err(invalid)?;
            (c.hidden_size, c.num_attention_heads, c.num_hidden_layers)
        }
        other => {
            return Err(ReadError::field(
                path,
                "model_type",
                format!("unsupported `{other}` (expected `bert` or `mpnet`)"),
            ));
        }
    };
    if heads == 0 || hidden == 0 || hidden % heads != 0 {
        return Err(ReadError::field(
            path,
            "num_attention_heads",
            format!("{heads} heads do not divide hidden_size {hidden}"),
        ));
    }
    if layers == 0 {
        return Err(ReadError::field(
            path,
            "num_hidden_layers",
            "must be at least 1",
        ));
    }
    Ok(match model_type.as_str() {
        "bert" => Arch::Bert(serde_json::from_value(value).map_err(invalid)?),
        _ => Arch::Mpnet(serde_json::from_value(value).map_err(invalid)?),
    })
}

/// `max_seq_length` from `sentence_bert_config.json`, if the file exists.
fn sentence_max_len(dir: &Path) -> Result<Option<usize>, ReadError> {
    let path = dir.join("sentence_bert_config.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::io(&path, e)),
    };
    let cfg: SentenceBertConfig = serde_json::from_slice(&bytes)
        .map_err(|e| ReadError::file(&path, format!("invalid JSON: {e}")))?;
    match cfg.max_seq_length {
        Some(0) => Err(ReadError::field(
            &path,
            "max_seq_length",
            "must be at least 1",
        )),
        other => Ok(other),
    }
}

/// `<folder name>@<16 hex digits>` hashing the config, the tokenizer, the weights' size and their first and last
/// MiB: enough to tell fine-tuned weights apart without reading hundreds of MB at every load.
fn model_id(
    dir: &Path,
    config: &[u8],
    tokenizer: &[u8],
    weights: &Path,
) -> Result<String, ReadError> {
    const SAMPLE: u64 = 1 << 20;
    let io = |e| ReadError::io(weights, e);
    let mut file = std::fs::File::open(weights).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut hasher = Sha256::new();
    hasher.update(config);
    hasher.update(tokenizer);
    hasher.update(size.to_le_bytes());
    let mut head = Vec::new();
    (&mut file)
        .take(SAMPLE)
        .read_to_end(&mut head)
        .map_err(io)?;
    hasher.update(&head);
    if size > SAMPLE {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(size - SAMPLE))
            .map_err(io)?;
        let mut tail = Vec::new();
        file.take(SAMPLE).read_to_end(&mut tail).map_err(io)?;
        hasher.update(&tail);
    }
    let hash = hasher.finalize();
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = dir
        .file_name()
        .map_or_else(|| "model".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(format!("{name}@{hex}"))
}

/// Token ids of each text with the tokenizer's special tokens, as the tokenizer's own settings leave them; a
/// tokenizer error names `path`, the tokenizer's file. Shared by the sentence encoders and CLIP's text tower.
pub(super) fn tokenize(
    tokenizer: &Tokenizer,
    path: &Path,
    texts: &[&str],
) -> Result<Vec<Vec<u32>>, TextError> {
    let encodings =
        tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| TextError::Tokenize {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    Ok(encodings
        .into_iter()
        .map(|e| e.get_ids().to_vec())
        .collect())
}
