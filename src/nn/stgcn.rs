//! ST-GCN as SMIE configures it (`module/gcn/st_gcn.py`): data BN, ten `st_gcn` blocks with channel plan
//! 16-16-16-16-32-32-32-64-64-256 (stride 2 at blocks 5 and 8), spatial partition, edge importance, global pooling.
//!
//! Computed channels-last: activations are (sequences, time, joints, channels), so every 1x1 conv is one GEMM, the
//! graph convolution (the 1x1 conv and the sparse sum over the joints' neighbours) is one op (`spatial_conv`), and so
//! is the temporal (9, 1) conv (one product per tap, `temporal_conv`).
//!
//! Parameter names equal the PyTorch `state_dict` keys (`data_bn.*`, `st_gcn_networks.{i}.gcn.conv.*`,
//! `st_gcn_networks.{i}.tcn.{0,2,3}.*`, `st_gcn_networks.{i}.residual.{0,1}.*`, `edge_importance.{i}`), plus `fc.*`
//! for the pretraining classifier. A reference checkpoint converts with
//!
//! ```python
//! import torch
//! from safetensors.torch import save_file
//! sd = torch.load("encoder.pt", map_location="cpu", weights_only=True)
//! sd = sd.get("state_dict", sd)  # some checkpoints wrap it
//! sd = {k.removeprefix("module.").removeprefix("encoder."): v.float().contiguous()
//!       for k, v in sd.items() if not k.endswith("num_batches_tracked") and k != "A"}
//! save_file(sd, "checkpoint.safetensors")
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Result, Tensor};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

use super::graph::Graph;
use super::init::mix64;
use super::kernels::batch_norm::BnMode;
use super::kernels::ops;
use super::kernels::spatial_conv::{GraphPattern, spatial_conv};
use super::kernels::temporal_conv::{TemporalGeom, temporal_conv};
use super::layers::{BatchNorm, Linear, Pointwise, fold_affine, mean_middle, torch_uniform};

/// Hyper-parameters of the SMIE ST-GCN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StGcnConfig {
    pub in_channels: usize,
    pub hidden_channels: usize,
    pub hidden_dim: usize,
    pub dropout: f32,
    pub edge_importance: bool,
    pub temporal_kernel: usize,
}

impl Default for StGcnConfig {
    fn default() -> Self {
        Self {
            in_channels: 3,
            hidden_channels: 16,
            hidden_dim: 256,
            dropout: 0.5,
            edge_importance: true,
            temporal_kernel: 9,
        }
    }
}

impl StGcnConfig {
    /// (in, out, stride, residual) per block.
    pub fn blocks(&self) -> Vec<(usize, usize, usize, bool)> {
        let h = self.hidden_channels;
        vec![
            (self.in_channels, h, 1, false),
            (h, h, 1, true),
            (h, h, 1, true),
            (h, h, 1, true),
            (h, 2 * h, 2, true),
            (2 * h, 2 * h, 1, true),
            (2 * h, 2 * h, 1, true),
            (2 * h, 4 * h, 2, true),
            (4 * h, 4 * h, 1, true),
            (4 * h, self.hidden_dim, 1, true),
        ]
    }
}

/// What an encoder returns.
#[derive(Clone, Debug)]
pub struct EncoderOutput {
    /// Pre-pooling map, (N, M, T', V, C).
    pub map: Tensor,
    /// Pooled feature, mean over time, joints and bodies: (N, C).
    pub pooled: Tensor,
}

enum Residual {
    None,
    Identity,
    Conv {
        conv: Pointwise,
        bn: BatchNorm,
        stride: usize,
    },
}

/// One block's channels, temporal stride, residual flag and dropout.
#[derive(Clone, Copy)]
struct BlockSpec {
    c_in: usize,
    c_out: usize,
    stride: usize,
    residual: bool,
    dropout: f32,
}

struct Block {
    gcn: Pointwise,
    c_out: usize,
    bn1: BatchNorm,
    tcn_weight: Tensor,
    tcn_bias: Tensor,
    bn2: BatchNorm,
    residual: Residual,
    stride: usize,
    kernel: usize,
    dropout: f32,
}

impl Block {
    fn new(spec: BlockSpec, k: usize, cfg: &StGcnConfig, vb: VarBuilder) -> Result<Self> {
        let BlockSpec {
            c_in,
            c_out,
            stride,
            residual,
            dropout,
        } = spec;
        let kt = cfg.temporal_kernel;
        let gcn = Pointwise::new(c_in, c_out * k, true, vb.pp("gcn").pp("conv"))?;
        let tcn = vb.pp("tcn");
        let bn1 = BatchNorm::new(c_out, tcn.pp("0"))?;
        let fan = c_out * kt;
        let tcn_weight =
            tcn.pp("2")
                .get_with_hints((c_out, c_out, kt, 1), "weight", torch_uniform(fan))?;
        let tcn_bias = tcn
            .pp("2")
            .get_with_hints(c_out, "bias", torch_uniform(fan))?;
        let bn2 = BatchNorm::new(c_out, tcn.pp("3"))?;
        let residual = if !residual {
            Residual::None
        } else if c_in == c_out && stride == 1 {
            Residual::Identity
        } else {
            let r = vb.pp("residual");
            Residual::Conv {
                conv: Pointwise::new(c_in, c_out, true, r.pp("0"))?,
                bn: BatchNorm::new(c_out, r.pp("1"))?,
                stride,
            }
        };
        Ok(Self {
            gcn,
            c_out,
            bn1,
            tcn_weight,
            tcn_bias,
            bn2,
            residual,
            stride,
            kernel: kt,
            dropout,
        })
    }

    /// `dropout_seed` seeds this block's dropout mask in training.
    ///
    /// # Shapes
    /// `x`: (B, T, V, C_in), `a`: (K, V, V) -> (B, T', V, C_out)
    fn forward(
        &self,
        x: &Tensor,
        a: &Tensor,
        pattern: &GraphPattern,
        (train, dropout_seed): (bool, u64),
    ) -> Result<Tensor> {
        let (b, t, v, _) = x.dims4()?;
        let c = self.c_out;
        let res = match &self.residual {
            Residual::None => None,
            Residual::Identity => Some(x.clone()),
            Residual::Conv { conv, bn, stride } => {
                let xs = if *stride > 1 {
                    let idx: Vec<u32> = (0..t).step_by(*stride).map(|i| i as u32).collect();
                    x.index_select(&Tensor::new(idx.as_slice(), x.device())?, 1)?
                } else {
                    x.clone()
                };
                if train {
                    Some(bn.forward(&conv.forward(&xs)?, true, false)?)
                } else {
                    let (scale, shift) = bn.eval_affine()?;
                    Some(conv.folded(&scale, &shift)?.forward(&xs)?)
                }
            }
        };
        // Graph convolution: 1x1 conv to K*C channels (index k*C + c), then sum over the partitions' neighbours.
        let bias = self
            .gcn
            .bias()
            .ok_or_else(|| candle_core::Error::Msg("ST-GCN's gcn conv has no bias".into()))?;
        let y = spatial_conv(
            &x.reshape((b * t, v, ()))?,
            self.gcn.weight(),
            bias,
            a,
            pattern,
        )?;
        let y = y.reshape((b, t, v, c))?;
        let y = self.bn1.forward(&y, train, true)?;
        // Temporal conv (kernel, 1), stride (s, 1), padding (kernel/2, 0).
        let g = TemporalGeom {
            b,
            t,
            v,
            c,
            kernel: self.kernel,
            pad: self.kernel / 2,
            stride: self.stride,
        };
        let y = if train {
            let y = temporal_conv(&y, &self.tcn_weight, &self.tcn_bias, g)?;
            let mode = BnMode {
                relu: false,
                train: true,
                dropout: self.dropout,
                dropout_seed,
            };
            self.bn2.forward_mode(&y, mode)?
        } else {
            // Eval: bn2 folded into the convolution's weights.
            let (scale, shift) = self.bn2.eval_affine()?;
            let (w, bias) = fold_affine(&self.tcn_weight, &self.tcn_bias, &scale, &shift)?;
            temporal_conv(&y, &w, &bias, g)?
        };
        match res {
            Some(r) => ops::add_relu(&y, &r),
            None => ops::relu(&y),
        }
    }
}

/// The ST-GCN encoder with an optional classifier head `fc` (for supervised pretraining).
pub struct StGcn {
    cfg: StGcnConfig,
    a: Tensor,
    pattern: GraphPattern,
    data_bn: BatchNorm,
    blocks: Vec<Block>,
    importance: Vec<Tensor>,
    fc: Option<Linear>,
    /// Seeds the dropout masks of the next training forward passes (see [`Self::set_dropout_key`]).
    dropout_key: AtomicU64,
}

impl StGcn {
    /// Builds the network on `vb`; `num_classes > 0` adds the classifier `fc`.
    pub fn new(cfg: &StGcnConfig, num_classes: usize, vb: VarBuilder) -> Result<Self> {
        let graph = Graph::ntu_spatial();
        let (k, v) = (graph.k, graph.num_nodes);
        let a = Tensor::from_slice(&graph.a, (k, v, v), vb.device())?;
        let pattern = GraphPattern::from_dense(&graph.a, k, v);
        let data_bn = BatchNorm::new(cfg.in_channels * v, vb.pp("data_bn"))?;
        let mut blocks = Vec::new();
        let mut importance = Vec::new();
        for (i, (ci, co, s, r)) in cfg.blocks().into_iter().enumerate() {
            // SMIE drops `dropout` from the first block's kwargs.
            let p = if i == 0 { 0.0 } else { cfg.dropout };
            let spec = BlockSpec {
                c_in: ci,
                c_out: co,
                stride: s,
                residual: r,
                dropout: p,
            };
            blocks.push(Block::new(
                spec,
                k,
                cfg,
                vb.pp("st_gcn_networks").pp(i.to_string()),
            )?);
            if cfg.edge_importance {
                importance.push(vb.pp("edge_importance").get_with_hints(
                    (k, v, v),
                    &i.to_string(),
                    Init::Const(1.0),
                )?);
            }
        }
        let fc = if num_classes > 0 {
            Some(Linear::new(cfg.hidden_dim, num_classes, vb.pp("fc"))?)
        } else {
            None
        };
        Ok(Self {
            cfg: cfg.clone(),
            a,
            pattern,
            data_bn,
            blocks,
            importance,
            fc,
            dropout_key: AtomicU64::new(0),
        })
    }

    /// Sets the key the dropout masks of the following training passes are drawn from: block `i` draws its mask
    /// from the key mixed with `i`. The training loop sets a key from the run's seed and the optimiser step before
    /// each step, so the masks (and the checkpoint) are the same on every run with that seed, and after a resume.
    pub fn set_dropout_key(&self, key: u64) {
        self.dropout_key.store(key, Ordering::Relaxed);
    }

    pub fn config(&self) -> &StGcnConfig {
        &self.cfg
    }

    /// Encodes a batch.
    ///
    /// # Shapes
    /// `x`: (N, C, T, V, M) as in the reference -> map (N, M, T/4, V, 256), pooled (N, 256)
    pub fn encode(&self, x: &Tensor, train: bool) -> Result<EncoderOutput> {
        let (n, c, t, v, m) = x.dims5()?;
        // (N, M, T, V, C): data_bn's channel index is v*C + c, as in the reference's (N*M, V*C, T) view.
        let x = x.permute((0, 4, 2, 3, 1))?.contiguous()?;
        let x = self
            .data_bn
            .forward(&x.reshape((n * m * t, v * c))?, train, false)?;
        let mut x = x.reshape((n * m, t, v, c))?;
        let key = self.dropout_key.load(Ordering::Relaxed);
        for (i, block) in self.blocks.iter().enumerate() {
            let mode = (train, mix64(key ^ mix64(i as u64)));
            x = match self.importance.get(i) {
                Some(imp) => block.forward(&x, &(&self.a * imp)?, &self.pattern, mode)?,
                None => block.forward(&x, &self.a, &self.pattern, mode)?,
            };
        }
        let (_, t2, v2, c2) = x.dims4()?;
        let pooled = mean_middle(&x)?.reshape((n, m, c2))?.mean(1)?;
        Ok(EncoderOutput {
            map: x.reshape((n, m, t2, v2, c2))?,
            pooled,
        })
    }

    /// Where the parameters live.
    pub fn device(&self) -> &candle_core::Device {
        self.data_bn.device()
    }

    /// Class logits from the `fc` head (N, num_classes), or an error when the network was built without one.
    pub fn classify(&self, pooled: &Tensor) -> Result<Tensor> {
        match &self.fc {
            Some(fc) => fc.forward(pooled),
            None => candle_core::bail!("this ST-GCN has no classifier head"),
        }
    }
}
