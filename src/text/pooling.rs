//! Sentence-BERT's pooling: the mean of the token features over the attention mask, then L2 normalisation.

use candle_core::{DType, Result, Tensor};

/// Mean of the real tokens' features (sentence-transformers clamps the token count at 1e-9).
///
/// # Shapes
/// - `features`: `(batch, len, hidden)`
/// - `mask`: `(batch, len)`, 1 for real tokens (any dtype)
/// - returns `(batch, hidden)`
pub fn mean_pool(features: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let sum = features.broadcast_mul(&mask)?.sum(1)?;
    let count = mask.sum(1)?.clamp(1e-9, f32::MAX)?;
    sum.broadcast_div(&count)
}

/// Each row divided by its L2 norm, clamped at 1e-12 like `torch.nn.functional.normalize`.
///
/// # Shapes
/// - `xs`: `(batch, dim)`, returns the same
pub fn l2_normalize(xs: &Tensor) -> Result<Tensor> {
    let norm = xs.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
    xs.broadcast_div(&norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn pooling_ignores_padding_and_normalises() {
        let dev = Device::Cpu;
        let feats = Tensor::new(&[[[1f32, 0.], [3., 4.], [100., 100.]]], &dev).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 0]], &dev).unwrap();
        let pooled = mean_pool(&feats, &mask).unwrap();
        assert_eq!(pooled.to_vec2::<f32>().unwrap(), vec![vec![2., 2.]]);
        let unit = l2_normalize(&Tensor::new(&[[3f32, 4.], [0., 0.]], &dev).unwrap()).unwrap();
        assert_eq!(
            unit.to_vec2::<f32>().unwrap(),
            vec![vec![0.6, 0.8], vec![0., 0.]]
        );
    }
}
