//! ST-GCN's spatial graph convolution, the 1x1 convolution to K*C channels and the sum over the K partitions'
//! neighbours, as one CPU op with an analytic backward.
//!
//! Done as two graph ops, the (rows x K*C) convolution output, K times the block's width and its largest activation,
//! was written to memory, read back by the aggregation, kept for the backward pass and given a gradient buffer that
//! candle allocated, zero-filled and summed. Here it lives only in a cache-sized scratch block of frames: the forward
//! pass convolves a block and aggregates it at once, and the backward pass recomputes the block (a small product)
//! rather than storing it.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

use super::gemm::{gemm_rows, linear_rows, unpack_layer_grads};
use super::ops::{add_assign, f32_slice, is_cpu, part_len, summed};

/// The nonzero pattern of the partitioned adjacency (fixed by the graph; edge importance only rescales entries).
#[derive(Clone, Debug)]
pub struct GraphPattern {
    pub k: usize,
    pub v: usize,
    /// (k, v, w) with `a[k, v, w] != 0`, sorted by w.
    pub entries: Vec<(usize, usize, usize)>,
}

impl GraphPattern {
    /// Pattern of a (K, V, V) row-major adjacency.
    pub fn from_dense(a: &[f32], k: usize, v: usize) -> Self {
        let mut entries = Vec::new();
        for w in 0..v {
            for kk in 0..k {
                for vv in 0..v {
                    if a[(kk * v + vv) * v + w] != 0.0 {
                        entries.push((kk, vv, w));
                    }
                }
            }
        }
        Self { k, v, entries }
    }
}

/// Graph aggregation `out[n, w, c] = sum_{k,v} a[k, v, w] y[n, v, k, c]` with `y` (N, V, K, C) and `a` (K, V, V), as
/// one broadcast matmul (N, W, V*K) x (N, V*K, C) with plain candle ops. The CPU path fuses it with the convolution
/// before it (see `spatial_conv`).
pub fn graph_aggregate_reference(y: &Tensor, a: &Tensor) -> Result<Tensor> {
    let (n, v, k, c) = y.dims4()?;
    // ar[w, v*K + k] = a[k, v, w]
    let ar = a.permute((2, 1, 0))?.contiguous()?.reshape((1, v, v * k))?;
    let ar = ar.broadcast_as((n, v, v * k))?;
    ar.matmul(&y.reshape((n, v * k, c))?)
}

/// Floats of convolution output a block of frames may hold (1 MiB: stays in L2 while it is aggregated).
const BLOCK_FLOATS: usize = 1 << 18;

/// Sizes of one spatial convolution.
#[derive(Clone, Copy, Debug)]
struct Dims {
    frames: usize,
    v: usize,
    c_in: usize,
    k: usize,
    c: usize,
}

impl Dims {
    fn kc(&self) -> usize {
        self.k * self.c
    }

    /// Frames per block: a cache-sized product of at least a few hundred rows, and at least
    /// [`super::ops::SUM_PARTS`] blocks. Set by the sizes alone, not the thread count, since the backward pass sums
    /// the weight gradient per block.
    fn block_frames(&self) -> usize {
        let fit = (BLOCK_FLOATS / (self.v * self.kc()).max(1)).max(8);
        fit.min(part_len(self.frames))
    }
}

struct SpatialConv {
    pattern: GraphPattern,
    d: Dims,
}

/// The convolution of one block of frames: `x` (rows x C_in) times W^T plus the bias, into `y` (rows x K*C).
fn convolve(x: &[f32], wb: &[f32], d: Dims, y: &mut Vec<f32>) {
    let (ci, kc) = (d.c_in, d.kc());
    let (w, b) = wb.split_at(kc * ci);
    y.resize(x.len() / ci * kc, 0.0);
    linear_rows(x, w, b, y, 1);
}

impl CustomOp3 for SpatialConv {
    fn name(&self) -> &'static str {
        "spatial-graph-conv"
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
        let x = f32_slice(s1, l1, "spatial-conv x")?;
        let wb = f32_slice(s2, l2, "spatial-conv weight")?;
        let a = f32_slice(s3, l3, "spatial-conv adjacency")?;
        let d = self.d;
        let (v, c, kc, bf) = (d.v, d.c, d.kc(), d.block_frames());
        let mut out = vec![0f32; d.frames * v * c];
        out.par_chunks_mut(bf * v * c)
            .zip(x.par_chunks(bf * v * d.c_in))
            .for_each_init(Vec::new, |y, (ob, xb)| {
                convolve(xb, wb, d, y);
                for (o, yf) in ob.chunks_exact_mut(v * c).zip(y.chunks_exact(v * kc)) {
                    for &(kk, vv, w) in &self.pattern.entries {
                        let coef = a[(kk * v + vv) * v + w];
                        let src = &yf[vv * kc + kk * c..vv * kc + (kk + 1) * c];
                        for (o, s) in o[w * c..(w + 1) * c].iter_mut().zip(src) {
                            *o += coef * s;
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((d.frames, v, c))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        wb: &Tensor,
        a: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let op = SpatialConvBackward {
            pattern: self.pattern.clone(),
            d: self.d,
            a: a.flatten_all()?.to_vec1()?,
        };
        let packed = x.apply_op3_no_bwd(wb, &grad.contiguous()?, &op)?;
        unpack_layer_grads(&packed, x, wb, a)
    }
}

/// Gradients of [`SpatialConv`] packed in one vector: input (frames*V*C_in), packed weight and bias
/// (K*C*C_in + K*C), adjacency (K*V*V, nonzero only on the pattern).
struct SpatialConvBackward {
    pattern: GraphPattern,
    d: Dims,
    a: Vec<f32>,
}

/// Per-thread sums of the parameter gradients: weight (K*C x C_in) and bias (K*C) packed, and one per pattern entry.
struct ParamGrads {
    wb: Vec<f32>,
    edges: Vec<f32>,
}

impl CustomOp3 for SpatialConvBackward {
    fn name(&self) -> &'static str {
        "spatial-graph-conv-backward"
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
        let x = f32_slice(s1, l1, "spatial-conv-bwd x")?;
        let wb = f32_slice(s2, l2, "spatial-conv-bwd weight")?;
        let g = f32_slice(s3, l3, "spatial-conv-bwd grad")?;
        let d = self.d;
        let (v, c, ci, kc, bf) = (d.v, d.c, d.c_in, d.kc(), d.block_frames());
        let (a, entries) = (&self.a, &self.pattern.entries);
        let w = &wb[..kc * ci];
        let zero = || ParamGrads {
            wb: vec![0f32; wb.len()],
            edges: vec![0f32; entries.len()],
        };
        let mut dx = vec![0f32; x.len()];
        // The parameter gradients are summed per part of the blocks (fixed by the sizes, see `SUM_PARTS`), block by
        // block, and the parts' sums added in order: the same bits on every run.
        let per = part_len(d.frames.div_ceil(bf)) * bf;
        let parts: Vec<ParamGrads> = dx
            .par_chunks_mut(per * v * ci)
            .zip(x.par_chunks(per * v * ci))
            .zip(g.par_chunks(per * v * c))
            .map(|((dxp, xp), gp)| {
                let (mut acc, mut y, mut gy) = (zero(), Vec::new(), Vec::new());
                for ((dxb, xb), gb) in dxp
                    .chunks_mut(bf * v * ci)
                    .zip(xp.chunks(bf * v * ci))
                    .zip(gp.chunks(bf * v * c))
                {
                    convolve(xb, wb, d, &mut y);
                    gy.clear();
                    gy.resize(y.len(), 0.0);
                    // Through the aggregation: edge gradients (dot products) and the convolution output's gradient.
                    for ((gf, yf), gyf) in gb
                        .chunks_exact(v * c)
                        .zip(y.chunks_exact(v * kc))
                        .zip(gy.chunks_exact_mut(v * kc))
                    {
                        for (e, &(kk, vv, w)) in entries.iter().enumerate() {
                            let coef = a[(kk * v + vv) * v + w];
                            let go = &gf[w * c..(w + 1) * c];
                            let at = vv * kc + kk * c;
                            let yo = &yf[at..at + c];
                            acc.edges[e] += go.iter().zip(yo).map(|(p, q)| p * q).sum::<f32>();
                            for (t, s) in gyf[at..at + c].iter_mut().zip(go) {
                                *t += coef * s;
                            }
                        }
                    }
                    let rows = xb.len() / ci;
                    // dx = gy (rows x K*C) W (K*C x C_in); dW += gy^T x; db += column sums of gy.
                    gemm_rows(
                        (rows, ci, kc),
                        dxb,
                        false,
                        (&gy, kc as isize, 1),
                        (w, ci as isize, 1),
                        1,
                    );
                    let (dw, db) = acc.wb.split_at_mut(kc * ci);
                    gemm_rows(
                        (kc, ci, rows),
                        dw,
                        true,
                        (&gy, 1, kc as isize),
                        (xb, ci as isize, 1),
                        1,
                    );
                    gy.chunks_exact(kc).for_each(|row| add_assign(db, row));
                }
                acc
            })
            .collect();
        let sums = parts
            .into_iter()
            .reduce(|p, q| ParamGrads {
                wb: summed(p.wb, q.wb),
                edges: summed(p.edges, q.edges),
            })
            .unwrap_or_else(zero);
        let mut out = dx;
        out.extend_from_slice(&sums.wb);
        let base = out.len();
        out.resize(base + a.len(), 0.0);
        for (e, &(kk, vv, w)) in entries.iter().enumerate() {
            out[base + (kk * v + vv) * v + w] = sums.edges[e];
        }
        let n = out.len();
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }
}

/// The spatial graph convolution of ST-GCN: `out[f, w, c] = sum_{k, v} a[k, v, w] * (x[f, v] W^T + b)[k * C + c]`,
/// with `weight` the 1x1 convolution (K*C, C_in, 1, 1) and `bias` (K*C).
///
/// The gradient for `a` is computed on `pattern`'s entries only (zero elsewhere): exact for the product
/// `A * edge_importance` with a constant `A`, which is how the network uses it.
///
/// # Shapes
/// `x`: (F, V, C_in), `a`: (K, V, V) -> (F, V, C)
pub fn spatial_conv(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    a: &Tensor,
    pattern: &GraphPattern,
) -> Result<Tensor> {
    let (frames, v, c_in) = x.dims3()?;
    let (kc, wc_in, kh, kw) = weight.dims4()?;
    let k = pattern.k;
    if wc_in != c_in
        || (kh, kw) != (1, 1)
        || bias.dims() != [kc]
        || a.dims() != [k, v, v]
        || pattern.v != v
        || k == 0
        || !kc.is_multiple_of(k)
    {
        bail!(
            "spatial_conv: input {:?}, weight {:?}, bias {:?} and adjacency {:?} do not fit",
            x.dims(),
            weight.dims(),
            bias.dims(),
            a.dims()
        );
    }
    if !is_cpu(x) {
        return spatial_conv_reference(x, weight, bias, a);
    }
    let d = Dims {
        frames,
        v,
        c_in,
        k,
        c: kc / k,
    };
    // Weight and bias travel as one tensor: a custom op takes three inputs.
    let wb = Tensor::cat(&[weight.flatten_all()?, bias.clone()], 0)?;
    x.contiguous()?.apply_op3(
        &wb,
        &a.contiguous()?,
        SpatialConv {
            pattern: pattern.clone(),
            d,
        },
    )
}

/// The same with candle's matmul, broadcast add and the dense aggregation.
pub fn spatial_conv_reference(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    a: &Tensor,
) -> Result<Tensor> {
    let (frames, v, c_in) = x.dims3()?;
    let (kc, _, _, _) = weight.dims4()?;
    let k = a.dim(0)?;
    let y = x
        .reshape((frames * v, c_in))?
        .matmul(&weight.reshape((kc, c_in))?.t()?)?
        .broadcast_add(bias)?;
    graph_aggregate_reference(&y.reshape((frames, v, k, kc / k))?, a)
}
