//! ST-GCN's temporal convolution (kernel (K, 1), stride (s, 1), zero padding K/2) on channels-last rows, as one CPU
//! op with an analytic backward.
//!
//! Rows are (t, v) pairs, so shifting a sequence by whole frames shifts its rows: each tap of the kernel is one
//! product of the sequence's shifted rows with that tap's (C_in x C_out) weight, accumulated into the output, with
//! no im2col matrix (9x the activations) to write and read back. A strided conv first regroups each sequence's
//! frames by phase (`t mod s`), which makes every tap's frames consecutive again. Frames that fall in the zero
//! padding are left out of the products. The backward pass is the same per-tap products transposed.

use std::borrow::Cow;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

use super::gemm::{fill_rows, gemm_rows, unpack_layer_grads, weight_from_matrix, weight_matrix};
use super::ops::{col_sums, f32_slice, is_cpu, part_len, sum_in_order};

/// Geometry of a temporal convolution over channels-last (B, T, V, C) data.
#[derive(Clone, Copy, Debug)]
pub struct TemporalGeom {
    pub b: usize,
    pub t: usize,
    pub v: usize,
    pub c: usize,
    pub kernel: usize,
    pub pad: usize,
    pub stride: usize,
}

impl TemporalGeom {
    pub fn t_out(&self) -> usize {
        (self.t + 2 * self.pad - self.kernel) / self.stride + 1
    }
}

/// Temporal im2col with pad/index-select/stack (differentiable candle ops): (B, T, V, C) -> (B, T_out, V, kernel * C),
/// column `k * C + c`, zero padding. The reference the CPU temporal conv is tested against, and its path off the CPU.
pub fn temporal_im2col_reference(x: &Tensor, g: TemporalGeom) -> Result<Tensor> {
    let xp = x.pad_with_zeros(1, g.pad, g.pad)?;
    let to = g.t_out();
    let mut cols = Vec::with_capacity(g.kernel);
    for k in 0..g.kernel {
        let idx: Vec<u32> = (0..to).map(|t| (t * g.stride + k) as u32).collect();
        let idx = Tensor::new(idx.as_slice(), x.device())?;
        cols.push(xp.index_select(&idx, 1)?);
    }
    // (B, To, V, K, C) -> (B, To, V, K*C)
    Tensor::stack(&cols, 3)?.reshape((g.b, to, g.v, g.kernel * g.c))
}

struct TemporalConv {
    g: TemporalGeom,
    c_out: usize,
}

impl CustomOp3 for TemporalConv {
    fn name(&self) -> &'static str {
        "temporal-conv"
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
        let g = self.g;
        let x = f32_slice(s1, l1, "temporal-conv x")?;
        let w = f32_slice(s2, l2, "temporal-conv weight")?;
        let bias = f32_slice(s3, l3, "temporal-conv bias")?;
        let co = self.c_out;
        let (to, v, ci) = (g.t_out(), g.v, g.c);
        let wm = weight_matrix(w, co, ci, g.kernel);
        let taps = Tap::all(g);
        let (chunk, threads) = split(g.b);
        let mut out = vec![0f32; g.b * to * v * co];
        out.par_chunks_mut(to * v * co)
            .zip(x.par_chunks(g.t * v * ci))
            .with_min_len(chunk)
            .for_each(|(ob, xb)| {
                let ph = phases(xb, g);
                fill_rows(ob, bias, threads);
                for (k, tap) in taps.iter().enumerate() {
                    let m = tap.frames() * v;
                    if m == 0 {
                        continue;
                    }
                    gemm_rows(
                        (m, co, ci),
                        &mut ob[tap.lo * v * co..tap.hi * v * co],
                        true,
                        (&ph[tap.src * v * ci..], ci as isize, 1),
                        (&wm[k * ci * co..(k + 1) * ci * co], co as isize, 1),
                        threads,
                    );
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((g.b, to, v, co))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let op = TemporalConvBackward {
            g: self.g,
            c_out: self.c_out,
        };
        let packed = x.apply_op3_no_bwd(w, &grad.contiguous()?, &op)?;
        unpack_layer_grads(&packed, x, w, b)
    }
}

/// Gradients of [`TemporalConv`] packed in one vector: input (B*T*V*C_in), weight (C_out*C_in*K), bias (C_out).
struct TemporalConvBackward {
    g: TemporalGeom,
    c_out: usize,
}

impl CustomOp3 for TemporalConvBackward {
    fn name(&self) -> &'static str {
        "temporal-conv-backward"
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
        let g = self.g;
        let x = f32_slice(s1, l1, "temporal-conv-bwd x")?;
        let w = f32_slice(s2, l2, "temporal-conv-bwd weight")?;
        let gy = f32_slice(s3, l3, "temporal-conv-bwd grad")?;
        let co = self.c_out;
        let (to, v, ci) = (g.t_out(), g.v, g.c);
        let kc = g.kernel * ci;
        let wm = weight_matrix(w, co, ci, g.kernel);
        let taps = Tap::all(g);
        let (_, threads) = split(g.b);
        let mut dx = vec![0f32; g.b * g.t * v * ci];
        // Per sequence: dW_k += x_k^T gy and dx_k += gy W_k^T for each tap's shifted frames. dW is summed per part of
        // the batch (fixed by the batch size, see `SUM_PARTS`), and the parts' sums are added in order.
        let per = part_len(g.b);
        let parts = dx
            .par_chunks_mut(per * g.t * v * ci)
            .zip(x.par_chunks(per * g.t * v * ci))
            .zip(gy.par_chunks(per * to * v * co))
            .map(|((dxp, xp), gyp)| {
                let mut dw = vec![0f32; kc * co];
                for ((dxb, xb), gyb) in dxp
                    .chunks_mut(g.t * v * ci)
                    .zip(xp.chunks(g.t * v * ci))
                    .zip(gyp.chunks(to * v * co))
                {
                    let ph = phases(xb, g);
                    let mut dph = if g.stride == 1 {
                        Vec::new()
                    } else {
                        vec![0f32; dxb.len()]
                    };
                    let dst: &mut [f32] = if g.stride == 1 { dxb } else { &mut dph };
                    for (k, tap) in taps.iter().enumerate() {
                        let m = tap.frames() * v;
                        if m == 0 {
                            continue;
                        }
                        let gyk = &gyb[tap.lo * v * co..];
                        let wk = &wm[k * ci * co..(k + 1) * ci * co];
                        gemm_rows(
                            (ci, co, m),
                            &mut dw[k * ci * co..(k + 1) * ci * co],
                            true,
                            (&ph[tap.src * v * ci..], 1, ci as isize),
                            (gyk, co as isize, 1),
                            threads,
                        );
                        gemm_rows(
                            (m, ci, co),
                            &mut dst[tap.src * v * ci..(tap.src + tap.frames()) * v * ci],
                            true,
                            (gyk, co as isize, 1),
                            (wk, 1, co as isize),
                            threads,
                        );
                    }
                    if g.stride > 1 {
                        unphase(&dph, dxb, g);
                    }
                }
                dw
            })
            .collect();
        let dwm = sum_in_order(parts, kc * co);
        let mut out = dx;
        out.reserve(co * kc + co);
        // Back to the checkpoint layout (C_out, C_in, K, 1).
        let base = out.len();
        out.resize(base + co * kc, 0.0);
        weight_from_matrix(&dwm, co, ci, g.kernel, &mut out[base..]);
        out.extend_from_slice(&col_sums(gy, co));
        let n = out.len();
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }
}

/// Sequences per parallel chunk and gemm threads per product: a large batch is split over rayon's pool by
/// sequences (a few chunks per thread, for balance), a small one (the explorer scores one sequence) lets gemm
/// split each product instead.
fn split(b: usize) -> (usize, usize) {
    let threads = rayon::current_num_threads().max(1);
    if b >= 2 * threads {
        (b.div_ceil(2 * threads), 1)
    } else {
        (b.max(1), threads)
    }
}

/// One tap of the kernel: output frames `lo..hi` read the phase frames `src..src + hi - lo` (see [`phases`]).
///
/// Output frame `t` of tap `k` reads input frame `t * s + k - pad`, which is frame `t + e` of phase
/// `p = (k - pad) mod s`, with `e = (k - pad - p) / s`; frames outside the sequence are the zero padding and
/// contribute nothing, so they are left out of the product.
struct Tap {
    lo: usize,
    hi: usize,
    src: usize,
}

impl Tap {
    fn all(g: TemporalGeom) -> Vec<Tap> {
        let (s, to) = (g.stride as isize, g.t_out() as isize);
        (0..g.kernel)
            .map(|k| {
                let d = k as isize - g.pad as isize;
                let p = d.rem_euclid(s);
                let e = (d - p) / s;
                let n = phase_len(g, p as usize) as isize;
                let lo = (-e).clamp(0, to);
                let hi = (n - e).clamp(lo, to);
                Tap {
                    lo: lo as usize,
                    hi: hi as usize,
                    src: (phase_start(g, p as usize) as isize + lo + e) as usize,
                }
            })
            .collect()
    }

    fn frames(&self) -> usize {
        self.hi - self.lo
    }
}

/// Frames of phase `p` (input frames `p, p + s, ...`).
fn phase_len(g: TemporalGeom, p: usize) -> usize {
    g.t.saturating_sub(p).div_ceil(g.stride)
}

/// Where phase `p` starts, in frames, in the output of [`phases`].
fn phase_start(g: TemporalGeom, p: usize) -> usize {
    (0..p).map(|q| phase_len(g, q)).sum()
}

/// One sequence's frames (T, V, C) regrouped phase by phase (all frames `0 mod s`, then `1 mod s`, ...), so that each
/// tap of a strided conv reads consecutive rows. Stride 1 needs no copy.
fn phases(xb: &[f32], g: TemporalGeom) -> Cow<'_, [f32]> {
    if g.stride == 1 {
        return Cow::Borrowed(xb);
    }
    let f = g.v * g.c;
    let mut out = Vec::with_capacity(xb.len());
    for p in 0..g.stride.min(g.t) {
        for t in (p..g.t).step_by(g.stride) {
            out.extend_from_slice(&xb[t * f..(t + 1) * f]);
        }
    }
    Cow::Owned(out)
}

/// The inverse of [`phases`]: phase-grouped frames written back in time order.
fn unphase(ph: &[f32], xb: &mut [f32], g: TemporalGeom) {
    let f = g.v * g.c;
    let mut i = 0;
    for p in 0..g.stride.min(g.t) {
        for t in (p..g.t).step_by(g.stride) {
            xb[t * f..(t + 1) * f].copy_from_slice(&ph[i * f..(i + 1) * f]);
            i += 1;
        }
    }
}

/// The temporal convolution of `x` with `weight` and `bias` as PyTorch's `Conv2d((K, 1), stride (s, 1), padding
/// (K/2, 0))` computes it on (N, C, T, V) data.
///
/// # Shapes
/// `x`: (B, T, V, C_in), `weight`: (C_out, C_in, K, 1), `bias`: (C_out) -> (B, T_out, V, C_out)
pub fn temporal_conv(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    g: TemporalGeom,
) -> Result<Tensor> {
    let (c_out, c_in, kernel, one) = weight.dims4()?;
    if x.dims() != [g.b, g.t, g.v, g.c] || c_in != g.c || kernel != g.kernel || one != 1 {
        bail!(
            "temporal_conv: input {:?} and weight {:?} do not match {g:?}",
            x.dims(),
            weight.dims()
        );
    }
    if bias.dims() != [c_out] {
        bail!("temporal_conv: bias {:?} for {c_out} channels", bias.dims());
    }
    if !is_cpu(x) {
        return temporal_conv_reference(x, weight, bias, g);
    }
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        TemporalConv { g, c_out },
    )
}

/// The same with differentiable candle ops (im2col by index selection, matmul, broadcast add).
pub fn temporal_conv_reference(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    g: TemporalGeom,
) -> Result<Tensor> {
    let (c_out, c_in, kernel, _) = weight.dims4()?;
    let to = g.t_out();
    let cols = temporal_im2col_reference(x, g)?.reshape((g.b * to * g.v, kernel * c_in))?;
    let w = weight
        .reshape((c_out, c_in, kernel))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((c_out, kernel * c_in))?;
    cols.matmul(&w.t()?)?
        .broadcast_add(bias)?
        .reshape((g.b, to, g.v, c_out))
}
