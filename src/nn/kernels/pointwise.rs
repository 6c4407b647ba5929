//! A 1x1 convolution with bias on channels-last rows as one CPU op: the bias is the product's starting value and the
//! backward pass computes all three gradients from the output gradient in one go (candle's matmul + bias graph
//! allocated, zero-filled and summed a gradient buffer per node).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, bail};

use super::gemm::{gemm_rows, linear_rows, unpack_layer_grads, weight_from_matrix, weight_grad};
use super::ops::{col_sums, f32_slice, is_cpu};

struct PointwiseConv {
    c_in: usize,
    c_out: usize,
}

impl CustomOp3 for PointwiseConv {
    fn name(&self) -> &'static str {
        "pointwise-conv"
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
        let x = f32_slice(s1, l1, "pointwise x")?;
        let w = f32_slice(s2, l2, "pointwise weight")?;
        let b = f32_slice(s3, l3, "pointwise bias")?;
        let (ci, co) = (self.c_in, self.c_out);
        let rows = x.len() / ci.max(1);
        let mut out = vec![0f32; rows * co];
        linear_rows(x, w, b, &mut out, rayon::current_num_threads());
        Ok((CpuStorage::F32(out), Shape::from((rows, co))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let packed = x.apply_op3_no_bwd(
            w,
            &grad.contiguous()?,
            &PointwiseBackward {
                c_in: self.c_in,
                c_out: self.c_out,
            },
        )?;
        unpack_layer_grads(&packed, x, w, b)
    }
}

/// Gradients of [`PointwiseConv`] packed in one vector: input (rows*C_in), weight (C_out*C_in), bias (C_out).
struct PointwiseBackward {
    c_in: usize,
    c_out: usize,
}

impl CustomOp3 for PointwiseBackward {
    fn name(&self) -> &'static str {
        "pointwise-conv-backward"
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
        let x = f32_slice(s1, l1, "pointwise-bwd x")?;
        let w = f32_slice(s2, l2, "pointwise-bwd weight")?;
        let g = f32_slice(s3, l3, "pointwise-bwd grad")?;
        let (ci, co) = (self.c_in, self.c_out);
        let rows = g.len() / co.max(1);
        let mut out = vec![0f32; rows * ci + co * ci + co];
        let (dx, rest) = out.split_at_mut(rows * ci);
        // dx = g (rows x C_out) * W (C_out x C_in).
        gemm_rows(
            (rows, ci, co),
            dx,
            false,
            (g, co as isize, 1),
            (w, ci as isize, 1),
            rayon::current_num_threads(),
        );
        // dW (C_out x C_in) = (x^T g)^T.
        let (dw, db) = rest.split_at_mut(co * ci);
        weight_from_matrix(&weight_grad(x, ci, g, co), co, ci, 1, dw);
        db.copy_from_slice(&col_sums(g, co));
        let n = out.len();
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }
}

/// `x W^T + b` over rows: a 1x1 convolution with weight `w` (C_out, C_in, 1, 1) and bias `b` (C_out).
///
/// # Shapes
/// `x`: (rows, C_in) -> (rows, C_out)
pub fn pointwise_conv(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (c_out, c_in, kh, kw) = w.dims4()?;
    let (_, xc) = x.dims2()?;
    if xc != c_in || (kh, kw) != (1, 1) || b.dims() != [c_out] {
        bail!(
            "pointwise_conv: input {:?}, weight {:?} and bias {:?} do not fit",
            x.dims(),
            w.dims(),
            b.dims()
        );
    }
    if !is_cpu(x) {
        return pointwise_conv_reference(x, w, b);
    }
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        PointwiseConv { c_in, c_out },
    )
}

/// The same with candle's matmul and broadcast add.
pub fn pointwise_conv_reference(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (c_out, c_in, _, _) = w.dims4()?;
    x.matmul(&w.reshape((c_out, c_in))?.t()?)?.broadcast_add(b)
}
