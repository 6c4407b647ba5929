//! ST-GCN's temporal convolution (kernel (K, 1), stride (s, 1), zero padding K/2) on channels-last rows, as one CPU
//! op with an analytic backward.
//!
//! Built from separate candle ops (im2col, weight transpose, matmul, bias) the (rows x K*C) column matrix and its
//! gradient were graph tensors: allocated, zero-filled and summed into the gradient store on every training step, the
//! largest buffers of the network (9x the activations). Here they are scratch buffers that live inside the op, and the
//! products go straight to `gemm`.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, bail};

use super::gemm::{
    fill_rows, gemm_rows, unpack_layer_grads, weight_from_matrix, weight_grad, weight_matrix,
};
use super::ops::{
    TemporalGeom, col_sums, col2im_rows, f32_slice, im2col_rows, is_cpu, temporal_im2col_reference,
};

struct TemporalConv {
    g: TemporalGeom,
    c_out: usize,
}

impl TemporalConv {
    fn rows_out(&self) -> usize {
        self.g.b * self.g.t_out() * self.g.v
    }
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
        let (rows, kc, co) = (self.rows_out(), g.kernel * g.c, self.c_out);
        let cols = im2col_rows(x, g);
        let wm = weight_matrix(w, co, g.c, g.kernel);
        let mut out = fill_rows(rows, bias);
        gemm_rows(
            (rows, co, kc),
            &mut out,
            true,
            (&cols, kc as isize, 1),
            (&wm, co as isize, 1),
            rayon::current_num_threads(),
        );
        Ok((CpuStorage::F32(out), Shape::from((g.b, g.t_out(), g.v, co))))
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
        let (kc, co) = (g.kernel * g.c, self.c_out);
        let rows = gy.len() / co.max(1);

        // Weight: cols^T (KC x rows) * grad (rows x C_out).
        let cols = im2col_rows(x, g);
        let dwm = weight_grad(&cols, kc, gy, co);
        drop(cols);

        // Input: grad (rows x C_out) * W^T (C_out x KC) -> column gradients, folded back by col2im.
        let wm = weight_matrix(w, co, g.c, g.kernel);
        let mut dcols = vec![0f32; rows * kc];
        gemm_rows(
            (rows, kc, co),
            &mut dcols,
            false,
            (gy, co as isize, 1),
            (&wm, 1, co as isize),
            rayon::current_num_threads(),
        );
        let dx = col2im_rows(&dcols, g);
        drop(dcols);

        let mut out = dx;
        out.reserve(co * kc + co);
        // Back to the checkpoint layout (C_out, C_in, K, 1).
        let base = out.len();
        out.resize(base + co * kc, 0.0);
        weight_from_matrix(&dwm, co, g.c, g.kernel, &mut out[base..]);
        out.extend_from_slice(&col_sums(gy, co));
        let n = out.len();
        Ok((CpuStorage::F32(out), Shape::from(n)))
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
