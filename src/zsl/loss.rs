//! Differentiable building blocks shared by the methods (all compositions of candle ops with working backward).

use candle_core::{D, Tensor};
use candle_nn::Linear;

use super::Result;

/// `softplus(x) = log(1 + e^x)`, computed as `relu(x) + log(1 + e^{-|x|})` so it never overflows.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((x.relu()? + tail)?)
}

/// Layer normalisation over the last dimension without affine parameters (PyTorch `elementwise_affine=False`,
/// eps 1e-5, biased variance).
pub fn layer_norm_plain(x: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(centered.broadcast_div(&(var + 1e-5)?.sqrt()?)?)
}

/// L2-normalises the last dimension (PyTorch `F.normalize`, eps 1e-12).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

/// Cosine similarity of every row of `a` `(N, d)` with every row of `b` `(C, d)`: `(N, C)`.
pub fn cosine_matrix(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(l2_normalize(a)?.matmul(&l2_normalize(b)?.t()?)?)
}

/// Mean cross-entropy of `logits` `(N, C)` against `u32` labels `(N,)`.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::loss::cross_entropy(logits, labels)?)
}

/// A one-hot `(N, C)` f32 matrix of `labels`.
pub fn one_hot(labels: &[usize], classes: usize, device: &candle_core::Device) -> Result<Tensor> {
    let mut v = vec![0f32; labels.len() * classes];
    for (i, &l) in labels.iter().enumerate() {
        if l < classes {
            v[i * classes + l] = 1.0;
        }
    }
    Ok(Tensor::from_vec(v, (labels.len(), classes), device)?)
}

/// Labels tensor `(N,)` as a `Vec<usize>`.
pub fn labels_vec(labels: &Tensor) -> Result<Vec<usize>> {
    Ok(labels
        .to_dtype(candle_core::DType::U32)?
        .to_vec1::<u32>()?
        .into_iter()
        .map(|l| l as usize)
        .collect())
}

/// Checks labels index `0..classes`.
pub fn check_labels(labels: &[usize], classes: usize) -> Result<()> {
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(super::ZslError::Invalid(format!(
            "label {bad} out of range for {classes} classes"
        )));
    }
    Ok(())
}

/// `x W^T + b` over the last dimension of `x (..., in)`: one 2-D matrix multiply and the bias added by
/// [`crate::nn::kernels::ops::add_bias`], whose backward is a contiguous column sum (candle's broadcast add reduces over
/// the leading dimensions with an integer division per element, the largest cost of these small models' backward
/// pass). Same values and gradients as `candle_nn::Linear::forward`.
pub fn linear(layer: &Linear, x: &Tensor) -> Result<Tensor> {
    linear_rows(layer, x, |rows, w| rows.contiguous()?.matmul(&w.t()?))
}

/// [`linear`] on a constant input (frozen encoder features): no gradient is computed for `x`
/// ([`crate::nn::kernels::ops::matmul_const_input`]).
pub fn linear_frozen_input(layer: &Linear, x: &Tensor) -> Result<Tensor> {
    linear_rows(layer, x, crate::nn::kernels::ops::matmul_const_input)
}

/// `x (..., in)` flattened to rows, `matmul(rows, W)` = `rows W^T`, the bias added, and the leading dimensions
/// restored.
fn linear_rows(
    layer: &Linear,
    x: &Tensor,
    matmul: impl Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
) -> Result<Tensor> {
    let dims = x.dims();
    let Some((&k, lead)) = dims.split_last() else {
        return Ok(candle_nn::Module::forward(layer, x)?);
    };
    let rows: usize = lead.iter().product();
    let y = matmul(&x.reshape((rows, k))?, layer.weight())?;
    let y = match layer.bias() {
        Some(b) => crate::nn::kernels::ops::add_bias(&y, b)?,
        None => y,
    };
    let mut out = lead.to_vec();
    out.push(y.dim(1)?);
    Ok(y.reshape(out)?)
}

/// ReLU with a cheap backward ([`crate::nn::kernels::ops::relu`]).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    Ok(crate::nn::kernels::ops::relu(x)?)
}

/// A linear layer over the concatenation `[a_n; t_{c,n}]` for every pair `(n, c)`, where
/// `t_{c,n} = sum_k w_{c,n,k} B_{c,k}`, without building the `N x C` concatenated inputs: with
/// `W = [W_a | W_b]`, `W [a; t] + b = W_a a + w (B W_b^T) + b`, so each bank row is projected once instead of once
/// per pair. A single text per class is `K = 1` with weights 1.
///
/// # Shapes
/// `a (N, Da)`, `weights (C, N, K)`, `bank (C, K, Db)`, `layer` `(Da + Db) -> H` -> `(C, N, H)`.
pub fn pair_linear(layer: &Linear, a: &Tensor, weights: &Tensor, bank: &Tensor) -> Result<Tensor> {
    let da = a.dim(1)?;
    let (c, k, db) = bank.dims3()?;
    let w = layer.weight();
    let wa = w.narrow(1, 0, da)?.contiguous()?;
    let wb = w.narrow(1, da, db)?.contiguous()?;
    let h = wa.dim(0)?;
    let pa = a.matmul(&wa.t()?)?; // (N, H)
    let pb = bank
        .reshape((c * k, db))?
        .matmul(&wb.t()?)?
        .reshape((c, k, h))?;
    let x = (weights.contiguous()?.matmul(&pb)? + crate::nn::kernels::ops::repeat_rows(&pa, c)?)?;
    Ok(match layer.bias() {
        Some(b) => crate::nn::kernels::ops::add_bias(&x, b)?,
        None => x,
    })
}
