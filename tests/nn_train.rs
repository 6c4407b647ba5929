//! Checkpoints, run folders and the training loop on tiny synthetic data.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use skelzero::nn::checkpoint::{CheckpointError, load_varmap, save_varmap};
use skelzero::nn::encoder::{Encoder, EncoderConfig};
use skelzero::nn::optim::cosine_lr;
use skelzero::nn::stgcn::StGcnConfig;
use skelzero::pretrain::options::TrainOptions;
use skelzero::pretrain::run::{DataInfo, RunConfig, RunDir, RunError};
use skelzero::pretrain::train::{Splits, TensorSet, TrainOutcome, holdout_split, train};

fn tiny() -> EncoderConfig {
    EncoderConfig::Stgcn(StGcnConfig {
        hidden_channels: 4,
        hidden_dim: 8,
        dropout: 0.0,
        ..Default::default()
    })
}

/// Two classes that differ in motion: class 0 raises every joint's y over time, class 1 lowers it.
fn toy_set(n: usize) -> TensorSet {
    let (c, t, v, m) = (3, 8, 25, 2);
    let mut x = vec![0f32; n * c * t * v * m];
    let mut labels = Vec::new();
    for s in 0..n {
        let cls = (s % 2) as u32;
        labels.push(cls);
        for ti in 0..t {
            for vi in 0..v {
                for mi in 0..m {
                    let base = s * c * t * v * m;
                    let dir = if cls == 0 { 1.0 } else { -1.0 };
                    let noise = ((s * 31 + ti * 7 + vi * 3 + mi) % 11) as f32 * 0.01;
                    x[base + (ti * v + vi) * m + mi] = vi as f32 * 0.1 + noise;
                    x[base + ((t + ti) * v + vi) * m + mi] = dir * ti as f32 * 0.1 + noise;
                    x[base + ((2 * t + ti) * v + vi) * m + mi] = 0.5 + noise;
                }
            }
        }
    }
    TensorSet::new(x, labels, [c, t, v, m]).unwrap()
}

#[test]
fn checkpoint_round_trip_and_mismatch_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    let vm = VarMap::new();
    let enc = Encoder::new(&tiny(), 2, &vm, &Device::Cpu).unwrap();
    let x = Tensor::randn(0f32, 1.0, (2, 3, 8, 25, 2), &Device::Cpu).unwrap();
    enc.encode(&x, true).unwrap(); // move the running stats
    let before = enc.encode(&x, false).unwrap().pooled;
    save_varmap(&vm, &path).unwrap();

    let vm2 = VarMap::new();
    let enc2 = Encoder::new(&tiny(), 2, &vm2, &Device::Cpu).unwrap();
    load_varmap(&vm2, &path).unwrap();
    let after = enc2.encode(&x, false).unwrap().pooled;
    let d = (before - after)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(d, 0.0);

    // A network with a different head and width: every mismatch is named with both shapes.
    let vm3 = VarMap::new();
    let wide = EncoderConfig::Stgcn(StGcnConfig {
        hidden_channels: 4,
        hidden_dim: 16,
        dropout: 0.0,
        ..Default::default()
    });
    Encoder::new(&wide, 3, &vm3, &Device::Cpu).unwrap();
    let err = load_varmap(&vm3, &path).unwrap_err();
    let CheckpointError::Mismatch { problems, .. } = &err else {
        panic!("{err}")
    };
    let msg = err.to_string();
    assert!(msg.contains("ck.safetensors"), "{msg}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`fc.weight`") && p.contains("[3, 16]") && p.contains("[2, 8]")),
        "{msg}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("st_gcn_networks.9.tcn.2.weight")),
        "{msg}"
    );

    // A truncated file is a format error, not a panic.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        load_varmap(&vm2, &path),
        Err(CheckpointError::Format { .. })
    ));
}

#[test]
fn cosine_schedule_and_holdout() {
    assert_eq!(cosine_lr(1.0, 0, 10), 1.0);
    assert!((cosine_lr(1.0, 5, 10) - 0.5).abs() < 1e-12);
    assert!(cosine_lr(1.0, 10, 10).abs() < 1e-12);
    let labels: Vec<u32> = (0..40).map(|i| i % 4).collect();
    let (tr, va) = holdout_split(&labels, 0.2, 3);
    assert_eq!(tr.len() + va.len(), 40);
    assert_eq!(va.len(), 8);
    for c in 0..4 {
        assert_eq!(va.iter().filter(|&&i| labels[i] == c).count(), 2);
    }
    assert!(tr.iter().all(|i| !va.contains(i)));
}

#[test]
fn train_writes_run_folder_resumes_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let opts = TrainOptions {
        epochs: 8,
        batch_size: 8,
        lr: 1e-2,
        weight_decay: 0.0,
        val_fraction: 0.0,
        seed: 1,
        augment: true,
        early_stop: None,
    };
    let cfg = RunConfig {
        data: DataInfo {
            dataset: "synthetic".into(),
            split: "toy".into(),
            frames: 8,
            joints: 25,
            bodies: 2,
            rotation: skelzero::skeleton::preprocess::Rotation::PerFrameY,
        },
        train: opts.clone(),
        classes: vec![0, 1],
        encoder: tiny(),
    };
    run.save_config(&cfg).unwrap();
    assert_eq!(run.load_config().unwrap(), cfg);
    let data = toy_set(24);
    let val = toy_set(8);
    let stop = AtomicBool::new(false);

    // Two epochs, then "resume" to eight with a fresh network loaded from the checkpoint.
    let vm = VarMap::new();
    let enc = Encoder::new(&cfg.encoder, 2, &vm, &Device::Cpu).unwrap();
    let two = TrainOptions {
        epochs: 2,
        ..opts.clone()
    };
    assert_eq!(
        train(
            &enc,
            &vm,
            Splits {
                train: &data,
                val: &val
            },
            &two,
            &run,
            &stop,
            false
        )
        .unwrap(),
        TrainOutcome::Finished { epochs_done: 2 }
    );
    assert!(run.checkpoint_path().exists());
    assert_eq!(run.load_metrics().unwrap().len(), 2);
    assert_eq!(run.load_progress().unwrap().epochs_done, 2);

    let vm2 = VarMap::new();
    let enc2 = Encoder::new(&cfg.encoder, 2, &vm2, &Device::Cpu).unwrap();
    load_varmap(&vm2, &run.checkpoint_path()).unwrap();
    assert_eq!(
        train(
            &enc2,
            &vm2,
            Splits {
                train: &data,
                val: &val
            },
            &opts,
            &run,
            &stop,
            false
        )
        .unwrap(),
        TrainOutcome::Finished { epochs_done: 8 }
    );
    let metrics = run.load_metrics().unwrap();
    assert_eq!(
        metrics.iter().map(|m| m.epoch).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    assert!(metrics[7].train_loss < metrics[0].train_loss, "{metrics:?}");
    assert!(
        metrics
            .iter()
            .all(|m| m.val_acc.is_some() && m.val_loss.unwrap().is_finite())
    );

    // A raised stop flag ends before any new epoch and leaves the checkpoint alone.
    let more = TrainOptions {
        epochs: 10,
        ..opts.clone()
    };
    let before = std::fs::read(run.checkpoint_path()).unwrap();
    let stopped = AtomicBool::new(true);
    assert_eq!(
        train(
            &enc2,
            &vm2,
            Splits {
                train: &data,
                val: &val
            },
            &more,
            &run,
            &stopped,
            false
        )
        .unwrap(),
        TrainOutcome::Stopped { epochs_done: 8 }
    );
    assert_eq!(std::fs::read(run.checkpoint_path()).unwrap(), before);

    // A different config is refused with the differing keys.
    let other = RunConfig {
        classes: vec![0, 2],
        ..cfg.clone()
    };
    let err = run.check_config(&other).unwrap_err();
    assert!(matches!(err, RunError::ConfigMismatch { .. }));
    assert!(err.to_string().contains("classes"), "{err}");
    run.check_config(&cfg).unwrap();
}
