//! The path a GPU takes: every hand-written CPU kernel has a plain-candle implementation, used on other devices.
//! `with_portable_ops` runs that path on the CPU, so these tests check that GPU inference computes what the CPU
//! computes, for both encoders and for the whole scoring pipeline. (No GPU is needed; none is assumed.)
#![allow(clippy::unwrap_used)] // tests may unwrap

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::nn::kernels::ops::with_portable_ops;
use skelzero::nn::stgcn::StGcnConfig;
use skelzero::pipeline::demo::{demo_dataset, demo_encoder, demo_run};
use skelzero::pipeline::predict_dataset;

mod tensors;
use tensors::{host, max_rel_diff};

#[test]
fn both_encoders_give_the_same_features_on_the_portable_path() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (2, 3, 32, 25, 2), &dev).unwrap();
    for kind in [EncoderKind::Stgcn, EncoderKind::Shiftgcn] {
        let vm = VarMap::new();
        let enc = Encoder::new(&EncoderConfig::default_for(kind), 5, &vm, &dev).unwrap();
        // Eval mode (running statistics): inference. (Train mode draws dropout masks, so runs differ anyway.)
        let fast = enc.encode(&x, false).unwrap();
        let portable = with_portable_ops(|| enc.encode(&x, false)).unwrap();
        assert_eq!(fast.pooled.dims(), portable.pooled.dims());
        assert_eq!(fast.map.dims(), portable.map.dims());
        let d = max_rel_diff(&host(&fast.pooled), &host(&portable.pooled));
        assert!(d < 1e-4, "{kind}: pooled differs by {d}");
        let d = max_rel_diff(&host(&fast.map), &host(&portable.map));
        assert!(d < 1e-4, "{kind}: map differs by {d}");
    }
}

#[test]
fn the_demo_scores_the_same_on_the_portable_path() {
    let (ds, run) = (demo_dataset(), demo_run().unwrap());
    let model = demo_encoder(&Device::Cpu).unwrap();
    let fast = predict_dataset(&model, &run, &ds, &mut |_, _| true).unwrap();
    let portable =
        with_portable_ops(|| predict_dataset(&model, &run, &ds, &mut |_, _| true)).unwrap();
    assert_eq!(fast.sample_ids, portable.sample_ids);
    let worst = fast
        .scores
        .iter()
        .zip(&portable.scores)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-4, "scores differ by {worst}");
    assert_eq!(fast.metrics(), portable.metrics());
}

#[test]
fn stgcn_training_gradients_match_the_portable_path() {
    // Train mode without dropout is deterministic, so the fused training kernels (spatial graph conv, temporal conv,
    // batch norms on batch statistics, add + ReLU) must give plain candle's gradient for every parameter.
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (4, 3, 20, 25, 2), &dev).unwrap();
    let probe = Tensor::randn(0f32, 1.0, (4, 256), &dev).unwrap();
    let cfg = EncoderConfig::Stgcn(StGcnConfig {
        dropout: 0.0,
        ..StGcnConfig::default()
    });
    let vm = VarMap::new();
    let enc = Encoder::new(&cfg, 5, &vm, &dev).unwrap();
    let grads = |portable: bool| {
        let pooled = if portable {
            with_portable_ops(|| enc.encode(&x, true)).unwrap().pooled
        } else {
            enc.encode(&x, true).unwrap().pooled
        };
        (pooled * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
    };
    let (fast, portable) = (grads(false), grads(true));
    // Deep batch-normalised training amplifies rounding differences (ReLU masks flip near zero, batch statistics of
    // small batches), so single gradients of either formulation differ by up to a few percent between runs of the
    // same code; a wrong kernel or a mixed-up layout differs by the size of the gradient itself. Hence one relative
    // difference over all parameters together.
    let (mut diff2, mut norm2, mut checked) = (0f64, 0f64, 0);
    let data = vm.data().lock().unwrap();
    for (name, var) in data.iter() {
        // Running statistics and the unused classifier head get no gradient on either path.
        let (Some(f), Some(p)) = (fast.get(var), portable.get(var)) else {
            assert!(
                fast.get(var).is_none() && portable.get(var).is_none(),
                "{name}"
            );
            continue;
        };
        let (f, p) = (host(f), host(p));
        for (f, p) in f.iter().zip(&p) {
            diff2 += ((f - p) as f64).powi(2);
            norm2 += (*p as f64).powi(2);
        }
        checked += 1;
    }
    let rel = (diff2 / norm2.max(1e-30)).sqrt();
    assert!(
        rel < 1e-2,
        "the gradients differ by {rel} (relative, all parameters)"
    );
    // Every block's convolutions, batch norms and edge importance, and the input batch norm.
    assert!(checked >= 80, "only {checked} parameters had gradients");
}
