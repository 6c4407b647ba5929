//! Shift-GCN, joint stream (Cheng et al., CVPR 2020; `model/shift_gcn.py` of kchengiva/Shift-GCN), the skeleton
//! encoder of SynSE and STAR: ten units 3->64 (no residual), 64, 64, 64, 64->128 (stride 2), 128, 128, 128->256
//! (stride 2), 256, 256; pooled over time, joints and bodies to 256-d.
//!
//! Channels-last like [`super::stgcn`]. Parameter names are the reference's `state_dict` keys (`data_bn.*`,
//! `l{1..10}.gcn1.{Linear_weight,Linear_bias,Feature_Mask}`, `l*.gcn1.bn.*`, `l*.gcn1.down.{0,1}.*`,
//! `l*.tcn1.{bn,bn2}.*`, `l*.tcn1.shift_{in,out}.{xpos,ypos}`, `l*.tcn1.temporal_linear.*`, `l*.residual.{conv,bn}.*`,
//! `fc.*`). The reference's index buffers `gcn1.shift_in`/`shift_out` (int64) are recomputed, not stored. Convert a
//! `.pt` with the snippet in [`super::stgcn`], also dropping keys ending in `gcn1.shift_in`/`gcn1.shift_out`.
//!
//! `xpos` (the horizontal part of the reference's bilinear shift) gets no gradient in the reference and stays at its
//! ±1e-8 initialisation, which in f32 samples the same joint; it is kept only for checkpoint compatibility.

use candle_core::{Result, Tensor};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

use super::kernels::ops;
use super::kernels::shift_ops::{spatial_shift, spatial_shift_index, temporal_shift};
use super::layers::{BatchNorm, Linear, Pointwise, mean_middle};
use super::stgcn::EncoderOutput;

/// Hyper-parameters of Shift-GCN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShiftGcnConfig {
    pub in_channels: usize,
    pub num_joints: usize,
    pub num_persons: usize,
    /// Channels of the first units (64 in the reference); the plan is c, c, c, c, 2c, 2c, 2c, 4c, 4c, 4c.
    pub base_channels: usize,
}

impl Default for ShiftGcnConfig {
    fn default() -> Self {
        Self {
            in_channels: 3,
            num_joints: 25,
            num_persons: 2,
            base_channels: 64,
        }
    }
}

impl ShiftGcnConfig {
    /// (in, out, stride, residual) per unit.
    pub fn units(&self) -> Vec<(usize, usize, usize, bool)> {
        let c = self.base_channels;
        vec![
            (self.in_channels, c, 1, false),
            (c, c, 1, true),
            (c, c, 1, true),
            (c, c, 1, true),
            (c, 2 * c, 2, true),
            (2 * c, 2 * c, 1, true),
            (2 * c, 2 * c, 1, true),
            (2 * c, 4 * c, 2, true),
            (4 * c, 4 * c, 1, true),
            (4 * c, 4 * c, 1, true),
        ]
    }

    /// Output feature size.
    pub fn out_channels(&self) -> usize {
        4 * self.base_channels
    }
}

struct ShiftGcnLayer {
    weight: Tensor,
    bias: Tensor,
    mask: Tensor,
    bn: BatchNorm,
    down: Option<(Pointwise, BatchNorm)>,
    idx_in: Vec<u32>,
    idx_out: Vec<u32>,
    ones_out: Tensor,
    c_out: usize,
}

impl ShiftGcnLayer {
    fn new(c_in: usize, c_out: usize, v: usize, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(
            (c_in, c_out),
            "Linear_weight",
            Init::Randn {
                mean: 0.0,
                stdev: (1.0 / c_out as f64).sqrt(),
            },
        )?;
        let bias = vb.get_with_hints((1, 1, c_out), "Linear_bias", Init::Const(0.0))?;
        let mask = vb.get_with_hints((1, v, c_in), "Feature_Mask", Init::Const(0.0))?;
        let bn = BatchNorm::new(v * c_out, vb.pp("bn"))?;
        let down = if c_in != c_out {
            let d = vb.pp("down");
            Some((
                Pointwise::new(c_in, c_out, true, d.pp("0"))?,
                BatchNorm::new(c_out, d.pp("1"))?,
            ))
        } else {
            None
        };
        let ones_out = Tensor::ones(v * c_out, candle_core::DType::F32, vb.device())?;
        Ok(Self {
            weight,
            bias,
            mask,
            bn,
            down,
            idx_in: spatial_shift_index(v, c_in, true),
            idx_out: spatial_shift_index(v, c_out, false),
            ones_out,
            c_out,
        })
    }

    /// # Shapes
    /// `x`: (B, T, V, C_in) -> (B, T, V, C_out)
    fn forward(&self, x0: &Tensor, train: bool) -> Result<Tensor> {
        let (b, t, v, c) = x0.dims4()?;
        let scale = (self.mask.tanh()? + 1.0)?;
        let x = spatial_shift(&x0.reshape((b * t, v * c))?, &self.idx_in, &scale)?;
        let x = x.reshape((b * t * v, c))?.matmul(&self.weight)?;
        let x = ops::add_bias(&x, &self.bias.flatten_all()?)?;
        let x = spatial_shift(
            &x.reshape((b * t, v * self.c_out))?,
            &self.idx_out,
            &self.ones_out,
        )?;
        let x = self
            .bn
            .forward(&x, train, false)?
            .reshape((b, t, v, self.c_out))?;
        let res = match &self.down {
            Some((conv, bn)) => bn.forward(&conv.forward(x0)?, train, false)?,
            None => x0.clone(),
        };
        ops::relu(&(x + res)?)
    }
}

struct ShiftTcn {
    bn: BatchNorm,
    bn2: BatchNorm,
    y_in: Tensor,
    y_out: Tensor,
    linear: Pointwise,
    stride: usize,
}

impl ShiftTcn {
    fn new(c: usize, stride: usize, vb: VarBuilder) -> Result<Self> {
        let shift = |name: &str| -> Result<Tensor> {
            let s = vb.pp(name);
            // xpos is loaded/created for checkpoint compatibility only (see the module doc).
            s.get_with_hints(
                c,
                "xpos",
                Init::Uniform {
                    lo: -1e-8,
                    up: 1e-8,
                },
            )?;
            s.get_with_hints(c, "ypos", Init::Uniform { lo: -1.0, up: 1.0 })
        };
        Ok(Self {
            bn: BatchNorm::new(c, vb.pp("bn"))?,
            bn2: BatchNorm::new(c, vb.pp("bn2"))?,
            y_in: shift("shift_in")?,
            y_out: shift("shift_out")?,
            linear: Pointwise::new(c, c, true, vb.pp("temporal_linear"))?,
            stride,
        })
    }

    /// # Shapes
    /// `x`: (B, T, V, C) -> (B, T / stride, V, C)
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = self.bn.forward(x, train, false)?;
        let x = temporal_shift(&x, &self.y_in, 1)?;
        let x = ops::relu(&self.linear.forward(&x)?)?;
        let x = temporal_shift(&x, &self.y_out, self.stride)?;
        self.bn2.forward(&x, train, false)
    }
}

enum Residual {
    None,
    Identity,
    Conv(Pointwise, BatchNorm, usize),
}

struct Unit {
    gcn: ShiftGcnLayer,
    tcn: ShiftTcn,
    residual: Residual,
}

impl Unit {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.tcn.forward(&self.gcn.forward(x, train)?, train)?;
        let y = match &self.residual {
            Residual::None => y,
            Residual::Identity => (y + x)?,
            Residual::Conv(conv, bn, stride) => {
                let t = x.dim(1)?;
                let idx: Vec<u32> = (0..t)
                    .step_by(*stride)
                    .take(t / stride)
                    .map(|i| i as u32)
                    .collect();
                let xs = x.index_select(&Tensor::new(idx.as_slice(), x.device())?, 1)?;
                (y + bn.forward(&conv.forward(&xs)?, train, false)?)?
            }
        };
        ops::relu(&y)
    }
}

/// Shift-GCN (joint stream) with an optional classifier `fc`.
pub struct ShiftGcn {
    cfg: ShiftGcnConfig,
    data_bn: BatchNorm,
    units: Vec<Unit>,
    fc: Option<Linear>,
}

impl ShiftGcn {
    /// Builds the network on `vb`; `num_classes > 0` adds the classifier `fc`.
    pub fn new(cfg: &ShiftGcnConfig, num_classes: usize, vb: VarBuilder) -> Result<Self> {
        let v = cfg.num_joints;
        let data_bn = BatchNorm::new(cfg.num_persons * cfg.in_channels * v, vb.pp("data_bn"))?;
        let mut units = Vec::new();
        for (i, (ci, co, s, r)) in cfg.units().into_iter().enumerate() {
            let u = vb.pp(format!("l{}", i + 1));
            let residual = if !r {
                Residual::None
            } else if ci == co && s == 1 {
                Residual::Identity
            } else {
                let rv = u.pp("residual");
                Residual::Conv(
                    Pointwise::new(ci, co, true, rv.pp("conv"))?,
                    BatchNorm::new(co, rv.pp("bn"))?,
                    s,
                )
            };
            units.push(Unit {
                gcn: ShiftGcnLayer::new(ci, co, v, u.pp("gcn1"))?,
                tcn: ShiftTcn::new(co, s, u.pp("tcn1"))?,
                residual,
            });
        }
        let fc = if num_classes > 0 {
            Some(Linear::new(cfg.out_channels(), num_classes, vb.pp("fc"))?)
        } else {
            None
        };
        Ok(Self {
            cfg: cfg.clone(),
            data_bn,
            units,
            fc,
        })
    }

    pub fn config(&self) -> &ShiftGcnConfig {
        &self.cfg
    }

    /// Encodes a batch.
    ///
    /// # Shapes
    /// `x`: (N, C, T, V, M) -> map (N, M, T/4, V, 256), pooled (N, 256)
    pub fn encode(&self, x: &Tensor, train: bool) -> Result<EncoderOutput> {
        let (n, c, t, v, m) = x.dims5()?;
        if m != self.cfg.num_persons || v != self.cfg.num_joints {
            candle_core::bail!(
                "Shift-GCN built for {} joints x {} bodies, got input {:?}",
                self.cfg.num_joints,
                self.cfg.num_persons,
                x.dims()
            );
        }
        // data_bn's channel index is m*V*C + v*C + c over rows (n, t).
        let x = x
            .permute((0, 2, 4, 3, 1))?
            .contiguous()?
            .reshape((n * t, m * v * c))?;
        let x = self.data_bn.forward(&x, train, false)?;
        let mut x = x
            .reshape((n, t, m, v, c))?
            .permute((0, 2, 1, 3, 4))?
            .contiguous()?
            .reshape((n * m, t, v, c))?;
        for u in &self.units {
            x = u.forward(&x, train)?;
        }
        let (_, t2, v2, c2) = x.dims4()?;
        let pooled = mean_middle(&x)?.reshape((n, m, c2))?.mean(1)?;
        Ok(EncoderOutput {
            map: x.reshape((n, m, t2, v2, c2))?,
            pooled,
        })
    }

    /// Class logits (N, num_classes).
    /// Where the parameters live.
    pub fn device(&self) -> &candle_core::Device {
        self.data_bn.device()
    }

    pub fn classify(&self, pooled: &Tensor) -> Result<Tensor> {
        match &self.fc {
            Some(fc) => fc.forward(pooled),
            None => candle_core::bail!("this Shift-GCN has no classifier head"),
        }
    }
}
