//! Seeded parameter initialisation: candle's CPU generator cannot be seeded, so a network built on a plain
//! `VarMap` starts from different weights on every run. [`SeededVars`] is a `VarBuilder` backend that draws each
//! new parameter from its initialiser hint with a generator seeded by the run's seed and the parameter's name, so
//! the same seed gives the same starting weights whatever order the layers are built in.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::NormalOrUniform;
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

/// A `VarBuilder` backend over a `VarMap` whose new variables are drawn from seeded generators (see the module).
pub struct SeededVars {
    vm: VarMap,
    seed: u64,
}

impl SeededVars {
    /// A builder that creates its variables in `vm`, seeded by `seed`.
    pub fn builder(vm: &VarMap, seed: u64, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(
            Box::new(Self {
                vm: vm.clone(),
                seed,
            }),
            DType::F32,
            device.clone(),
        )
    }
}

/// splitmix64's output function: a well-mixed 64-bit value from `x`.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The generator seed of parameter `name` under run seed `seed` (FNV-1a of the name, mixed with the seed).
fn name_seed(seed: u64, name: &str) -> u64 {
    let h = name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    });
    mix64(seed ^ mix64(h))
}

/// Values of `init` for a tensor of `shape`, drawn from `rng` (the distributions of candle's `Init::var`).
fn draw(init: Init, shape: &Shape, rng: &mut StdRng) -> Result<Vec<f32>> {
    let n = shape.elem_count();
    let normal = |mean: f64, std: f64, rng: &mut StdRng| -> Result<Vec<f32>> {
        let d = Normal::new(mean, std).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok((0..n).map(|_| d.sample(rng) as f32).collect())
    };
    let uniform = |lo: f64, up: f64, rng: &mut StdRng| -> Vec<f32> {
        (0..n)
            .map(|_| (lo + (up - lo) * rng.random::<f64>()) as f32)
            .collect()
    };
    Ok(match init {
        Init::Const(c) => vec![c as f32; n],
        Init::Uniform { lo, up } => uniform(lo, up, rng),
        Init::Randn { mean, stdev } => normal(mean, stdev, rng)?,
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    uniform(-bound, bound, rng)
                }
                NormalOrUniform::Normal => normal(0.0, std, rng)?,
            }
        }
    })
}

impl SimpleBackend for SeededVars {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self
            .vm
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned var map".into()))?;
        if let Some(v) = data.get(name) {
            if v.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: {s:?} <> {:?}", v.shape());
            }
            return Ok(v.as_tensor().clone());
        }
        let mut rng = StdRng::seed_from_u64(name_seed(self.seed, name));
        let values = draw(h, &s, &mut rng)?;
        let t = Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_owned(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("seeded variables need a shape for `{name}`")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.vm.data().lock().is_ok_and(|d| d.contains_key(name))
    }
}
