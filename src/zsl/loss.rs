//! Helpers the methods' losses share: label checks and conversions, one-hot targets, cross entropy. Each loss
//! itself is stated in its method's file, next to the paper's equations.

use candle_core::Tensor;

use super::{Result, ZslError};

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
        return Err(ZslError::Invalid(format!(
            "label {bad} out of range for {classes} classes"
        )));
    }
    Ok(())
}
