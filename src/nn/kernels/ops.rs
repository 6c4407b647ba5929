//! The generic ops (bias add, matrix product with a constant input, row broadcast, softmax, ReLU) and the helpers
//! every kernel of this folder shares (storage access, the portable-ops switch, parallel sums).
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// Rows handled per rayon task: large enough that task overhead is negligible.
pub(super) const ROW_CHUNK: usize = 256;

pub(crate) fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("{what}: expected f32 storage")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("{what}: expected a contiguous tensor"),
    }
}

thread_local! {
    static PORTABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the plain-candle implementations of the kernels of this folder (see [`super`]) on this
/// thread, as a GPU would run them: lets CPU tests and benches check the path other devices take.
pub fn with_portable_ops<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            PORTABLE.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PORTABLE.with(|p| p.replace(true)));
    f()
}

/// Whether `t` takes the hand-written CPU kernel (else the plain-candle implementation).
pub(crate) fn is_cpu(t: &Tensor) -> bool {
    t.device().is_cpu() && !PORTABLE.with(|p| p.get())
}

/// `a += b`, element-wise.
pub(crate) fn add_assign(a: &mut [f32], b: &[f32]) {
    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
}

/// The element-wise sum of two partial sums.
pub(crate) fn summed(mut a: Vec<f32>, b: Vec<f32>) -> Vec<f32> {
    add_assign(&mut a, &b);
    a
}

/// How many parts the parallel sums over a batch (weight gradients) are cut into, whatever the thread count.
///
/// rayon's `reduce` and `fold` combine partial sums in an order set by work stealing, so float results changed from
/// run to run. Every parallel sum here instead computes one partial per part, where the parts are fixed by the data's
/// size alone, and adds the partials in part order ([`sum_in_order`]): the same inputs give the same bits on every
/// run and with any number of threads.
pub(crate) const SUM_PARTS: usize = 8;

/// Items per part when `n` items are cut into (at most) [`SUM_PARTS`] parts.
pub(crate) fn part_len(n: usize) -> usize {
    n.div_ceil(SUM_PARTS).max(1)
}

/// The element-wise sum of `parts` (each `len` long), added in their order: the fixed-order `reduce` step of the
/// parallel accumulations here (see [`SUM_PARTS`]).
pub(crate) fn sum_in_order(parts: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    parts
        .into_iter()
        .reduce(summed)
        .unwrap_or_else(|| vec![0f32; len])
}

/// Column sums of a (rows x c) slice, in parallel over chunks of [`ROW_CHUNK`] rows, added in chunk order.
pub(crate) fn col_sums(x: &[f32], c: usize) -> Vec<f32> {
    let parts = x
        .par_chunks(ROW_CHUNK * c)
        .map(|ch| {
            let mut s = vec![0f32; c];
            ch.chunks_exact(c).for_each(|row| add_assign(&mut s, row));
            s
        })
        .collect();
    sum_in_order(parts, c)
}

// ---------------------------------------------------------------------------------------------------------------
// Bias add over rows.

struct AddBias;

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias-rows"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "add_bias x")?;
        let b = f32_slice(s2, l2, "add_bias b")?;
        let c = b.len();
        let mut out = x.to_vec();
        out.par_chunks_mut(ROW_CHUNK * c).for_each(|ch| {
            for row in ch.chunks_exact_mut(c) {
                for (o, bb) in row.iter_mut().zip(b) {
                    *o += bb;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
    fn bwd(
        &self,
        _x: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let gb = grad.apply_op1_no_bwd(&ColSums)?.reshape(b.shape())?;
        Ok((Some(grad.clone()), Some(gb)))
    }
}

struct ColSums;

impl CustomOp1 for ColSums {
    fn name(&self) -> &'static str {
        "col-sums"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "col_sums")?;
        let c = l.dims().last().copied().unwrap_or(1).max(1);
        Ok((CpuStorage::F32(col_sums(x, c)), Shape::from(c)))
    }
}

/// `x + b` with `x` of shape (..., C) and `b` of shape (C).
pub fn add_bias(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !is_cpu(x) {
        return x.broadcast_add(b);
    }
    x.contiguous()?.apply_op2(&b.contiguous()?, AddBias)
}

// ---------------------------------------------------------------------------------------------------------------
// Matrix product with a constant left operand.

/// Attaches the weight gradient of `x W^T` to its (already computed) value; `x` is a constant.
struct ConstInputMatmul {
    x: Tensor,
}

impl CustomOp2 for ConstInputMatmul {
    fn name(&self) -> &'static str {
        "const-input-matmul"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = f32_slice(s1, l1, "const_input_matmul")?;
        Ok((CpuStorage::F32(y.to_vec()), l1.shape().clone()))
    }
    fn bwd(
        &self,
        _y: &Tensor,
        _w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // (R, O)^T x (R, K) -> (O, K)
        Ok((None, Some(grad.t()?.matmul(&self.x)?)))
    }
}

/// `x W^T` for a constant `x (R, K)` (frozen features) and a trainable `w (O, K)`: `(R, O)`. candle's matmul
/// backward also computes the gradient of `x` (an `R x O x K` product and an `R x K` buffer) even when nothing
/// needs it; this one computes the weight gradient only. Gradients never reach `x`.
pub fn matmul_const_input(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let x = x.detach().contiguous()?;
    if !is_cpu(&x) {
        return x.matmul(&w.t()?);
    }
    let y = x.matmul(&w.detach().t()?)?;
    y.apply_op2_arc(w, std::sync::Arc::new(Box::new(ConstInputMatmul { x })))
}

// ---------------------------------------------------------------------------------------------------------------
// Broadcast over a new leading dimension.

struct RepeatRows(usize);

impl CustomOp1 for RepeatRows {
    fn name(&self) -> &'static str {
        "repeat-rows"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "repeat_rows")?;
        let mut out = Vec::with_capacity(self.0 * x.len());
        for _ in 0..self.0 {
            out.extend_from_slice(x);
        }
        let mut dims = vec![self.0];
        dims.extend_from_slice(l.dims());
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let g = grad
            .contiguous()?
            .reshape((self.0, x.elem_count()))?
            .apply_op1_no_bwd(&ColSums)?;
        Ok(Some(g.reshape(x.shape())?))
    }
}

/// `x` repeated `n` times along a new leading dimension: (...) -> (n, ...), contiguous. The same as
/// `x.unsqueeze(0)?.broadcast_as(..)?.contiguous()`, but the backward pass sums the `n` gradient rows with a
/// contiguous column sum instead of candle's generic reduction over a leading dimension (one integer division
/// per element).
pub fn repeat_rows(x: &Tensor, n: usize) -> Result<Tensor> {
    if !is_cpu(x) || n == 0 {
        let mut dims = vec![n];
        dims.extend_from_slice(x.dims());
        return x.unsqueeze(0)?.broadcast_as(dims)?.contiguous();
    }
    x.contiguous()?.apply_op1(RepeatRows(n))
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax over the last dimension, with a backward pass (`candle_nn::ops::softmax_last_dim` has none: gradients
// stop at it).

struct SoftmaxLast;

impl CustomOp1 for SoftmaxLast {
    fn name(&self) -> &'static str {
        "softmax-last"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "softmax")?;
        let c = l.dims().last().copied().unwrap_or(1).max(1);
        let mut out = x.to_vec();
        out.par_chunks_mut(ROW_CHUNK * c).for_each(|ch| {
            for row in ch.chunks_exact_mut(c) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for v in row.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                let inv = 1.0 / sum;
                row.iter_mut().for_each(|v| *v *= inv);
            }
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            grad.contiguous()?
                .apply_op2_no_bwd(&res.contiguous()?, &SoftmaxBackward)?,
        ))
    }
}

/// `dx = y * (g - sum(g * y))` per row, from the gradient `g` and the softmax output `y`.
struct SoftmaxBackward;

impl CustomOp2 for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "softmax-last-backward"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "softmax grad")?;
        let y = f32_slice(s2, l2, "softmax out")?;
        let c = l1.dims().last().copied().unwrap_or(1).max(1);
        let mut out = g.to_vec();
        out.par_chunks_mut(ROW_CHUNK * c)
            .zip(y.par_chunks(ROW_CHUNK * c))
            .for_each(|(o, y)| {
                for (o, y) in o.chunks_exact_mut(c).zip(y.chunks_exact(c)) {
                    let dot: f32 = o.iter().zip(y).map(|(a, b)| a * b).sum();
                    o.iter_mut().zip(y).for_each(|(o, y)| *o = y * (*o - dot));
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Softmax over the last dimension, differentiable (entries at `-inf` get probability and gradient 0).
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if !is_cpu(x) {
        return candle_nn::ops::softmax(x, candle_core::D::Minus1);
    }
    x.contiguous()?.apply_op1(SoftmaxLast)
}

// ---------------------------------------------------------------------------------------------------------------
// ReLU with a cheap mask backward.

struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu-cl"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, "relu")?;
        let mut out = x.to_vec();
        out.par_chunks_mut(1 << 16)
            .for_each(|ch| ch.iter_mut().for_each(|v| *v = v.max(0.0)));
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
    fn bwd(&self, _x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            grad.contiguous()?.apply_op2_no_bwd(res, &MaskPositive)?,
        ))
    }
}

struct MaskPositive;

impl CustomOp2 for MaskPositive {
    fn name(&self) -> &'static str {
        "mask-positive"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = f32_slice(s1, l1, "relu grad")?;
        let y = f32_slice(s2, l2, "relu out")?;
        let mut out = g.to_vec();
        out.par_chunks_mut(1 << 16)
            .zip(y.par_chunks(1 << 16))
            .for_each(|(o, y)| {
                // A product with 0 or 1 rather than a conditional store, so the loop vectorises.
                o.iter_mut()
                    .zip(y)
                    .for_each(|(o, y)| *o *= f32::from(u8::from(*y > 0.0)))
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `relu(x + r)` in one pass: the residual join that ends every ST-GCN block.
struct AddRelu;

impl CustomOp2 for AddRelu {
    fn name(&self) -> &'static str {
        "add-relu"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, "add_relu x")?;
        let r = f32_slice(s2, l2, "add_relu r")?;
        if x.len() != r.len() {
            bail!("add_relu: {:?} and {:?} differ", l1.dims(), l2.dims());
        }
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(1 << 16)
            .zip(x.par_chunks(1 << 16).zip(r.par_chunks(1 << 16)))
            .for_each(|(o, (x, r))| {
                for ((o, x), r) in o.iter_mut().zip(x).zip(r) {
                    *o = (x + r).max(0.0);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
    fn bwd(
        &self,
        _x: &Tensor,
        _r: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?.apply_op2_no_bwd(res, &MaskPositive)?;
        Ok((Some(g.clone()), Some(g)))
    }
}

/// `relu(x + r)` for two tensors of one shape.
pub fn add_relu(x: &Tensor, r: &Tensor) -> Result<Tensor> {
    if !is_cpu(x) {
        return (x + r)?.relu();
    }
    x.contiguous()?.apply_op2(&r.contiguous()?, AddRelu)
}

/// ReLU.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if !is_cpu(x) {
        return x.relu();
    }
    x.contiguous()?.apply_op1(Relu)
}
