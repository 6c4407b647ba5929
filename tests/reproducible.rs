//! Reproducibility on the CPU: the same seed gives bit-identical pretraining checkpoints (seeded initialisation,
//! dropout masks from the seed and step, parallel sums in a fixed order) and identical zero-shot weights and metrics.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use candle_nn::VarMap;
use skelzero::experiment::select::{SelectionConfig, fit_and_evaluate};
use skelzero::nn::checkpoint::save_varmap;
use skelzero::nn::encoder::{Encoder, EncoderConfig};
use skelzero::nn::stgcn::StGcnConfig;
use skelzero::pretrain::options::TrainOptions;
use skelzero::pretrain::run::RunDir;
use skelzero::pretrain::train::{Splits, TensorSet, TrainOutcome, train};
use skelzero::zsl::trainer::TrainConfig;
use skelzero::zsl::{MethodConfig, MethodKind};

mod cli;
mod zsl_synth;

/// `n` samples of shape (3, 16, 25, 2) in 3 classes, a smooth per-class motion plus a per-sample wobble.
fn toy_set(n: usize) -> TensorSet {
    let (c, t, v, m) = (3, 16, 25, 2);
    let mut x = Vec::with_capacity(n * c * t * v * m);
    let mut labels = Vec::new();
    for s in 0..n {
        let cls = s % 3;
        labels.push(cls as u32);
        for ch in 0..c {
            for ti in 0..t {
                for vi in 0..v {
                    for mi in 0..m {
                        let phase = (ti as f32 * 0.3 * (cls + 1) as f32 + vi as f32 * 0.2).sin();
                        let wobble = ((s * 13 + ch * 7 + ti * 5 + vi * 3 + mi) % 17) as f32 * 0.02;
                        x.push(phase * (ch + 1) as f32 * 0.5 + wobble);
                    }
                }
            }
        }
    }
    TensorSet::new(x, labels, [c, t, v, m]).unwrap()
}

/// Pretrains a small ST-GCN (dropout on, augmentation on) for two epochs in a rayon pool of `threads` threads into
/// `out`, and returns the checkpoint's bytes and the metrics with the timings cleared.
fn pretrain_in(out: &Path, threads: usize) -> (Vec<u8>, String) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let cfg = EncoderConfig::Stgcn(StGcnConfig {
            hidden_channels: 8,
            hidden_dim: 16,
            dropout: 0.5,
            ..Default::default()
        });
        let opts = TrainOptions {
            epochs: 2,
            batch_size: 12,
            lr: 1e-2,
            weight_decay: 1e-4,
            val_fraction: 0.0,
            seed: 7,
            augment: true,
            early_stop: None,
        };
        let vm = VarMap::new();
        let enc = Encoder::new_seeded(&cfg, 3, &vm, &Device::Cpu, opts.seed).unwrap();
        let run = RunDir::new(out);
        std::fs::create_dir_all(out).unwrap();
        let (data, val) = (toy_set(24), toy_set(6));
        let outcome = train(
            &enc,
            &vm,
            Splits {
                train: &data,
                val: &val,
            },
            &opts,
            &run,
            &AtomicBool::new(false),
            false,
        )
        .unwrap();
        assert_eq!(outcome, TrainOutcome::Finished { epochs_done: 2 });
        let mut metrics = run.load_metrics().unwrap();
        assert_eq!(metrics.len(), 2);
        for m in &mut metrics {
            assert!(m.train_loss.is_finite());
            m.seconds = 0.0;
        }
        (
            std::fs::read(run.checkpoint_path()).unwrap(),
            format!("{metrics:?}"),
        )
    })
}

#[test]
fn pretraining_twice_with_one_seed_gives_identical_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (a, ma) = pretrain_in(&dir.path().join("a"), 2);
    let (b, mb) = pretrain_in(&dir.path().join("b"), 2);
    assert!(a.len() > 1000, "checkpoint of {} bytes", a.len());
    assert!(a == b, "two runs with seed 7 wrote different checkpoints");
    assert_eq!(ma, mb);
    // The parallel sums are cut into parts fixed by the data, not the pool: another thread count, the same bits.
    let (c, mc) = pretrain_in(&dir.path().join("c"), 3);
    assert!(a == c, "2 vs 3 threads wrote different checkpoints");
    assert_eq!(ma, mc);
}

#[test]
fn seeded_encoders_start_equal_and_seeds_differ() {
    let cfg = EncoderConfig::Stgcn(StGcnConfig {
        hidden_channels: 4,
        hidden_dim: 8,
        ..Default::default()
    });
    let bytes = |seed: u64| {
        let vm = VarMap::new();
        Encoder::new_seeded(&cfg, 3, &vm, &Device::Cpu, seed).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ck.safetensors");
        save_varmap(&vm, &p).unwrap();
        std::fs::read(p).unwrap()
    };
    assert!(bytes(3) == bytes(3));
    assert!(bytes(3) != bytes(4));
}

/// Each method's default configuration, made small (as in `zsl_train.rs`) so that a fit takes a fraction of a second.
fn small_config(kind: MethodKind) -> MethodConfig {
    match MethodConfig::default_for(kind) {
        MethodConfig::Smie(mut c) => {
            c.hidden = [32, 16];
            MethodConfig::Smie(c)
        }
        MethodConfig::InfoCpl(mut c) => {
            c.hidden = [32, 16];
            c.topk = vec![1, 2];
            c.warmup_epochs = 2;
            MethodConfig::InfoCpl(c)
        }
        MethodConfig::Star(mut c) => {
            c.parts = 2;
            c.prompts = 4;
            c.dim = 16;
            c.hidden = 16;
            MethodConfig::Star(c)
        }
        other => other,
    }
}

fn varmap_bytes(vm: &VarMap) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.safetensors");
    save_varmap(vm, &p).unwrap();
    std::fs::read(p).unwrap()
}

#[test]
fn zero_shot_training_twice_with_one_seed_gives_identical_weights_and_metrics() {
    let s = zsl_synth::synth();
    let p = s.protocol();
    let tc = TrainConfig {
        epochs: 4,
        batch_size: 32,
        lr: 1e-2,
        seed: 5,
        ..Default::default()
    };
    let mut sel = SelectionConfig::for_split(zsl_synth::SEEN, zsl_synth::C - zsl_synth::SEEN);
    sel.lrs = vec![1e-2];
    sel.folds = 2;
    sel.seed = 5;
    for kind in MethodKind::ALL {
        let cfg = small_config(kind);
        let run = || {
            let mut f = fit_and_evaluate(&cfg, &tc, &sel, &p).unwrap();
            f.evaluation.train_seconds = 0.0;
            (varmap_bytes(&f.varmap), f.evaluation)
        };
        let (wa, ea) = run();
        let (wb, eb) = run();
        assert!(
            wa == wb,
            "{kind}: two fits with seed 5 gave different weights"
        );
        assert_eq!(ea, eb, "{kind}");
    }
}

/// The `pretrain` command end to end (its seeded encoder, dropout 0.5 on the synthetic set) with 1 and 2 threads:
/// the same checkpoint bytes.
#[test]
fn pretrain_command_gives_one_checkpoint_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str| {
        let out = dir.path().join(format!("run{threads}"));
        cli::succeeded(
            cli::skelzero()
                .env("RAYON_NUM_THREADS", threads)
                .args([
                    "pretrain",
                    "--dataset",
                    "synthetic",
                    "--epochs",
                    "1",
                    "--batch-size",
                    "16",
                    "--dropout",
                    "0.5",
                    "--seed",
                    "3",
                    "--out",
                ])
                .arg(&out),
        );
        std::fs::read(out.join("checkpoint.safetensors")).unwrap()
    };
    let one = run("1");
    assert!(
        one == run("2"),
        "1 and 2 threads wrote different checkpoints"
    );
}
