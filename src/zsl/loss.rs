//! Differentiable building blocks shared by the methods (all compositions of candle ops with working backward).

use candle_core::{D, Tensor};

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
