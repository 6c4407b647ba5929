//! Supervised sanity check of the skeleton encoder on real data: MSR Action3D, all 20 classes, cross-subject
//! (train subjects 1,3,5,7,9; test 2,4,6,8,10). The test set is evaluated after every epoch (into the run folder's
//! metrics); the reported figure is the last epoch's, with no model selection on the test set.
//!
//! `cargo run --release --example msr_supervised -- [DATA_DIR] [RUN_DIR] [EPOCHS] [stgcn|shiftgcn]`

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use candle_core::Device;
use candle_nn::VarMap;
use skelzero::dataset::DatasetKind;
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::nn::run::RunDir;
use skelzero::nn::train::{Splits, TensorSet, TrainOptions, evaluate, train};
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
    let epochs: usize = a.next().map(|s| s.parse()).transpose()?.unwrap_or(30);
    let kind = match a.next().as_deref() {
        Some("shiftgcn") => EncoderKind::Shiftgcn,
        _ => EncoderKind::Stgcn,
    };
    let ds = skelzero::dataset::load::load_dataset(&data, Some(DatasetKind::Msr))?;
    let pre = PreprocessConfig::default();
    let set = |odd: bool| -> anyhow::Result<TensorSet> {
        let samples: Vec<_> = ds
            .samples
            .iter()
            .filter(|s| s.meta.subject.is_some_and(|x| (x % 2 == 1) == odd))
            .collect();
        let x = batch_from_sequences(samples.iter().map(|s| &s.seq).collect::<Vec<_>>(), &pre)?;
        let labels = samples.iter().map(|s| s.meta.label as u32).collect();
        Ok(TensorSet::new(x, labels, [3, pre.frames, 25, 2])?)
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
        batch_size: 16,
        lr: 2e-3,
        weight_decay: 1e-4,
        val_fraction: 0.0,
        seed: 0,
        augment: true,
    };
    let vm = VarMap::new();
    let enc = Encoder::new(
        &EncoderConfig::default_for(kind),
        ds.num_classes(),
        &vm,
        &Device::Cpu,
    )?;
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
