//! Layers shared by the methods: activations, normalisations, linear layers with a cheap backward, the pair linear
//! layer over `[a, t]` with its split halves ([`weight_half`], [`pair_hidden`], also RelationNet's relation module),
//! and the pair-MLP [`Estimator`] built on them (SMIE's `T(v, t)`, each InfoCPL branch's `T_b`). All are
//! compositions of candle ops with working backward. Method files import these and never each other; each loss is
//! in its method's file, the helpers losses share in [`super::loss`].

use candle_core::{D, Tensor};
use candle_nn::{Linear, VarBuilder};

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

/// The first `cols` input columns (or the last, with `from_end`) of a linear layer's weight, transposed for
/// `x (.., cols) @ w`: a layer over `[a, b]` is `W_a a + W_b b + bias`, so the halves can be applied apart.
pub fn weight_half(layer: &Linear, cols: usize, from_end: bool) -> Result<Tensor> {
    let w = layer.weight();
    let start = if from_end { w.dim(1)? - cols } else { 0 };
    Ok(w.narrow(1, start, cols)?.t()?.contiguous()?)
}

/// `relu(a_n + b_c)` for every pair: `a (N, H)`, `b (C, H)` -> `(N, C, H)`.
pub fn pair_hidden(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(a.unsqueeze(1)?.broadcast_add(&b.unsqueeze(0)?)?.relu()?)
}

/// The pair-MLP estimation network `T(a, t)`: an MLP over the concatenation `[a, t]`, `in -> H0 -> H1 -> 1` with
/// ReLU, as the SMIE reference's `GlobalDiscriminator`. SMIE scores `[LN(v), t]` with it, each InfoCPL branch
/// `[u_b, l_{b,c}]`. Its parameters are `l0`, `l1`, `l2` under the caller's prefix (checkpoint keys).
pub struct Estimator {
    l0: Linear,
    l1: Linear,
    l2: Linear,
}

impl Estimator {
    pub fn new(input: usize, hidden: [usize; 2], vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            l0: candle_nn::linear(input, hidden[0], vb.pp("l0"))?,
            l1: candle_nn::linear(hidden[0], hidden[1], vb.pp("l1"))?,
            l2: candle_nn::linear(hidden[1], 1, vb.pp("l2"))?,
        })
    }

    /// # Shapes
    /// `visual (..., Cv)`, `text (..., D)` with the same leading dims -> `(...)`.
    pub fn forward(&self, visual: &Tensor, text: &Tensor) -> Result<Tensor> {
        let x = Tensor::cat(&[visual, text], D::Minus1)?;
        let x = relu(&linear(&self.l0, &x)?)?;
        self.head(&x)
    }

    /// The estimator on every pair of a visual feature and an attention-weighted text of each class, without
    /// building the `N x C` concatenated pairs (see [`pair_linear`]). Equal to [`Self::forward`] on the
    /// materialised pairs `(visual_n, sum_k weights_{c,n,k} bank_{c,k})`.
    ///
    /// # Shapes
    /// `visual (N, Cv)`, `weights (C, N, K)`, `bank (C, K, D)` -> `(N, C)`.
    pub fn forward_attended(
        &self,
        visual: &Tensor,
        weights: &Tensor,
        bank: &Tensor,
    ) -> Result<Tensor> {
        let x = relu(&pair_linear(&self.l0, visual, weights, bank)?)?;
        Ok(self.head(&x)?.t()?)
    }

    /// The estimator on every (visual, text) pair: `visual (N, Cv)`, `texts (C, D)` -> `(N, C)`.
    pub fn forward_pairs(&self, visual: &Tensor, texts: &Tensor) -> Result<Tensor> {
        let (c, _) = texts.dims2()?;
        let n = visual.dim(0)?;
        let ones = Tensor::ones((c, n, 1), texts.dtype(), texts.device())?;
        self.forward_attended(visual, &ones, &texts.unsqueeze(1)?)
    }

    /// The first layer's visual half `W0_v v (N, H0)`, to be computed once for many texts
    /// ([`Self::forward_from_half`]).
    pub fn visual_half(&self, visual: &Tensor) -> Result<Tensor> {
        Ok(visual.matmul(&weight_half(&self.l0, visual.dim(1)?, false)?)?)
    }

    /// The output for every pair of a sample (`visual_half (N, H0)`) and a text (`text (C, D)`): `(N, C)`, equal to
    /// [`Self::forward`] on the broadcast pairs.
    pub fn forward_from_half(&self, visual_half: &Tensor, text: &Tensor) -> Result<Tensor> {
        let mut b = text.matmul(&weight_half(&self.l0, text.dim(1)?, true)?)?;
        if let Some(bias) = self.l0.bias() {
            b = b.broadcast_add(bias)?;
        }
        self.head(&pair_hidden(visual_half, &b)?)
    }

    /// Layers 1 and 2 on the first hidden layer's activations `(..., H0)` -> `(...)`.
    fn head(&self, x: &Tensor) -> Result<Tensor> {
        let x = relu(&linear(&self.l1, x)?)?;
        Ok(linear(&self.l2, &x)?.squeeze(D::Minus1)?)
    }
}
