//! Channels-last batch normalisation (optionally fused with ReLU, and with dropout in training), as CPU ops with an
//! analytic backward.

use std::sync::Arc;

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor, bail,
};
use rayon::prelude::*;

use super::ops::{ROW_CHUNK, f32_slice, is_cpu, sum_in_order};

/// Per-channel mean and biased variance of a (rows x C) tensor.
pub fn channel_stats(x: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
    let c = x.dims().last().copied().unwrap_or(1);
    let x2 = x.reshape(((), c))?;
    if !is_cpu(x) {
        let mean = x2.mean(0)?;
        let var = x2.broadcast_sub(&mean)?.sqr()?.mean(0)?;
        return Ok((mean.to_vec1()?, var.to_vec1()?));
    }
    let st = x2
        .contiguous()?
        .apply_op1_no_bwd(&Stats)?
        .to_vec2::<f32>()?;
    Ok((st[0].clone(), st[1].clone()))
}

struct Stats;

impl CustomOp1 for Stats {
    fn name(&self) -> &'static str {
        "bn-stats"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "bn stats")?;
        let c = l.dims()[1];
        let r = l.dims()[0].max(1);
        // Shifted sums (shift = first row) keep the variance accurate when |mean| >> std.
        let shift: Vec<f32> = x
            .get(..c)
            .map(<[f32]>::to_vec)
            .unwrap_or_else(|| vec![0.0; c]);
        // One partial per chunk of rows, added in chunk order (see `SUM_PARTS`): the same bits on every run.
        let parts: Vec<(Vec<f64>, Vec<f64>)> = x
            .par_chunks(ROW_CHUNK * c)
            .map(|ch| {
                let mut s1 = vec![0f64; c];
                let mut s2 = vec![0f64; c];
                let mut a1 = vec![0f32; c];
                let mut a2 = vec![0f32; c];
                let (a1_, a2_, shift) = (&mut a1[..c], &mut a2[..c], &shift[..c]);
                for row in ch.chunks_exact(c) {
                    let row = &row[..c];
                    for j in 0..c {
                        let d = row[j] - shift[j];
                        a1_[j] += d;
                        a2_[j] += d * d;
                    }
                }
                for j in 0..c {
                    s1[j] += a1[j] as f64;
                    s2[j] += a2[j] as f64;
                }
                (s1, s2)
            })
            .collect();
        let (mut s1, mut s2) = (vec![0f64; c], vec![0f64; c]);
        for (b1, b2) in &parts {
            for j in 0..c {
                s1[j] += b1[j];
                s2[j] += b2[j];
            }
        }
        let mut out = vec![0f32; 2 * c];
        for j in 0..c {
            let m = s1[j] / r as f64;
            out[j] = (m + shift[j] as f64) as f32;
            out[c + j] = (s2[j] / r as f64 - m * m).max(0.0) as f32;
        }
        Ok((CpuStorage::F32(out), Shape::from((2, c))))
    }
}

/// `y = gamma * (x - mean) * invstd + beta`, then ReLU when `relu`, then dropout when `drop` is given. In training
/// mode the backward pass treats `mean`/`invstd` as functions of the batch (the usual BN gradient); in eval mode as
/// constants.
struct BnApply {
    mean: Vec<f32>,
    invstd: Vec<f32>,
    relu: bool,
    train: bool,
    drop: Option<DropMask>,
}

/// Dropout fused into a batch norm: which values are kept (one byte each, so the backward pass reads a quarter of
/// what a float mask costs) and the factor `1 / (1 - p)` the kept ones are scaled by.
#[derive(Clone)]
struct DropMask {
    keep: Arc<Vec<u8>>,
    scale: f32,
}

impl DropMask {
    /// Keeps each of `n` values with probability `1 - p`. Chunk `i` draws from its own counter-based stream
    /// (`seed` mixed with `i`), so the mask is filled in parallel and is the same for the same seed whatever the
    /// thread scheduling.
    fn sample(n: usize, p: f32, seed: u64) -> Self {
        const CHUNK: usize = 1 << 16;
        let base = crate::nn::init::mix64(seed);
        // Kept when a 24-bit uniform draw is at least p * 2^24, as `rand >= p` is in candle's dropout.
        let threshold = (p as f64 * (1u64 << 24) as f64).ceil() as u32;
        let mut keep = vec![0u8; n];
        keep.par_chunks_mut(CHUNK).enumerate().for_each(|(i, ch)| {
            let mut state = base ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for pair in ch.chunks_mut(2) {
                // splitmix64: two 24-bit draws per step.
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                for (j, k) in pair.iter_mut().enumerate() {
                    *k = (((z >> (32 * j + 8)) as u32 & 0xFF_FFFF) >= threshold) as u8;
                }
            }
        });
        Self {
            keep: Arc::new(keep),
            scale: 1.0 / (1.0 - p),
        }
    }

    /// Applies the mask to `vals`, chunk `i` of the batch norm's passes (chunks of `ROW_CHUNK` rows of `c` values).
    /// A product with 0 or the scale rather than a branch, so the loop vectorises.
    fn apply(&self, i: usize, c: usize, vals: &mut [f32]) {
        let start = i * ROW_CHUNK * c;
        let keep = &self.keep[start..start + vals.len()];
        for (v, k) in vals.iter_mut().zip(keep) {
            *v *= self.scale * f32::from(*k);
        }
    }
}

/// The BN output's affine map `x * scale + off` per channel.
fn bn_affine(gamma: &[f32], beta: &[f32], mean: &[f32], invstd: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma.iter().zip(invstd).map(|(g, i)| g * i).collect();
    let off = (0..gamma.len())
        .map(|j| beta[j] - mean[j] * scale[j])
        .collect();
    (scale, off)
}

impl CustomOp3 for BnApply {
    fn name(&self) -> &'static str {
        "bn-cl"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "bn x")?;
        let g = f32_slice(s2, l2, "bn gamma")?;
        let b = f32_slice(s3, l3, "bn beta")?;
        let c = g.len();
        let (scale, off) = bn_affine(g, b, &self.mean, &self.invstd);
        let mut out = vec![0f32; x.len()];
        let relu = self.relu;
        out.par_chunks_mut(ROW_CHUNK * c)
            .zip(x.par_chunks(ROW_CHUNK * c))
            .enumerate()
            .for_each(|(i, (o, xi))| {
                let (scale, off) = (&scale[..c], &off[..c]);
                for (orow, xrow) in o.chunks_exact_mut(c).zip(xi.chunks_exact(c)) {
                    let (orow, xrow) = (&mut orow[..c], &xrow[..c]);
                    for j in 0..c {
                        let v = xrow[j] * scale[j] + off[j];
                        orow[j] = if relu { v.max(0.0) } else { v };
                    }
                }
                if let Some(d) = &self.drop {
                    d.apply(i, c, o);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let c = gamma.elem_count();
        let rows = x.elem_count() / c.max(1);
        let packed = x.apply_op2_no_bwd(
            &grad.contiguous()?,
            &BnBackward {
                mean: self.mean.clone(),
                invstd: self.invstd.clone(),
                relu: self.relu,
                train: self.train,
                gamma: gamma.flatten_all()?.to_vec1()?,
                beta: beta.flatten_all()?.to_vec1()?,
                drop: self.drop.clone(),
            },
        )?;
        let dx = packed.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dg = packed.narrow(0, rows, 1)?.reshape(gamma.shape())?;
        let db = packed.narrow(0, rows + 1, 1)?.reshape(beta.shape())?;
        Ok((Some(dx), Some(dg), Some(db)))
    }
}

struct BnBackward {
    mean: Vec<f32>,
    invstd: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    relu: bool,
    train: bool,
    drop: Option<DropMask>,
}

impl BnBackward {
    /// The output gradient of one chunk of rows (chunk `i`) brought back through dropout and the ReLU, whose mask is
    /// recomputed from `x` (the forward pass's own arithmetic, so the same signs) rather than read from the output.
    fn masked_grad<'a>(
        &self,
        i: usize,
        xc: &[f32],
        gc: &'a [f32],
        (scale, off): (&[f32], &[f32]),
        buf: &'a mut Vec<f32>,
    ) -> &'a [f32] {
        if !self.relu && self.drop.is_none() {
            return gc;
        }
        let c = scale.len();
        buf.clear();
        buf.extend_from_slice(gc);
        if let Some(d) = &self.drop {
            d.apply(i, c, buf);
        }
        if self.relu {
            for (br, xr) in buf.chunks_exact_mut(c).zip(xc.chunks_exact(c)) {
                let (br, xr, scale, off) = (&mut br[..c], &xr[..c], &scale[..c], &off[..c]);
                for j in 0..c {
                    // A product with 0 or 1, not a branch, so the loop vectorises.
                    let live = xr[j] * scale[j] + off[j] > 0.0;
                    br[j] *= f32::from(u8::from(live));
                }
            }
        }
        buf
    }
}

impl CustomOp2 for BnBackward {
    fn name(&self) -> &'static str {
        "bn-cl-backward"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "bn-bwd x")?;
        let gy = f32_slice(s2, l2, "bn-bwd grad")?;
        let c = self.gamma.len();
        let rows = x.len() / c.max(1);
        let (mean, invstd) = (&self.mean[..c], &self.invstd[..c]);
        let (scale, off) = bn_affine(&self.gamma, &self.beta, mean, invstd);
        let affine = (&scale[..c], &off[..c]);
        // Pass 1: dbeta = sum g, dgamma = sum g * xhat (g masked by dropout and the ReLU). Every row slice is cut to
        // `c` first so the channel loops compile without bounds checks, vectorised.
        let parts: Vec<(Vec<f32>, Vec<f32>)> = x
            .par_chunks(ROW_CHUNK * c)
            .zip(gy.par_chunks(ROW_CHUNK * c))
            .enumerate()
            .map(|(i, (xc, gc))| {
                let mut a = vec![0f32; c];
                let mut b = vec![0f32; c];
                let mut buf = Vec::new();
                let gc = self.masked_grad(i, xc, gc, affine, &mut buf);
                let (a_, b_) = (&mut a[..c], &mut b[..c]);
                for (xr, gr) in xc.chunks_exact(c).zip(gc.chunks_exact(c)) {
                    let (xr, gr) = (&xr[..c], &gr[..c]);
                    for j in 0..c {
                        a_[j] += gr[j];
                        b_[j] += gr[j] * (xr[j] - mean[j]);
                    }
                }
                (a, b)
            })
            .collect();
        // Added in chunk order, not rayon's (see `SUM_PARTS`).
        let (sg, sgx): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
        let (sg, sgx) = (sum_in_order(sg, c), sum_in_order(sgx, c));
        let sgx: Vec<f32> = sgx.iter().zip(invstd).map(|(s, i)| s * i).collect();
        let mut out = vec![0f32; x.len() + 2 * c];
        let (dx, tail) = out.split_at_mut(x.len());
        let n = rows as f32;
        // dx = k1 (g - sg/n - xhat sgx/n) = p g - q x + r, per channel.
        let p: Vec<f32> = (0..c).map(|j| self.gamma[j] * invstd[j]).collect();
        let (q, r): (Vec<f32>, Vec<f32>) = if self.train {
            (0..c)
                .map(|j| {
                    let q = p[j] * invstd[j] * sgx[j] / n;
                    (q, q * mean[j] - p[j] * sg[j] / n)
                })
                .unzip()
        } else {
            (vec![0.0; c], vec![0.0; c])
        };
        let (p, q, r) = (&p[..c], &q[..c], &r[..c]);
        dx.par_chunks_mut(ROW_CHUNK * c)
            .zip(x.par_chunks(ROW_CHUNK * c))
            .zip(gy.par_chunks(ROW_CHUNK * c))
            .enumerate()
            .for_each(|(i, ((dc, xc), gc))| {
                let mut buf = Vec::new();
                let gc = self.masked_grad(i, xc, gc, affine, &mut buf);
                for ((dr, xr), gr) in dc
                    .chunks_exact_mut(c)
                    .zip(xc.chunks_exact(c))
                    .zip(gc.chunks_exact(c))
                {
                    let (dr, xr, gr) = (&mut dr[..c], &xr[..c], &gr[..c]);
                    for j in 0..c {
                        dr[j] = p[j] * gr[j] - q[j] * xr[j] + r[j];
                    }
                }
            });
        tail[..c].copy_from_slice(&sgx);
        tail[c..].copy_from_slice(&sg);
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, c))))
    }
}

/// How [`batch_norm_cl`] runs: ReLU fused after it, batch statistics (training) or fixed ones, and the dropout
/// probability applied after it in training (0: none) with the seed its mask is drawn from on the CPU (the network
/// derives it from the run's seed, the optimiser step and the layer: see `StGcn::set_dropout_key`).
#[derive(Clone, Copy, Debug, Default)]
pub struct BnMode {
    pub relu: bool,
    pub train: bool,
    pub dropout: f32,
    pub dropout_seed: u64,
}

/// Channels-last batch norm of `x` (..., C) with per-channel statistics `mean`/`var` (batch statistics in training,
/// running ones in eval), affine `gamma`/`beta` (C), optionally followed by ReLU.
pub fn batch_norm_cl(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    (mean, var): (&[f32], &[f32]),
    eps: f64,
    mode: BnMode,
) -> Result<Tensor> {
    let BnMode {
        relu,
        train,
        dropout,
        dropout_seed,
    } = mode;
    let dropout = if train { dropout } else { 0.0 };
    if !(0.0..1.0).contains(&dropout) {
        bail!("batch_norm_cl: dropout {dropout} outside [0, 1)");
    }
    let c = gamma.elem_count();
    if mean.len() != c || var.len() != c || x.dims().last() != Some(&c) {
        bail!(
            "batch_norm_cl: channel mismatch (x {:?}, gamma {c}, stats {})",
            x.dims(),
            mean.len()
        );
    }
    if !is_cpu(x) {
        let stats = if train { None } else { Some((mean, var)) };
        let y = batch_norm_cl_reference(x, gamma, beta, eps, relu, stats)?;
        return if dropout > 0.0 {
            candle_nn::ops::dropout(&y, dropout)
        } else {
            Ok(y)
        };
    }
    let invstd: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps as f32).sqrt()).collect();
    let op = BnApply {
        mean: mean.to_vec(),
        invstd,
        relu,
        train,
        drop: (dropout > 0.0).then(|| DropMask::sample(x.elem_count(), dropout, dropout_seed)),
    };
    x.contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)
}

/// The same normalisation with plain candle ops: batch statistics when `stats` is `None`, else the given ones.
pub fn batch_norm_cl_reference(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
    stats: Option<(&[f32], &[f32])>,
) -> Result<Tensor> {
    let c = gamma.elem_count();
    let shape = x.shape().clone();
    let x2 = x.reshape(((), c))?;
    let (mean, var) = match stats {
        None => {
            let m = x2.mean_keepdim(0)?;
            let v = x2.broadcast_sub(&m)?.sqr()?.mean_keepdim(0)?;
            (m, v)
        }
        Some((m, v)) => (
            Tensor::from_slice(m, (1, c), x.device())?,
            Tensor::from_slice(v, (1, c), x.device())?,
        ),
    };
    let y = x2
        .broadcast_sub(&mean)?
        .broadcast_div(&(var + eps)?.sqrt()?)?
        .broadcast_mul(&gamma.reshape((1, c))?)?
        .broadcast_add(&beta.reshape((1, c))?)?;
    let y = if relu { y.relu()? } else { y };
    y.reshape(shape)
}
