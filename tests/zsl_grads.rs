//! Gradients reach every trainable part of STAR and InfoCPL, attention included, and agree with finite
//! differences (candle's `softmax_last_dim` has no backward pass: through it, attention weights would stay at
//! their initial values).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use rand::SeedableRng;
use skelzero::zsl::{
    ClassEmbeddings, Dims, FeatureBatch, MethodConfig, StepContext, ZslMethod, infocpl, star,
};

mod tensors;
use tensors::rand;

const DIMS: Dims = Dims { visual: 6, text: 5 };
const LABELS: [u32; 6] = [0, 1, 2, 0, 1, 2];

fn classes() -> ClassEmbeddings {
    ClassEmbeddings {
        names: rand(&[3, 5], 1),
        sentences: rand(&[3, 5], 2),
        parts: Some(rand(&[3, 2, 5], 3)),
        phrases: Some(rand(&[3, 4, 5], 4)),
        motion: Some(rand(&[3, 5], 5)),
    }
}

fn batch() -> FeatureBatch {
    FeatureBatch {
        pooled: rand(&[6, 6], 6),
        masked: None,
        map: Some(rand(&[6, 3, 25, 6], 7)),
    }
}

fn loss(m: &dyn ZslMethod, epoch: usize) -> Tensor {
    let labels = Tensor::new(&LABELS, &Device::Cpu).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    m.loss(
        &batch(),
        &labels,
        &classes(),
        &mut StepContext {
            epoch,
            rng: &mut rng,
            all_classes: None,
        },
    )
    .unwrap()
}

fn var(vm: &VarMap, name: &str) -> Var {
    vm.data().lock().unwrap().get(name).unwrap().clone()
}

/// The analytic directional derivative of the loss along a random direction of `name` against a central finite
/// difference.
fn check_directional(m: &dyn ZslMethod, vm: &VarMap, name: &str, epoch: usize) {
    let v = var(vm, name);
    let w0 = v.as_tensor().copy().unwrap();
    let dir = rand(w0.dims(), 99);
    let grads = loss(m, epoch).backward().unwrap();
    let g = grads
        .get(v.as_tensor())
        .unwrap_or_else(|| panic!("no gradient for {name}"));
    let analytic = (g * &dir)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap() as f64;
    let eps = 1e-3;
    let at = |s: f64| {
        v.set(&(&w0 + (&dir * s).unwrap()).unwrap()).unwrap();
        loss(m, epoch).to_scalar::<f32>().unwrap() as f64
    };
    let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
    v.set(&w0).unwrap();
    assert!(
        analytic.abs() > 1e-4,
        "{name}: gradient {analytic} is (almost) zero"
    );
    assert!(
        (analytic - numeric).abs() < 0.05 * numeric.abs().max(1e-3),
        "{name}: analytic {analytic} vs finite difference {numeric}"
    );
}

#[test]
fn star_attention_weights_get_the_right_gradient() {
    let cfg = MethodConfig::Star(star::StarConfig {
        parts: 2,
        prompts: 4,
        dim: 8,
        heads: 2,
        hidden: 8,
        ..Default::default()
    });
    let (m, vm) = cfg.build_trainable(DIMS, &Device::Cpu, 3).unwrap();
    for name in [
        "part.0.attn.k.weight",
        "part.1.attn.q.weight",
        "part.0.attn.v.weight",
        "part.1.prompts",
    ] {
        check_directional(m.as_ref(), &vm, name, 0);
    }
}

#[test]
fn infocpl_projection_gets_the_right_gradient_through_the_attention() {
    let cfg = MethodConfig::InfoCpl(infocpl::InfoCplConfig {
        topk: vec![2, 4],
        warmup_epochs: 1,
        negatives: 2,
        hidden: [8, 4],
        ..Default::default()
    });
    let (m, vm) = cfg.build_trainable(DIMS, &Device::Cpu, 4).unwrap();
    // Warm-up (inverted attention) and after.
    for epoch in [0, 1] {
        check_directional(m.as_ref(), &vm, "branch.1.proj.weight", epoch);
        check_directional(m.as_ref(), &vm, "branch.0.estimator.l0.weight", epoch);
    }
    // With the estimator blind to `u` itself (zero weights on its half of the input), the projection learns only
    // through the attention over the codebook.
    for b in 0..2 {
        let l0 = var(&vm, &format!("branch.{b}.estimator.l0.weight"));
        let w = l0.as_tensor();
        let blind = Tensor::cat(
            &[
                w.narrow(1, 0, DIMS.text).unwrap().zeros_like().unwrap(),
                w.narrow(1, DIMS.text, DIMS.text).unwrap(),
            ],
            1,
        )
        .unwrap();
        l0.set(&blind).unwrap();
    }
    for epoch in [0, 1] {
        check_directional(m.as_ref(), &vm, "branch.1.proj.weight", epoch);
    }
}
