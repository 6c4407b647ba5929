//! Row-major matrix products for the hand-written ops, straight on `gemm` (the kernels candle's CPU matmul uses),
//! so that an op can accumulate into its output and keep its scratch buffers out of the autograd graph.

use candle_core::{Result, Tensor};
use rayon::prelude::*;

use super::ops::{part_len, sum_in_order};

/// `dst (m x n) = [dst +] lhs (m x k) * rhs (k x n)` with `dst` row-major and contiguous; `lhs` and `rhs` are given
/// as (slice, row stride, column stride). `threads` > 1 lets gemm split the product over rayon's pool.
pub(crate) fn gemm_rows(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    (lhs, lhs_rs, lhs_cs): (&[f32], isize, isize),
    (rhs, rhs_rs, rhs_cs): (&[f32], isize, isize),
    threads: usize,
) {
    assert_eq!(dst.len(), m * n, "gemm_rows: destination size");
    if m == 0 || n == 0 {
        return;
    }
    let last = |rs: isize, cs: isize, rows: usize, cols: usize| {
        (rows.saturating_sub(1) as isize * rs + cols.saturating_sub(1) as isize * cs) as usize
    };
    assert!(
        k == 0
            || (last(lhs_rs, lhs_cs, m, k) < lhs.len() && last(rhs_rs, rhs_cs, k, n) < rhs.len()),
        "gemm_rows: operand too short"
    );
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every addressed element inside the slices (strides are non-negative here), and
    // `dst` is a unique borrow, so it does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Fills `dst` with copies of `row`, the starting value of a product with a bias; in parallel when `threads` > 1.
pub(crate) fn fill_rows(dst: &mut [f32], row: &[f32], threads: usize) {
    let c = row.len().max(1);
    let fill = |o: &mut [f32]| o.chunks_exact_mut(c).for_each(|r| r.copy_from_slice(row));
    if threads > 1 {
        dst.par_chunks_mut(c * 1024).for_each(fill);
    } else {
        fill(dst);
    }
}

/// `dst = x W^T + b` over rows, a 1x1 convolution: `x` (rows x C_in), `w` (C_out, C_in) row-major as the
/// checkpoint stores it, `b` (C_out), `dst` (rows x C_out).
pub(crate) fn linear_rows(x: &[f32], w: &[f32], b: &[f32], dst: &mut [f32], threads: usize) {
    let co = b.len();
    let ci = w.len() / co.max(1);
    let rows = dst.len() / co.max(1);
    fill_rows(dst, b, threads);
    gemm_rows(
        (rows, co, ci),
        dst,
        true,
        (x, ci as isize, 1),
        (w, 1, ci as isize),
        threads,
    );
}

/// `a^T (ka x rows) * g (rows x kg)`, the weight gradient of a layer with inputs `a` (rows x ka) and output gradient
/// `g` (rows x kg): one single-threaded product per block of rows, summed in block order, since gemm parallelises
/// poorly over a long inner dimension. There are [`super::ops::SUM_PARTS`] blocks whatever the thread count, so the
/// sum is the same on every run.
pub(crate) fn weight_grad(a: &[f32], ka: usize, g: &[f32], kg: usize) -> Vec<f32> {
    let rows = g.len() / kg.max(1);
    let block = part_len(rows);
    let parts = a
        .par_chunks(block * ka)
        .zip(g.par_chunks(block * kg))
        .map(|(a, g)| {
            let r = g.len() / kg;
            let mut part = vec![0f32; ka * kg];
            gemm_rows(
                (ka, kg, r),
                &mut part,
                false,
                (a, 1, ka as isize),
                (g, kg as isize, 1),
                1,
            );
            part
        })
        .collect();
    sum_in_order(parts, ka * kg)
}

/// Splits the packed gradients of a layer with input `x`, weight `w` and bias `b` (one flat vector, in that order,
/// as the backward ops here return them) into three tensors of their shapes.
pub(crate) fn unpack_layer_grads(
    packed: &Tensor,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let (nx, nw, nb) = (x.elem_count(), w.elem_count(), b.elem_count());
    let dx = packed.narrow(0, 0, nx)?.reshape(x.shape())?;
    let dw = packed.narrow(0, nx, nw)?.reshape(w.shape())?;
    let db = packed.narrow(0, nx + nw, nb)?.reshape(b.shape())?;
    Ok((Some(dx), Some(dw), Some(db)))
}

/// The weight (C_out, C_in, K, 1) as a (K*C_in x C_out) matrix: rows `k * C_in .. (k + 1) * C_in` are tap `k`'s
/// (C_in x C_out) weight.
pub(crate) fn weight_matrix(w: &[f32], c_out: usize, c_in: usize, kernel: usize) -> Vec<f32> {
    let mut m = vec![0f32; kernel * c_in * c_out];
    for o in 0..c_out {
        for c in 0..c_in {
            for k in 0..kernel {
                m[(k * c_in + c) * c_out + o] = w[(o * c_in + c) * kernel + k];
            }
        }
    }
    m
}

/// The inverse of [`weight_matrix`]: a (K*C_in x C_out) matrix written into `w` in the (C_out, C_in, K, 1) layout.
pub(crate) fn weight_from_matrix(
    m: &[f32],
    c_out: usize,
    c_in: usize,
    kernel: usize,
    w: &mut [f32],
) {
    for o in 0..c_out {
        for c in 0..c_in {
            for k in 0..kernel {
                w[(o * c_in + c) * kernel + k] = m[(k * c_in + c) * c_out + o];
            }
        }
    }
}
