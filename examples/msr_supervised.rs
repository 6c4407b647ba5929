//! Supervised sanity check of the skeleton encoder on real data: MSR Action3D, all 20 classes, cross-subject
//! (train subjects 1,3,5,7,9; test 2,4,6,8,10). The test set is evaluated after every epoch (into the run folder's
//! metrics); the reported figure is the last epoch's, with no model selection on the test set.
//!
//! `cargo run --release --example msr_supervised -- [DATA_DIR] [RUN_DIR] [EPOCHS] [stgcn|shiftgcn]`
//!
//! The defaults are `skelzero pretrain`'s recipe for MSR (one body, one rotation from the first frame, dropout 0.2),
//! 50 epochs: 74.9% (2026-11-26, 367 s on two cores); 79.3% in 162 s with the current kernels (2026-11-27).
//! Environment overrides for recipe studies: `MSR_LR` (default 2e-3), `MSR_BATCH` (16), `MSR_WD` (1e-4),
//! `MSR_AUGMENT` (1), `MSR_DROPOUT` (ST-GCN's, 0.2; SMIE's is 0.5), `MSR_ROTATION` (`first_frame_y`, `per_frame_y` as
//! SMIE, or `none`), `MSR_BODIES` (1; 2 adds the all-zero second body as the reference feeders do), `MSR_DEVICE`
//! (`cpu`, or `cuda` in a build with the `cuda` feature).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use candle_core::Device;
use candle_nn::VarMap;
use skelzero::dataset::DatasetKind;
use skelzero::nn::device::{DeviceChoice, device_from_choice};
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::pretrain::options::TrainOptions;
use skelzero::pretrain::recipe::Recipe;
use skelzero::pretrain::run::RunDir;
use skelzero::pretrain::train::{Splits, TensorSet, evaluate, train};
use skelzero::skeleton::preprocess::{PreprocessConfig, batch_from_sequences};

fn main() -> anyhow::Result<()> {
    skelzero::util::tune_malloc();
    let mut a = std::env::args().skip(1);
    let data = a.next().map(PathBuf::from).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/msr-action3d/skeleton"
        )
        .into()
    });
    let out = a
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| "runs/msr-supervised".into());
    let epochs: usize = a.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
    let kind = match a.next().as_deref() {
        Some("shiftgcn") => EncoderKind::Shiftgcn,
        _ => EncoderKind::Stgcn,
    };
    let ds = skelzero::dataset::load::load_dataset(&data, Some(DatasetKind::Msr))?;
    // `skelzero pretrain`'s defaults for MSR, which the environment overrides.
    let recipe = Recipe::for_dataset(DatasetKind::Msr);
    let mut pre = PreprocessConfig {
        rotation: recipe.rotation,
        ..PreprocessConfig::default()
    };
    let bodies: usize = env_or("MSR_BODIES")?.unwrap_or(recipe.bodies);
    PreprocessConfig::check_bodies(bodies).with_context(|| format!("MSR_BODIES={bodies}"))?;
    pre.bodies = bodies;
    if let Some(r) = env_or::<String>("MSR_ROTATION")? {
        pre.rotation = serde_json::from_value(serde_json::Value::String(r.clone()))
            .with_context(|| format!("MSR_ROTATION={r}"))?;
    }
    let set = |odd: bool| -> anyhow::Result<TensorSet> {
        let samples: Vec<_> = ds
            .samples
            .iter()
            .filter(|s| s.meta.subject.is_some_and(|x| (x % 2 == 1) == odd))
            .collect();
        let x = batch_from_sequences(samples.iter().map(|s| &s.seq).collect::<Vec<_>>(), &pre)?;
        let labels = samples.iter().map(|s| s.meta.label as u32).collect();
        Ok(TensorSet::new(x, labels, pre.sample_shape())?)
    };
    let (tr, te) = (set(true)?, set(false)?);
    anyhow::ensure!(
        !tr.is_empty() && !te.is_empty(),
        "no MSR samples with subject ids in {}",
        data.display()
    );
    eprintln!(
        "MSR Action3D: {} classes, {} train / {} test sequences",
        ds.num_classes(),
        tr.len(),
        te.len()
    );
    let opts = TrainOptions {
        epochs,
        batch_size: env_or("MSR_BATCH")?.unwrap_or(16),
        lr: env_or("MSR_LR")?.unwrap_or(2e-3),
        weight_decay: env_or("MSR_WD")?.unwrap_or(1e-4),
        val_fraction: 0.0,
        seed: 0,
        augment: env_or::<u8>("MSR_AUGMENT")?.is_none_or(|a| a != 0),
        early_stop: None,
    };
    let vm = VarMap::new();
    let mut cfg = EncoderConfig::default_for(kind);
    match &mut cfg {
        EncoderConfig::Stgcn(c) => {
            c.dropout = env_or::<f32>("MSR_DROPOUT")?.unwrap_or(recipe.dropout)
        }
        EncoderConfig::Shiftgcn(c) => c.num_persons = bodies,
    }
    let device = match env_or::<String>("MSR_DEVICE")?.as_deref() {
        None | Some("cpu") => Device::Cpu,
        Some("cuda") => device_from_choice(DeviceChoice::Cuda)?,
        Some(other) => anyhow::bail!("MSR_DEVICE={other}: cpu or cuda"),
    };
    let enc = Encoder::new_seeded(&cfg, ds.num_classes(), &vm, &device, opts.seed)?;
    let run = RunDir::new(&out);
    std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
    let t0 = std::time::Instant::now();
    train(
        &enc,
        &vm,
        Splits {
            train: &tr,
            val: &te,
        },
        &opts,
        &run,
        &AtomicBool::new(false),
        true,
    )?;
    let secs = t0.elapsed().as_secs_f64();
    let (loss, acc) = evaluate(&enc, &te, 32)?;
    println!(
        "{kind} MSR Action3D cross-subject, 20 classes: test top-1 {:.2}% (loss {loss:.3}) after {epochs} epochs, {secs:.0} s training",
        100.0 * acc
    );
    Ok(())
}

/// The value of the environment variable `key` parsed as `T`, if set.
fn env_or<T: std::str::FromStr>(key: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(key) {
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{key}={v}: {e}")),
        Err(_) => Ok(None),
    }
}
