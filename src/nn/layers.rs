//! Building blocks shared by the skeleton networks: channels-last batch norm and 1x1 convolutions as GEMMs.

use candle_core::{D, Result, Tensor, Var};
use candle_nn::{Init, VarBuilder};

use super::kernels::batch_norm;

/// PyTorch's default init for conv/linear weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn torch_uniform(fan_in: usize) -> Init {
    let b = 1.0 / (fan_in.max(1) as f64).sqrt();
    Init::Uniform { lo: -b, up: b }
}

/// `BatchNorm{1,2}d` on channels-last data. Keys `weight`, `bias`, `running_mean`, `running_var` as in PyTorch;
/// the running statistics are `Var`s of the same `VarMap`, so they are checkpointed (and must be kept out of the
/// optimizer: see [`super::optim::trainable_vars`]).
#[derive(Clone, Debug)]
pub struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    eps: f64,
    momentum: f64,
}

impl BatchNorm {
    /// Where the layer's parameters live.
    pub fn device(&self) -> &candle_core::Device {
        self.weight.device()
    }

    pub fn new(c: usize, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(c, "weight", Init::Const(1.0))?;
        let bias = vb.get_with_hints(c, "bias", Init::Const(0.0))?;
        let running_mean =
            Var::from_tensor(&vb.get_with_hints(c, "running_mean", Init::Const(0.0))?)?;
        let running_var =
            Var::from_tensor(&vb.get_with_hints(c, "running_var", Init::Const(1.0))?)?;
        Ok(Self {
            weight,
            bias,
            running_mean,
            running_var,
            eps: 1e-5,
            momentum: 0.1,
        })
    }

    /// The eval-mode normalisation as a per-channel affine map `x * scale + shift` (C each), for folding into the
    /// preceding layer's weights: one pass over the activations fewer.
    pub fn eval_affine(&self) -> Result<(Tensor, Tensor)> {
        let invstd = (self.running_var.as_tensor() + self.eps)?.sqrt()?.recip()?;
        let scale = (&self.weight * invstd)?;
        let shift = (&self.bias - (self.running_mean.as_tensor() * &scale)?)?;
        Ok((scale, shift))
    }

    /// Normalises the last dimension; with `train`, uses batch statistics and updates the running ones.
    ///
    /// # Shapes
    /// `x`: (..., C) -> (..., C)
    pub fn forward(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        self.forward_mode(
            x,
            batch_norm::BnMode {
                relu,
                train,
                ..Default::default()
            },
        )
    }

    /// [`Self::forward`] with dropout fused after the normalisation (and the ReLU) in training.
    pub fn forward_mode(&self, x: &Tensor, mode: batch_norm::BnMode) -> Result<Tensor> {
        let train = mode.train;
        let (mean, var) = if train {
            let (mean, var) = batch_norm::channel_stats(x)?;
            let n = (x.elem_count() / mean.len().max(1)) as f64;
            let unbias = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
            let m = self.momentum;
            let rm: Vec<f32> = self.running_mean.as_tensor().to_vec1()?;
            let rv: Vec<f32> = self.running_var.as_tensor().to_vec1()?;
            let rm: Vec<f32> = rm
                .iter()
                .zip(&mean)
                .map(|(r, b)| ((1.0 - m) * *r as f64 + m * *b as f64) as f32)
                .collect();
            let rv: Vec<f32> = rv
                .iter()
                .zip(&var)
                .map(|(r, b)| ((1.0 - m) * *r as f64 + m * *b as f64 * unbias) as f32)
                .collect();
            let dev = x.device();
            self.running_mean
                .set(&Tensor::from_vec(rm, mean.len(), dev)?)?;
            self.running_var
                .set(&Tensor::from_vec(rv, var.len(), dev)?)?;
            (mean, var)
        } else {
            (
                self.running_mean.as_tensor().to_vec1()?,
                self.running_var.as_tensor().to_vec1()?,
            )
        };
        batch_norm::batch_norm_cl(x, &self.weight, &self.bias, (&mean, &var), self.eps, mode)
    }
}

/// Folds a per-output-channel affine map `y * scale + shift` (an eval-mode batch norm) into the convolution before
/// it: weight (C_out, ...) and bias (C_out) -> the weight and bias of the composition.
pub fn fold_affine(
    weight: &Tensor,
    bias: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let c_out = weight.dim(0)?;
    let mut dims = vec![1usize; weight.rank()];
    dims[0] = c_out;
    let w = weight.broadcast_mul(&scale.reshape(dims)?)?;
    let b = ((bias * scale)? + shift)?;
    Ok((w, b))
}

/// A 1x1 `Conv2d` (weight (C_out, C_in, 1, 1), bias (C_out)) applied to channels-last rows as one GEMM.
#[derive(Clone, Debug)]
pub struct Pointwise {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Pointwise {
    pub fn new(c_in: usize, c_out: usize, bias: bool, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints((c_out, c_in, 1, 1), "weight", torch_uniform(c_in))?;
        let bias = if bias {
            Some(vb.get_with_hints(c_out, "bias", torch_uniform(c_in))?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    /// The weight (C_out, C_in, 1, 1).
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias (C_out), if the layer has one.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// This convolution followed by the per-channel affine map `y * scale + shift` (C_out each), as one convolution.
    pub fn folded(&self, scale: &Tensor, shift: &Tensor) -> Result<Self> {
        let bias = match &self.bias {
            Some(b) => b.clone(),
            None => scale.zeros_like()?,
        };
        let (weight, bias) = fold_affine(&self.weight, &bias, scale, shift)?;
        Ok(Self {
            weight,
            bias: Some(bias),
        })
    }

    /// # Shapes
    /// `x`: (..., C_in) -> (..., C_out)
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (c_out, c_in, _, _) = self.weight.dims4()?;
        let mut dims = x.dims().to_vec();
        let rows = x.elem_count() / c_in.max(1);
        let x = x.reshape((rows, c_in))?;
        let y = match &self.bias {
            Some(b) => super::kernels::pointwise::pointwise_conv(&x, &self.weight, b)?,
            None => x.matmul(&self.weight.reshape((c_out, c_in))?.t()?)?,
        };
        if let Some(last) = dims.last_mut() {
            *last = c_out;
        }
        y.reshape(dims)
    }
}

/// A `Linear` layer (weight (out, in), bias (out)).
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    pub fn new(c_in: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints((c_out, c_in), "weight", torch_uniform(c_in))?;
        let bias = vb.get_with_hints(c_out, "bias", torch_uniform(c_in))?;
        Ok(Self { weight, bias })
    }

    /// # Shapes
    /// `x`: (N, in) -> (N, out)
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}

/// Mean over every dimension but the first and the last: (B, ..., C) -> (B, C).
pub fn mean_middle(x: &Tensor) -> Result<Tensor> {
    let b = x.dim(0)?;
    let c = x.dim(D::Minus1)?;
    let x = x.reshape((b, (), c))?;
    let n = x.dim(1)?;
    // As a batched product with a row of 1/n: candle's reduction over a middle dimension walks the data with strides
    // (5% of the encoder's forward pass), the product reads it in order.
    let w = Tensor::full(1.0 / n.max(1) as f32, (b, 1, n), x.device())?.to_dtype(x.dtype())?;
    w.matmul(&x.contiguous()?)?.reshape((b, c))
}
