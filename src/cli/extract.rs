//! `skelzero extract`: pooled features of a pretrained encoder for every sample of a dataset.

use std::path::PathBuf;

use candle_core::Device;
use candle_nn::VarMap;

use crate::dataset::DatasetKind;
use crate::dataset::protocol::SplitArgs;
use crate::nn::checkpoint::load_varmap;
use crate::nn::encoder::Encoder;
use crate::pretrain::run::RunDir;
use crate::pretrain::train::extract_features;
use crate::skeleton::preprocess::PreprocessConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `skelzero pretrain`.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset root, folder or file (not needed for `synthetic`).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Dataset family (default: the run's).
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetKind>,
    /// Output features (N x C float32 .npy); labels go beside it as `<stem>_labels.npy` (int64, 0-based dataset
    /// classes) and sample ids as `<stem>_ids.txt`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// With a split (`--split NAME`, `--unseen IDS` or `--split-file PATH`): write the zero-shot feature file of
    /// that split instead (safetensors: seen-class training features, the GZSL test features, SMIE's
    /// keyframe-masked view, STAR's feature map and every sample's id in the header), the input of `skelzero
    /// train`; `skelzero eval --predictions` names the samples by these ids.
    #[command(flatten)]
    pub split: SplitArgs,
    /// With a split: leave STAR's input, the encoder's pre-pooling feature map (T' x V x C per sequence, 335 KB
    /// each with NTU's sizes, about 38 GB for NTU-120), out of the feature file. Every other method trains and
    /// evaluates without it; STAR refuses such a file.
    #[arg(long)]
    pub no_map: bool,
    /// With a split: store STAR's feature map in half precision, half the file and the memory `train` and `eval`
    /// need (about 19 GB for NTU-120 instead of 38). STAR reads it back as f32; its input then differs by the
    /// rounding (about 5e-4 relative), so its scores move slightly. The other features stay f32.
    #[arg(long, conflicts_with = "no_map")]
    pub map_f16: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    crate::util::tune_malloc();
    crate::experiment::run_kind::expect_run(
        &args.run,
        crate::experiment::run_kind::RunKind::Pretrain,
        "--run",
    )
    .map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        !(args.no_map || args.map_f16) || args.split.is_given(),
        "--no-map and --map-f16 apply to a split's feature file (--split, --unseen or --split-file); without one, extract \
         writes pooled features only"
    );
    let run_dir = RunDir::new(&args.run);
    let cfg = run_dir.load_config()?;
    let kind = match args.dataset {
        Some(k) => k,
        None => cfg.data.kind().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: unknown dataset `{}`; pass --dataset",
                run_dir.config_path().display(),
                cfg.data.dataset
            )
        })?,
    };
    let ds = super::pretrain::load_data(kind, args.data.as_deref())?;
    let vm = VarMap::new();
    let enc = Encoder::new(&cfg.encoder, cfg.classes.len(), &vm, &Device::Cpu)?;
    load_varmap(&vm, &run_dir.checkpoint_path())?;
    let pre = cfg.data.preprocess();
    if args.split.is_given() {
        return write_split_features(args, &enc, &ds, &args.split, pre);
    }
    let all: Vec<usize> = (0..ds.samples.len()).collect();
    let set = super::pretrain::tensor_set(&ds, &all, &pre, false, |l| Some(l as u32))?;
    let feats = extract_features(&enc, &set, args.batch_size)?;
    let dim = cfg.encoder.feature_dim();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("features.npy"));
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "features".into());
    let dir = out.parent().map(PathBuf::from).unwrap_or_default();
    crate::formats::npy::write_f32(&out, &[set.len(), dim], &feats)?;
    let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
    crate::formats::npy::write_i64(
        &dir.join(format!("{stem}_labels.npy")),
        &[labels.len()],
        &labels,
    )?;
    let ids: String = ds
        .samples
        .iter()
        .map(|s| format!("{}\n", s.meta.id))
        .collect();
    crate::util::write_bytes_atomic(&dir.join(format!("{stem}_ids.txt")), ids.as_bytes())?;
    eprintln!("{} features of size {dim} -> {}", set.len(), out.display());
    Ok(())
}

fn write_split_features(
    args: &Args,
    enc: &Encoder,
    ds: &crate::dataset::Dataset,
    split: &SplitArgs,
    preprocess: PreprocessConfig,
) -> anyhow::Result<()> {
    use crate::dataset::protocol::ProtocolInputs;
    use crate::pipeline::{FeatureOptions, split_features_from_dataset};
    let part = split.partition(ds, &ProtocolInputs::for_dataset(ds)?)?;
    let opts = FeatureOptions {
        preprocess,
        batch_size: args.batch_size,
        with_map: !args.no_map,
        map_f16: args.map_f16,
        ..FeatureOptions::default()
    };
    let total = part.train.len() + part.gzsl_test.len();
    let bar = crate::util::progress::bar(total as u64, "extracting");
    let feats = split_features_from_dataset(enc, ds, &part, &opts, &mut |done, _| {
        bar.set_position(done as u64);
        true
    })?;
    bar.finish_and_clear();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join(format!("{}.safetensors", part.name)));
    feats.save(&out)?;
    eprintln!(
        "split {} (unseen {}): {} training and {} test samples (with their ids) -> {}",
        part.name,
        one_based(&part.unseen),
        feats.train_labels.len(),
        feats.test_labels.len(),
        out.display()
    );
    Ok(())
}

/// 0-based classes as the flags take them: 1-based, comma-separated.
pub(crate) fn one_based(classes: &[usize]) -> String {
    let ids: Vec<String> = classes.iter().map(|c| (c + 1).to_string()).collect();
    ids.join(",")
}
