//! MPNet (the backbone of all-mpnet-base-v2), which candle-transformers lacks. It differs from BERT in three ways:
//! RoBERTa-style position ids that start after the padding id, no token-type embeddings, and a relative-position
//! attention bias (T5-style buckets) computed once per forward and shared by every layer.
//! Parameter names equal the Hugging Face checkpoint keys (`embeddings.*`, `encoder.layer.{i}.attention.attn.q`, ...).

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder, embedding, layer_norm, linear};

/// The fields of an MPNet `config.json` the model needs.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct MpnetConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_buckets() -> usize {
    32
}

fn default_act() -> String {
    "gelu".to_owned()
}

/// The largest relative distance with its own bucket range, as in Hugging Face's MPNet.
const MAX_DISTANCE: i64 = 128;

struct MpnetEmbeddings {
    word: Embedding,
    position: Embedding,
    norm: LayerNorm,
    pad: u32,
}

impl MpnetEmbeddings {
    fn new(cfg: &MpnetConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            word: embedding(cfg.vocab_size, cfg.hidden_size, vb.pp("word_embeddings"))?,
            position: embedding(
                cfg.max_position_embeddings,
                cfg.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            norm: layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("LayerNorm"))?,
            pad: cfg.pad_token_id,
        })
    }

    fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        // RoBERTa positions: real tokens count up from pad + 1, padding keeps the pad position.
        let ids = input_ids.to_vec2::<u32>()?;
        let positions: Vec<u32> = ids
            .iter()
            .flat_map(|row| {
                let mut count = 0;
                row.iter()
                    .map(|&id| {
                        if id == self.pad {
                            self.pad
                        } else {
                            count += 1;
                            count + self.pad
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let positions = Tensor::from_vec(positions, input_ids.shape(), input_ids.device())?;
        let xs = (self.word.forward(input_ids)? + self.position.forward(&positions)?)?;
        self.norm.forward(&xs)
    }
}

struct MpnetSelfAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    head_dim: usize,
}

impl MpnetSelfAttention {
    fn new(cfg: &MpnetConfig, vb: VarBuilder) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            q: linear(h, h, vb.pp("q"))?,
            k: linear(h, h, vb.pp("k"))?,
            v: linear(h, h, vb.pp("v"))?,
            o: linear(h, h, vb.pp("o"))?,
            heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
        })
    }

    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, l, _) = xs.dims3()?;
        xs.reshape((b, l, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// `bias` is the position bias plus the padding mask, `(batch, heads, len, len)`.
    fn forward(&self, xs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, l, h) = xs.dims3()?;
        let q = self.split_heads(&self.q.forward(xs)?)?;
        let k = self.split_heads(&self.k.forward(xs)?)?;
        let v = self.split_heads(&self.v.forward(xs)?)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(bias)?)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, l, h))?;
        self.o.forward(&ctx)
    }
}

struct MpnetLayer {
    attn: MpnetSelfAttention,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
    act: candle_nn::Activation,
}

impl MpnetLayer {
    fn new(cfg: &MpnetConfig, act: candle_nn::Activation, vb: VarBuilder) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            attn: MpnetSelfAttention::new(cfg, vb.pp("attention.attn"))?,
            attn_norm: layer_norm(h, cfg.layer_norm_eps, vb.pp("attention.LayerNorm"))?,
            intermediate: linear(h, cfg.intermediate_size, vb.pp("intermediate.dense"))?,
            output: linear(cfg.intermediate_size, h, vb.pp("output.dense"))?,
            output_norm: layer_norm(h, cfg.layer_norm_eps, vb.pp("output.LayerNorm"))?,
            act,
        })
    }

    fn forward(&self, xs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let attended = self
            .attn_norm
            .forward(&(self.attn.forward(xs, bias)? + xs)?)?;
        let inner = self.act.forward(&self.intermediate.forward(&attended)?)?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + attended)?)
    }
}

/// The MPNet encoder: embeddings, `num_hidden_layers` layers, and the shared relative-position bias table.
pub struct MpnetModel {
    embeddings: MpnetEmbeddings,
    layers: Vec<MpnetLayer>,
    relative_bias: Embedding,
    buckets: usize,
}

impl MpnetModel {
    /// Loads the weights; a checkpoint saved from `MPNetModel` inside a task head (`mpnet.` prefix) works too.
    pub fn new(cfg: &MpnetConfig, vb: VarBuilder) -> Result<Self> {
        let vb = if vb.contains_tensor("mpnet.embeddings.word_embeddings.weight") {
            vb.pp("mpnet")
        } else {
            vb
        };
        // Hugging Face's "gelu" is the exact erf form, candle's `Activation::Gelu`.
        let act = match cfg.hidden_act.as_str() {
            "gelu" => candle_nn::Activation::Gelu,
            "gelu_new" => candle_nn::Activation::NewGelu,
            "relu" => candle_nn::Activation::Relu,
            other => candle_core::bail!("unsupported hidden_act `{other}`"),
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| MpnetLayer::new(cfg, act, vb.pp(format!("encoder.layer.{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: MpnetEmbeddings::new(cfg, vb.pp("embeddings"))?,
            layers,
            relative_bias: embedding(
                cfg.relative_attention_num_buckets,
                cfg.num_attention_heads,
                vb.pp("encoder.relative_attention_bias"),
            )?,
            buckets: cfg.relative_attention_num_buckets,
        })
    }

    /// Token features.
    ///
    /// # Shapes
    /// - `input_ids`: `(batch, len)` u32
    /// - `attention_mask`: `(batch, len)` u32, 1 for real tokens
    /// - returns `(batch, len, hidden)` f32
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (_, len) = input_ids.dims2()?;
        let mut xs = self.embeddings.forward(input_ids)?;
        let bias = self
            .position_bias(len, input_ids.device())?
            .broadcast_add(&extended_mask(attention_mask, xs.dtype())?)?;
        for layer in &self.layers {
            xs = layer.forward(&xs, &bias)?;
        }
        Ok(xs)
    }

    /// `(1, heads, len, len)`: the learned bias of each query/key offset.
    fn position_bias(&self, len: usize, device: &candle_core::Device) -> Result<Tensor> {
        let buckets: Vec<u32> = (0..len as i64)
            .flat_map(|q| (0..len as i64).map(move |k| (q, k)))
            .map(|(q, k)| relative_bucket(k - q, self.buckets))
            .collect();
        let buckets = Tensor::from_vec(buckets, len * len, device)?;
        let heads = self.relative_bias.embeddings().dim(1)?;
        self.relative_bias
            .forward(&buckets)?
            .reshape((len, len, heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .contiguous()
    }
}

/// `(batch, 1, 1, len)`: 0 for real tokens, the most negative f32 for padding (as Hugging Face does).
fn extended_mask(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let mask = mask.to_dtype(dtype)?.unsqueeze(1)?.unsqueeze(1)?;
    (mask.ones_like()? - mask)?.affine(f32::MIN as f64, 0.0)
}

/// The bucket of a key-minus-query offset: half the buckets per direction, exact below `buckets / 4`, logarithmic up
/// to [`MAX_DISTANCE`]. The float steps follow PyTorch's f32 arithmetic so boundary offsets land in the same bucket.
fn relative_bucket(relative: i64, buckets: usize) -> u32 {
    let half = (buckets / 2) as i64;
    let n = -relative;
    let mut bucket = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    bucket += if n < max_exact {
        n
    } else {
        let scale = ((n as f32) / max_exact as f32).ln()
            / ((MAX_DISTANCE as f64 / max_exact as f64).ln() as f32)
            * (half - max_exact) as f32;
        (max_exact + scale as i64).min(half - 1)
    };
    bucket as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_hugging_face() {
        // Values from transformers' MPNet relative_position_bucket (32 buckets, max distance 128).
        let cases = [
            (0, 0),
            (1, 17),
            (-1, 1),
            (7, 23),
            (-7, 7),
            (8, 24),
            (-8, 8),
            (16, 26),
            (-16, 10),
            (-32, 12),
            (-64, 14),
            (-127, 15),
            (-500, 15),
            (31, 27),
            (63, 29),
            (65, 30),
            (500, 31),
        ];
        for (rel, want) in cases {
            assert_eq!(relative_bucket(rel, 32), want, "offset {rel}");
        }
    }
}
