//! `skelzero predict`: scores a dataset with a pretrained encoder and a trained zero-shot run and writes
//! `predictions.json`, which `skelzero gui --run` opens.

use std::path::PathBuf;

use crate::dataset::DatasetKind;
use crate::experiment::run::load_run;
use crate::pipeline::{EncoderModel, predict_dataset};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `skelzero pretrain` (the skeleton encoder).
    #[arg(long)]
    pub encoder: PathBuf,
    /// Run folder written by `skelzero train` (the zero-shot method and its class embeddings).
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset root, folder or file (not needed for `synthetic`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Dataset family (default: the encoder run's).
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetKind>,
    /// Where to write the predictions: a `.json` file or a folder (default: the zero-shot run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the skeleton encoder runs (`cuda` needs a build with the `cuda` feature).
    #[arg(long, value_enum, default_value_t)]
    pub device: crate::nn::device::DeviceChoice,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    crate::util::tune_malloc();
    let device = crate::nn::device::device_from_choice(args.device)?;
    tracing::info!(device = %crate::nn::device::device_label(&device), "encoder device");
    let model = EncoderModel::load(&args.encoder, &device)?;
    let kind = match args.dataset {
        Some(k) => k,
        None => model.config.data.kind().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: unknown dataset `{}`; pass --dataset",
                args.encoder.display(),
                model.config.data.dataset
            )
        })?,
    };
    let ds = super::pretrain::load_data(kind, args.data.as_deref())?;
    let zsl = load_run(&args.run)?;
    let (rows, on_split) = crate::pipeline::predict::scored_rows(&ds, &zsl);
    let bar = crate::util::progress::bar(rows.len() as u64, "scoring");
    let p = predict_dataset(&model, &zsl, &ds, &mut |done, _| {
        bar.set_position(done as u64);
        !crate::util::interrupt::stop_requested()
    })?;
    bar.finish_and_clear();
    let m = p.metrics();
    println!(
        "{}: {} samples ({}); ZSL top-1 {:.1}%  GZSL S {:.1}% U {:.1}% H {:.1}%",
        p.method,
        p.num_samples(),
        if on_split {
            "the split's test samples"
        } else {
            "every sample: the run's split does not apply to this dataset"
        },
        100.0 * m.zsl_accuracy,
        100.0 * m.seen_accuracy,
        100.0 * m.unseen_accuracy,
        100.0 * m.harmonic
    );
    let out = args.out.clone().unwrap_or_else(|| args.run.clone());
    let file = p.save(&out)?;
    println!("predictions written to {}", file.display());
    Ok(())
}
