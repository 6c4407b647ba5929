//! The two shift operations of Shift-GCN as candle custom ops with analytic backward.
//!
//! * Spatial shift: a fixed permutation of the (joint, channel) features of each row, optionally followed by a
//!   learned per-feature scale (Shift-GCN's `Feature_Mask`). Its backward is the inverse permutation, so no scatter.
//! * Temporal shift: Shift-GCN's adaptive shift (`model/Temporal_shift`): each channel is resampled along time at
//!   `t * stride + y_c` with linear interpolation (`y_c + 0.5` when the stride is 2).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

use super::ops::{part_len, sum_in_order};

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{what}: expected f32 storage")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{what}: expected a contiguous tensor"),
    }
}

/// Shift-GCN's spatial shift indices for `c` channels over `v` joints: `out[i*c + j] = in[index[i*c + j]]`.
/// `shift_in` (before the linear map) moves channel `j` of joint `(i + j) mod v` to joint `i`; `shift_out` the
/// opposite way.
pub fn spatial_shift_index(v: usize, c: usize, inward: bool) -> Vec<u32> {
    let n = v * c;
    let mut idx = vec![0u32; n];
    for i in 0..v {
        for j in 0..c {
            let src = if inward {
                (i * c + j + j * c) % n
            } else {
                (i * c + j + n * c - j * c) % n
            };
            idx[i * c + j] = src as u32;
        }
    }
    idx
}

struct ShiftScale {
    index: Vec<u32>,
    inverse: Vec<u32>,
}

impl CustomOp2 for ShiftScale {
    fn name(&self) -> &'static str {
        "spatial-shift"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "shift x")?;
        let s = f32_slice(s2, l2, "shift scale")?;
        let f = self.index.len();
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(f * 16)
            .zip(x.par_chunks(f * 16))
            .for_each(|(o, xi)| {
                for (orow, xrow) in o.chunks_exact_mut(f).zip(xi.chunks_exact(f)) {
                    for p in 0..f {
                        orow[p] = xrow[self.index[p] as usize] * s[p];
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
    fn bwd(
        &self,
        x: &Tensor,
        s: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let packed = grad.contiguous()?.apply_op2_no_bwd(
            &Tensor::cat(&[x.flatten_all()?, s.flatten_all()?], 0)?,
            &ShiftScaleBackward {
                index: self.index.clone(),
                inverse: self.inverse.clone(),
            },
        )?;
        let n = x.elem_count();
        let dx = packed.narrow(0, 0, n)?.reshape(x.shape())?;
        let ds = packed.narrow(0, n, s.elem_count())?.reshape(s.shape())?;
        Ok((Some(dx), Some(ds)))
    }
}

/// Input 2 is `x` and the scale concatenated (flat); output is `dx` and `ds` concatenated (flat).
struct ShiftScaleBackward {
    index: Vec<u32>,
    inverse: Vec<u32>,
}

impl CustomOp2 for ShiftScaleBackward {
    fn name(&self) -> &'static str {
        "spatial-shift-backward"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "shift grad")?;
        let xs = f32_slice(s2, l2, "shift x")?;
        let f = self.index.len();
        let (x, s) = xs.split_at(g.len());
        let mut out = vec![0f32; g.len() + f];
        let (dx, _) = out.split_at_mut(g.len());
        dx.par_chunks_mut(f * 16)
            .zip(g.par_chunks(f * 16))
            .for_each(|(d, gi)| {
                for (drow, grow) in d.chunks_exact_mut(f).zip(gi.chunks_exact(f)) {
                    // dx[idx[p]] = g[p] * s[p]  <=>  dx[q] = g[inv[q]] * s[inv[q]]
                    for (d, &p) in drow.iter_mut().zip(&self.inverse) {
                        *d = grow[p as usize] * s[p as usize];
                    }
                }
            });
        let parts = g
            .par_chunks(f * 64)
            .zip(x.par_chunks(f * 64))
            .map(|(gi, xi)| {
                let mut acc = vec![0f32; f];
                for (grow, xrow) in gi.chunks_exact(f).zip(xi.chunks_exact(f)) {
                    for p in 0..f {
                        acc[p] += grow[p] * xrow[self.index[p] as usize];
                    }
                }
                acc
            })
            .collect();
        // Added in chunk order, not rayon's (see `SUM_PARTS`).
        let ds = sum_in_order(parts, f);
        out[g.len()..].copy_from_slice(&ds);
        Ok((CpuStorage::F32(out), Shape::from(g.len() + f)))
    }
}

/// `out[r, p] = x[r, index[p]] * scale[p]` for `x` (R, F) and a permutation `index` of 0..F.
pub fn spatial_shift(x: &Tensor, index: &[u32], scale: &Tensor) -> Result<Tensor> {
    let f = index.len();
    if x.dims().last() != Some(&f) || scale.elem_count() != f {
        bail!(
            "spatial_shift: x {:?}, scale {:?}, index {f}",
            x.dims(),
            scale.dims()
        );
    }
    let mut inverse = vec![u32::MAX; f];
    for (p, &q) in index.iter().enumerate() {
        match inverse.get_mut(q as usize) {
            Some(slot) if *slot == u32::MAX => *slot = p as u32,
            _ => bail!("spatial_shift: index is not a permutation (entry {p} = {q})"),
        }
    }
    if !super::ops::is_cpu(x) {
        return spatial_shift_reference(x, index, scale);
    }
    x.contiguous()?
        .apply_op2(
            &scale.contiguous()?.flatten_all()?,
            ShiftScale {
                index: index.to_vec(),
                inverse,
            },
        )?
        .reshape(x.shape())
}

/// The same with `index_select` and a broadcast multiply.
pub fn spatial_shift_reference(x: &Tensor, index: &[u32], scale: &Tensor) -> Result<Tensor> {
    let f = index.len();
    let rows = x.elem_count() / f;
    let idx = Tensor::new(index, x.device())?;
    x.reshape((rows, f))?
        .index_select(&idx, 1)?
        .broadcast_mul(&scale.reshape((1, f))?)?
        .reshape(x.shape())
}

// ---------------------------------------------------------------------------------------------------------------

/// Geometry of a temporal shift over channels-last (B, T, V, C).
#[derive(Clone, Copy, Debug)]
pub struct ShiftGeom {
    pub b: usize,
    pub t: usize,
    pub v: usize,
    pub c: usize,
    pub stride: usize,
}

impl ShiftGeom {
    /// The reference's output length: `T / stride` (floor).
    pub fn t_out(&self) -> usize {
        self.t / self.stride
    }
}

/// Per-channel integer part and fraction of the effective position.
fn positions(y: &[f32], stride: usize) -> Vec<(isize, f32)> {
    y.iter()
        .map(|&p| {
            let p = if stride == 1 { p } else { p + 0.5 };
            let f = p.floor();
            (f as isize, p - f)
        })
        .collect()
}

struct TemporalShift(ShiftGeom);

impl CustomOp2 for TemporalShift {
    fn name(&self) -> &'static str {
        "temporal-shift"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.0;
        let x = f32_slice(s1, l1, "tshift x")?;
        let pos = positions(f32_slice(s2, l2, "tshift ypos")?, g.stride);
        let to = g.t_out();
        let vc = g.v * g.c;
        let mut out = vec![0f32; g.b * to * vc];
        out.par_chunks_mut(vc).enumerate().for_each(|(bt, o)| {
            let (b, t) = (bt / to, bt % to);
            let xb = &x[b * g.t * vc..(b + 1) * g.t * vc];
            for (ch, &(y1, dy)) in pos.iter().enumerate() {
                let h1 = (t * g.stride) as isize + y1;
                let q1 = if h1 >= 0 && (h1 as usize) < g.t {
                    Some(h1 as usize)
                } else {
                    None
                };
                let q2 = if h1 + 1 >= 0 && ((h1 + 1) as usize) < g.t {
                    Some((h1 + 1) as usize)
                } else {
                    None
                };
                for vv in 0..g.v {
                    let a = q1.map_or(0.0, |h| xb[h * vc + vv * g.c + ch]);
                    let b2 = q2.map_or(0.0, |h| xb[h * vc + vv * g.c + ch]);
                    o[vv * g.c + ch] = (1.0 - dy) * a + dy * b2;
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((g.b, to, g.v, g.c))))
    }
    fn bwd(
        &self,
        x: &Tensor,
        y: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = self.0;
        let grad = grad.contiguous()?;
        let dx = grad.apply_op2_no_bwd(y, &TemporalShiftBackX(g))?;
        let dy = grad.apply_op2_no_bwd(
            &Tensor::cat(&[x.flatten_all()?, y.flatten_all()?], 0)?,
            &TemporalShiftBackPos(g),
        )?;
        Ok((Some(dx), Some(dy)))
    }
}

struct TemporalShiftBackX(ShiftGeom);

impl CustomOp2 for TemporalShiftBackX {
    fn name(&self) -> &'static str {
        "temporal-shift-back-x"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.0;
        let gr = f32_slice(s1, l1, "tshift grad")?;
        let pos = positions(f32_slice(s2, l2, "tshift ypos")?, g.stride);
        let to = g.t_out();
        let vc = g.v * g.c;
        let mut out = vec![0f32; g.b * g.t * vc];
        // Exact adjoint: input frame h received weight (1 - dy) from output t with t*s + y1 = h and dy from
        // output t with t*s + y1 + 1 = h.
        out.par_chunks_mut(vc).enumerate().for_each(|(bh, o)| {
            let (b, h) = (bh / g.t, bh % g.t);
            let gb = &gr[b * to * vc..(b + 1) * to * vc];
            for (ch, &(y1, dy)) in pos.iter().enumerate() {
                for (off, w) in [(0isize, 1.0 - dy), (1, dy)] {
                    let num = h as isize - y1 - off;
                    if num < 0 || !(num as usize).is_multiple_of(g.stride) {
                        continue;
                    }
                    let t = num as usize / g.stride;
                    if t >= to {
                        continue;
                    }
                    for vv in 0..g.v {
                        o[vv * g.c + ch] += w * gb[t * vc + vv * g.c + ch];
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((g.b, g.t, g.v, g.c))))
    }
}

/// Shift-GCN's constrained position gradient: the sign of the true gradient times 0.01 (0.0001 when it is 0).
struct TemporalShiftBackPos(ShiftGeom);

impl CustomOp2 for TemporalShiftBackPos {
    fn name(&self) -> &'static str {
        "temporal-shift-back-pos"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.0;
        let gr = f32_slice(s1, l1, "tshift grad")?;
        let xy = f32_slice(s2, l2, "tshift x")?;
        let (x, y) = xy.split_at(g.b * g.t * g.v * g.c);
        let pos = positions(y, g.stride);
        let to = g.t_out();
        let vc = g.v * g.c;
        // One partial per fixed range of output frames, added in range order (see `SUM_PARTS`).
        let n = g.b * to;
        let per = part_len(n);
        let parts = (0..n.div_ceil(per))
            .into_par_iter()
            .map(|part| {
                let mut acc = vec![0f32; g.c];
                for bt in part * per..((part + 1) * per).min(n) {
                    let (b, t) = (bt / to, bt % to);
                    let xb = &x[b * g.t * vc..(b + 1) * g.t * vc];
                    for (ch, &(y1, _)) in pos.iter().enumerate() {
                        let h1 = (t * g.stride) as isize + y1;
                        for vv in 0..g.v {
                            let at = |h: isize| {
                                if h >= 0 && (h as usize) < g.t {
                                    xb[h as usize * vc + vv * g.c + ch]
                                } else {
                                    0.0
                                }
                            };
                            acc[ch] += (at(h1 + 1) - at(h1)) * gr[bt * vc + vv * g.c + ch];
                        }
                    }
                }
                acc
            })
            .collect();
        let sums = sum_in_order(parts, g.c);
        let out: Vec<f32> = sums
            .iter()
            .map(|&s| if s == 0.0 { 1e-4 } else { 0.01 * s.signum() })
            .collect();
        Ok((CpuStorage::F32(out), Shape::from(g.c)))
    }
}

/// Temporal shift of (B, T, V, C) by per-channel positions `ypos` (C) -> (B, T / stride, V, C). Differentiable in
/// both; the gradient of `ypos` is Shift-GCN's constrained one (see [`TemporalShiftBackPos`]). Other devices take
/// [`temporal_shift_reference`], whose `ypos` gradient is the true one (inference does not need it).
pub fn temporal_shift(x: &Tensor, ypos: &Tensor, stride: usize) -> Result<Tensor> {
    let (b, t, v, c) = x.dims4()?;
    if ypos.elem_count() != c || stride == 0 {
        bail!(
            "temporal_shift: x {:?}, ypos {:?}, stride {stride}",
            x.dims(),
            ypos.dims()
        );
    }
    if !super::ops::is_cpu(x) {
        return temporal_shift_reference(x, ypos, stride);
    }
    x.contiguous()?.apply_op2(
        &ypos.contiguous()?,
        TemporalShift(ShiftGeom { b, t, v, c, stride }),
    )
}

/// [`temporal_shift`] with plain candle ops (gather along time), differentiable in `x` and `ypos`.
///
/// # Shapes
/// `x`: (B, T, V, C), `ypos`: (C) -> (B, T / stride, V, C)
pub fn temporal_shift_reference(x: &Tensor, ypos: &Tensor, stride: usize) -> Result<Tensor> {
    let (b, t, v, c) = x.dims4()?;
    let to = t / stride;
    let p = if stride == 1 {
        ypos.clone()
    } else {
        (ypos + 0.5)?
    };
    // The integer part picks the two frames (a constant of the graph); the fraction carries the gradient.
    let floor = p.detach().floor()?;
    let frac = (&p - &floor)?.reshape((1, 1, 1, c))?;
    let lo: Vec<i64> = floor.to_vec1::<f32>()?.iter().map(|&f| f as i64).collect();
    let first = lo.iter().copied().min().unwrap_or(0);
    let last = lo.iter().copied().max().unwrap_or(0) + ((to.max(1) - 1) * stride) as i64 + 1;
    // Zero padding so every index is inside; out-of-range frames read zeros as in the kernel.
    let pad_l = (-first).max(0) as usize;
    let pad_r = (last - (t as i64 - 1)).max(0) as usize;
    let xp = x.pad_with_zeros(1, pad_l, pad_r)?;
    let index = |off: i64| -> Result<Tensor> {
        let mut idx = Vec::with_capacity(to * c);
        for tt in 0..to {
            for &l in &lo {
                idx.push((tt as i64 * stride as i64 + l + off + pad_l as i64) as u32);
            }
        }
        Tensor::from_vec(idx, (1, to, 1, c), x.device())?
            .broadcast_as((b, to, v, c))?
            .contiguous()
    };
    let a = xp.gather(&index(0)?, 1)?;
    let a2 = xp.gather(&index(1)?, 1)?;
    let one_minus = frac.affine(-1.0, 1.0)?;
    a.broadcast_mul(&one_minus)?.add(&a2.broadcast_mul(&frac)?)
}
