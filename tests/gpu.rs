//! GPU inference against the CPU: both skeleton encoders, the demo's whole scoring pipeline and the sentence
//! encoder give the same numbers on a CUDA device as on the CPU.
//!
//! Built only with the `cuda` feature, and then a GPU is required (a failure, not a skip, when there is none):
//! `cargo test --release --features cuda --test gpu -- --nocapture` (the timings are printed).
//! The sentence-encoder test reads MiniLM from `SKELZERO_GPU_TEXT_MODEL` (a model folder) or the model store.
#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use skelzero::nn::device::{DeviceChoice, device_from_choice, device_label};
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::pipeline::demo::{demo_dataset, demo_encoder, demo_run};
use skelzero::pipeline::predict_dataset;
use skelzero::text::{KnownModel, ModelStore, TextEncoder};

mod tensors;
use tensors::{host, max_rel_diff};

fn gpu() -> Device {
    let dev = device_from_choice(DeviceChoice::Cuda).unwrap();
    assert_eq!(device_label(&dev), "CUDA 0");
    dev
}

/// Median wall time of `runs` calls of `f` (after one warm-up call).
fn median_secs(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

#[test]
fn both_encoders_give_the_cpu_features_on_the_gpu() {
    let gpu = gpu();
    let dir = tempfile::tempdir().unwrap();
    let x_cpu = Tensor::randn(0f32, 1.0, (64, 3, 50, 25, 2), &Device::Cpu).unwrap();
    let x_gpu = x_cpu.to_device(&gpu).unwrap();
    for kind in [EncoderKind::Stgcn, EncoderKind::Shiftgcn] {
        let cfg = EncoderConfig::default_for(kind);
        // The same weights on both devices: made on the CPU, saved, loaded into the GPU's variables.
        let vm_cpu = VarMap::new();
        let cpu_enc = Encoder::new(&cfg, 10, &vm_cpu, &Device::Cpu).unwrap();
        let path = dir.path().join(format!("{kind}.safetensors"));
        vm_cpu.save(&path).unwrap();
        let mut vm_gpu = VarMap::new();
        let gpu_enc = Encoder::new(&cfg, 10, &vm_gpu, &gpu).unwrap();
        vm_gpu.load(&path).unwrap();

        let on_cpu = cpu_enc.encode(&x_cpu, false).unwrap();
        let on_gpu = gpu_enc.encode(&x_gpu, false).unwrap();
        assert_eq!(on_cpu.pooled.dims(), on_gpu.pooled.dims());
        assert_eq!(on_cpu.map.dims(), on_gpu.map.dims());
        let d = max_rel_diff(&host(&on_cpu.pooled), &host(&on_gpu.pooled));
        assert!(d < 1e-3, "{kind}: pooled features differ by {d}");
        let d = max_rel_diff(&host(&on_cpu.map), &host(&on_gpu.map));
        assert!(d < 1e-3, "{kind}: feature maps differ by {d}");

        let cpu_s = median_secs(3, || {
            cpu_enc.encode(&x_cpu, false).unwrap();
        });
        let gpu_s = median_secs(5, || {
            // Copy back to the host so the time includes the kernels, not just their launch.
            host(&gpu_enc.encode(&x_gpu, false).unwrap().pooled);
        });
        eprintln!(
            "{kind}: forward of 64 x (3, 50, 25, 2): CPU {cpu_s:.3} s, GPU {gpu_s:.4} s ({:.0}x)",
            cpu_s / gpu_s
        );
    }
}

#[test]
fn the_demo_scores_the_same_on_the_gpu() {
    let (ds, run) = (demo_dataset(), demo_run().unwrap());
    let on_cpu = predict_dataset(
        &demo_encoder(&Device::Cpu).unwrap(),
        &run,
        &ds,
        &mut |_, _| true,
    )
    .unwrap();
    let model = demo_encoder(&gpu()).unwrap();
    let start = Instant::now();
    let on_gpu = predict_dataset(&model, &run, &ds, &mut |_, _| true).unwrap();
    eprintln!(
        "demo: {} samples scored on the GPU in {:.3} s",
        on_gpu.num_samples(),
        start.elapsed().as_secs_f64()
    );
    assert_eq!(on_cpu.sample_ids, on_gpu.sample_ids);
    let worst = on_cpu
        .scores
        .iter()
        .zip(&on_gpu.scores)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst < 1e-3, "scores differ by {worst}");
    assert_eq!(on_cpu.metrics(), on_gpu.metrics());
}

#[test]
fn the_sentence_encoder_gives_the_cpu_embeddings_on_the_gpu() {
    let dir = std::env::var_os("SKELZERO_GPU_TEXT_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let store = ModelStore::default_location().unwrap();
            store
                .resolve(KnownModel::MiniLm.name(), false)
                .unwrap_or_else(|e| panic!("{e}"))
        });
    let texts = [
        "drink water",
        "a person raises the cup to the mouth with one hand and tilts the head back",
        "kicking something",
        "two people shake hands",
    ];
    let cpu = TextEncoder::load(&dir).unwrap().embed(&texts).unwrap();
    let gpu_enc = TextEncoder::load_on(&dir, &gpu()).unwrap();
    let gpu = gpu_enc.embed(&texts).unwrap();
    assert_eq!(cpu.len(), gpu.len());
    for (i, (a, b)) in cpu.rows().zip(gpu.rows()).enumerate() {
        let d = max_rel_diff(a, b);
        assert!(d < 1e-3, "text {i}: embeddings differ by {d}");
    }
}

#[test]
fn the_predict_command_runs_on_the_gpu() {
    use clap::Parser as _;
    let out = tempfile::tempdir().unwrap();
    // A run folder from the demo's DeViSE run and the class embeddings its runs share.
    let run = out.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    for (from, name) in [
        ("assets/demo/runs/devise/config.toml", "config.toml"),
        (
            "assets/demo/runs/devise/weights.safetensors",
            "weights.safetensors",
        ),
        ("assets/demo/classes.safetensors", "classes.safetensors"),
    ] {
        std::fs::copy(from, run.join(name)).unwrap();
    }
    let predict = |device: &str| {
        let file = out.path().join(format!("{device}.json"));
        // Relative to the package root, where cargo runs tests (the device machine's checkout is elsewhere).
        let cli = skelzero::cli::Cli::try_parse_from([
            "skelzero",
            "predict",
            "--encoder",
            "assets/demo/encoder",
            "--run",
            run.to_str().unwrap(),
            "--dataset",
            "synthetic",
            "--device",
            device,
            "--out",
            file.to_str().unwrap(),
        ])
        .unwrap();
        skelzero::cli::run(cli).unwrap();
        skelzero::pipeline::predictions::Predictions::load(&file).unwrap()
    };
    let (cpu, gpu) = (predict("cpu"), predict("cuda"));
    assert!(!cpu.sample_ids.is_empty());
    assert_eq!(cpu.sample_ids, gpu.sample_ids);
    let d = max_rel_diff(&cpu.scores, &gpu.scores);
    assert!(d < 1e-3, "scores differ by {d}");
}
