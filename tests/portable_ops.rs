//! The path a GPU takes: every hand-written CPU kernel has a plain-candle implementation, used on other devices.
//! `with_portable_ops` runs that path on the CPU, so these tests check that GPU inference computes what the CPU
//! computes, for both encoders and for the whole scoring pipeline. (No GPU is needed; none is assumed.)
#![allow(clippy::unwrap_used)] // tests may unwrap

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use skelzero::app::demo::{demo_dataset, demo_encoder, demo_run};
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::nn::ops::with_portable_ops;
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
