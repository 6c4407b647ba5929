//! `skelzero pretrain`: supervised training of a skeleton encoder on the seen classes of a split.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_nn::VarMap;

use crate::dataset::protocol::ProtocolInputs;
use crate::dataset::protocol::SplitArgs;
use crate::dataset::{Dataset, DatasetKind};
use crate::nn::checkpoint::load_varmap;
use crate::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use crate::pretrain::options::TrainOptions;
use crate::pretrain::recipe::Recipe;
use crate::pretrain::run::{DataInfo, RunConfig, RunDir, RunSplit};
use crate::pretrain::train::{
    Splits, TensorSet, TrainOutcome, evaluate, holdout_by_subject, train,
};
use crate::skeleton::preprocess::{
    PreprocessConfig, Rotation, batch_from_preprocessed, batch_from_sequences,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EncoderArg {
    Stgcn,
    Shiftgcn,
}

impl From<EncoderArg> for EncoderKind {
    fn from(e: EncoderArg) -> Self {
        match e {
            EncoderArg::Stgcn => Self::Stgcn,
            EncoderArg::Shiftgcn => Self::Shiftgcn,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset family.
    #[arg(long, value_enum)]
    pub dataset: DatasetKind,
    /// Dataset root, folder or file (not needed for `synthetic`, which is generated).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub split: SplitArgs,
    /// Network.
    #[arg(long, value_enum, default_value = "stgcn")]
    pub encoder: EncoderArg,
    /// Epochs [default: 50 for msr and utkinect, else 60].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size [default: 16 for msr and utkinect, else 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate of the cosine schedule [default: 2e-3 for msr and utkinect, else 1e-3].
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Fraction held out for validation: of the training subjects (whole subjects) where the data has subject ids,
    /// else of each class's samples [default: 0 for msr and utkinect, else 0.1].
    #[arg(long)]
    pub val_fraction: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Turn off the random scaling / rotation augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Early stopping: stop once the validation hold-out's accuracy (whole held-out subjects where the data has
    /// subject ids; needs --val-fraction above 0) has not improved for PATIENCE epochs, and keep the best epoch's
    /// weights [default: off, every epoch trains and the last is kept].
    #[arg(long, value_name = "PATIENCE", value_parser = clap::value_parser!(usize))]
    pub early_stop: Option<usize>,
    /// Bodies per sample, 1 or 2 [default: 1 for the single-actor datasets msr and utkinect, else 2].
    #[arg(long)]
    pub bodies: Option<usize>,
    /// How sequences are turned to face the camera [default: first-frame-y for msr and utkinect, else
    /// per-frame-y, SMIE's preprocessing].
    #[arg(long, value_enum)]
    pub rotation: Option<Rotation>,
    /// ST-GCN's dropout [default: 0.2 for msr and utkinect, else 0.5, SMIE's].
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Where to train (`cuda` needs a build with the `cuda` feature).
    #[arg(long, value_enum, default_value_t)]
    pub device: crate::nn::device::DeviceChoice,
    /// Run folder (created; an existing one with the same config is resumed).
    #[arg(long)]
    pub out: PathBuf,
}

/// Loads `kind` from `data` (or generates the synthetic set).
pub(crate) fn load_data(kind: DatasetKind, data: Option<&Path>) -> anyhow::Result<Dataset> {
    match (kind, data) {
        (DatasetKind::Synthetic, None) => Ok(crate::dataset::synthetic::generate_dataset(
            &crate::dataset::synthetic::SynthConfig::default(),
        )),
        (_, Some(path)) => Ok(crate::dataset::load::load_dataset(path, Some(kind))?),
        (_, None) => anyhow::bail!("--data is required for {kind:?}"),
    }
}

/// [`load_data`] for a job that only needs the preprocessed tensors (`pre`): NTU `.skeleton` folders are read
/// streaming, each raw sequence replaced by its preprocessed 50-frame form as soon as it is parsed, so the raw
/// sequences (about 1.6x the preprocessed ones on NTU) are never all in memory (issue 24). The flag says whether
/// the samples hold preprocessed sequences; pass it to [`tensor_set`]. Other sources are read whole, as before: a
/// sample there may fail preprocessing, which must stay an error only when the sample is used.
pub(crate) fn load_data_for(
    kind: DatasetKind,
    data: Option<&Path>,
    pre: &PreprocessConfig,
) -> anyhow::Result<(Dataset, bool)> {
    match (kind, data) {
        (DatasetKind::Ntu60 | DatasetKind::Ntu120, Some(path)) => {
            let map = |seq: &crate::skeleton::Sequence, file: &Path| {
                crate::skeleton::preprocess::preprocessed_from_sequence(seq, pre).map_err(|e| {
                    crate::formats::ReadError::file(file, format!("preprocessing: {e}"))
                })
            };
            let ds = crate::dataset::load::load_dataset_mapped(path, Some(kind), Some(&map))?;
            Ok((ds, true))
        }
        _ => Ok((load_data(kind, data)?, false)),
    }
}

/// Preprocesses the samples `idx` of `ds` into (3, frames, 25, bodies) tensors with labels mapped through `label_of`.
/// Frees the sequences of the samples `idx` (an empty sequence takes their place).
fn release_sequences(ds: &mut Dataset, idx: &[usize]) {
    for &i in idx {
        if let Some(s) = ds.samples.get_mut(i) {
            s.seq = s.seq.slice_frames(0, 0);
        }
    }
}

/// `preprocessed`: the samples hold sequences already preprocessed with `pre` ([`load_data_for`]).
pub(crate) fn tensor_set(
    ds: &Dataset,
    idx: &[usize],
    pre: &PreprocessConfig,
    preprocessed: bool,
    label_of: impl Fn(usize) -> Option<u32>,
) -> anyhow::Result<TensorSet> {
    let mut seqs = Vec::with_capacity(idx.len());
    let mut labels = Vec::with_capacity(idx.len());
    for &i in idx {
        let s = ds
            .samples
            .get(i)
            .with_context(|| format!("sample index {i} out of range"))?;
        let l = label_of(s.meta.label).with_context(|| {
            format!("sample {} has unexpected class {}", s.meta.id, s.meta.label)
        })?;
        seqs.push(&s.seq);
        labels.push(l);
    }
    let x = if preprocessed {
        batch_from_preprocessed(seqs, pre)
    } else {
        batch_from_sequences(seqs, pre)
    };
    let x = x.map_err(|e| match &e {
        crate::skeleton::preprocess::PreprocessError::Sample { index, .. } => {
            let id = idx
                .get(*index)
                .and_then(|&i| ds.samples.get(i))
                .map(|s| s.meta.id.clone())
                .unwrap_or_default();
            anyhow::anyhow!("preprocessing sample {id}: {e}")
        }
        _ => anyhow::anyhow!("preprocessing: {e}"),
    })?;
    Ok(TensorSet::new(x, labels, pre.sample_shape())?)
}

/// What a finished (or stopped) `pretrain` reports to its caller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PretrainSummary {
    /// Top-1 (fraction) on the seen classes' samples of the protocol's test side; `None` when the run was stopped
    /// or the test side holds no seen-class sample.
    pub seen_test_top1: Option<f64>,
    /// Samples behind [`Self::seen_test_top1`].
    pub seen_test_samples: usize,
    /// Optimiser updates of the whole schedule.
    pub updates: usize,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    pretrain(args).map(|_| ())
}

/// The epochs a `pretrain` of `dataset` runs when `--epochs` is not given.
pub fn default_epochs(dataset: DatasetKind) -> usize {
    Recipe::for_dataset(dataset).train.epochs
}

/// Trains (or resumes) the run, then measures the encoder on the seen classes of the test side.
pub fn pretrain(args: &Args) -> anyhow::Result<PretrainSummary> {
    crate::util::tune_malloc();
    let recipe = Recipe::for_dataset(args.dataset);
    let bodies = args.bodies.unwrap_or(recipe.bodies);
    PreprocessConfig::check_bodies(bodies).map_err(|e| anyhow::anyhow!("--bodies: {e}"))?;
    let rotation = args.rotation.unwrap_or(recipe.rotation);
    let early_pre = PreprocessConfig {
        bodies,
        rotation,
        ..PreprocessConfig::default()
    };
    let (mut ds, preprocessed) = load_data_for(args.dataset, args.data.as_deref(), &early_pre)?;
    let part = args
        .split
        .partition(&ds, &ProtocolInputs::for_dataset(&ds)?)?;
    let seen = part.seen.clone();
    let head_of = |label: usize| seen.iter().position(|&c| c == label).map(|p| p as u32);
    // Only seen-class samples ever reach the encoder: for training here, and for its test-side figure after.
    let seen_only = |idx: &[usize]| -> Vec<usize> {
        idx.iter()
            .copied()
            .filter(|&i| {
                ds.samples
                    .get(i)
                    .is_some_and(|s| seen.contains(&s.meta.label))
            })
            .collect()
    };
    let train_idx = seen_only(&part.train);
    anyhow::ensure!(
        !train_idx.is_empty(),
        "split `{}` has no training samples in {}",
        part.name,
        ds.root.display()
    );

    let defaults = recipe.train.clone();
    let opts = TrainOptions {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        batch_size: args.batch_size.unwrap_or(defaults.batch_size),
        lr: args.lr.unwrap_or(defaults.lr),
        weight_decay: args.weight_decay.unwrap_or(defaults.weight_decay),
        val_fraction: args.val_fraction.unwrap_or(defaults.val_fraction),
        seed: args.seed.unwrap_or(defaults.seed),
        augment: !args.no_augment,
        early_stop: args.early_stop,
    };
    anyhow::ensure!(
        opts.early_stop.is_none() || opts.val_fraction > 0.0,
        "--early-stop: early stopping needs a validation hold-out (--val-fraction above 0; the default for {:?} is {})",
        args.dataset,
        defaults.val_fraction
    );
    let mut encoder = EncoderConfig::default_for(args.encoder.into());
    match &mut encoder {
        EncoderConfig::Stgcn(c) => c.dropout = args.dropout.unwrap_or(recipe.dropout),
        EncoderConfig::Shiftgcn(c) => {
            anyhow::ensure!(args.dropout.is_none(), "--dropout applies to ST-GCN only");
            c.num_persons = bodies;
        }
    }
    let data = DataInfo {
        dataset: format!("{:?}", args.dataset).to_lowercase(),
        split: part.name.clone(),
        frames: PreprocessConfig::default().frames,
        joints: 25,
        bodies,
        rotation,
    };
    let pre = data.preprocess();
    anyhow::ensure!(
        pre == early_pre,
        "internal: the run's preprocessing differs from the reader's"
    );
    let cfg = RunConfig {
        data,
        train: opts.clone(),
        classes: seen.clone(),
        encoder,
    };
    let run_dir = RunDir::new(&args.out);
    let resuming = run_dir.config_path().exists();
    if resuming {
        // Only the epoch count may change on resume (to train longer).
        let stored = run_dir.load_config()?;
        let mut same = cfg.clone();
        same.train.epochs = stored.train.epochs;
        run_dir.check_config(&same)?;
    }

    let labels: Vec<u32> = train_idx
        .iter()
        .filter_map(|&i| ds.samples.get(i))
        .filter_map(|s| head_of(s.meta.label))
        .collect();
    let subjects: Vec<Option<u32>> = train_idx
        .iter()
        .map(|&i| ds.samples.get(i).and_then(|s| s.meta.subject))
        .collect();
    let (tr_pos, va_pos, held_subjects) =
        holdout_by_subject(&labels, &subjects, opts.val_fraction, opts.seed);
    let tr: Vec<usize> = tr_pos.iter().map(|&p| train_idx[p]).collect();
    let va: Vec<usize> = va_pos.iter().map(|&p| train_idx[p]).collect();
    let ids = |v: &[usize]| {
        v.iter()
            .filter_map(|&i| ds.samples.get(i))
            .map(|s| s.meta.id.clone())
            .collect::<Vec<_>>()
    };
    let split = RunSplit {
        name: part.name.clone(),
        seen: seen.clone(),
        unseen: part.unseen.clone(),
        train_ids: ids(&tr),
        val_ids: ids(&va),
    };
    if resuming {
        let have = run_dir.load_split()?;
        anyhow::ensure!(
            have == split,
            "{} holds a different sample split than this dataset gives; use a new --out",
            run_dir.split_path().display()
        );
        run_dir.save_config(&cfg)?;
    } else {
        run_dir.save_config(&cfg)?;
        run_dir.save_split(&split)?;
    }

    let held = if held_subjects.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = held_subjects.iter().map(ToString::to_string).collect();
        format!(" (held-out subjects {})", ids.join(","))
    };
    eprintln!(
        "{:?} split `{}`: {} seen classes, {} training / {} validation samples{held}; encoder {}",
        args.dataset,
        part.name,
        seen.len(),
        tr.len(),
        va.len(),
        cfg.encoder.kind()
    );
    // The seen classes' samples of the test side (other subjects / videos / views), for the figure after training;
    // unseen-class samples never reach the encoder, not even there.
    let test_idx = seen_only(&part.gzsl_test);
    // Only the tensors are kept: each sample's sequence is freed once its tensor is built, and those of samples no
    // set uses at once, so a sequence and its tensor are never both held for the whole dataset (issue 24).
    let used: std::collections::HashSet<usize> =
        tr.iter().chain(&va).chain(&test_idx).copied().collect();
    let unused: Vec<usize> = (0..ds.samples.len())
        .filter(|i| !used.contains(i))
        .collect();
    release_sequences(&mut ds, &unused);
    let train_set = tensor_set(&ds, &tr, &pre, preprocessed, head_of)?;
    release_sequences(&mut ds, &tr);
    let val_set = tensor_set(&ds, &va, &pre, preprocessed, head_of)?;
    release_sequences(&mut ds, &va);
    let test_set = if test_idx.is_empty() {
        None
    } else {
        Some(tensor_set(&ds, &test_idx, &pre, preprocessed, head_of)?)
    };
    drop(ds);

    let vm = VarMap::new();
    let device = crate::nn::device::device_from_choice(args.device)?;
    tracing::info!(device = %crate::nn::device::device_label(&device), "training device");
    let enc = Encoder::new_seeded(&cfg.encoder, seen.len(), &vm, &device, opts.seed)?;
    let progress = run_dir.load_progress()?;
    if progress.epochs_done > 0 {
        load_varmap(&vm, &run_dir.checkpoint_path())?;
        if progress.complete(opts.epochs) {
            // Nothing left to train: say so rather than announce a resume that will not happen.
            eprintln!(
                "{} is already trained for {} epochs; evaluating it without training",
                run_dir.checkpoint_path().display(),
                progress.epochs_done
            );
        } else {
            eprintln!(
                "resuming after epoch {} (AdamW moments restart: candle cannot save them)",
                progress.epochs_done
            );
        }
    }
    let stop = crate::util::interrupt::stop_flag();
    let t0 = std::time::Instant::now();
    let outcome = train(
        &enc,
        &vm,
        Splits {
            train: &train_set,
            val: &val_set,
        },
        &opts,
        &run_dir,
        &stop,
        true,
    )?;
    let mut metrics = run_dir.load_metrics()?;
    let epochs_run = match outcome {
        TrainOutcome::Finished { epochs_done } | TrainOutcome::Stopped { epochs_done } => {
            epochs_done
        }
    };
    let updates = epochs_run * tr.len().div_ceil(opts.batch_size.max(1));
    let mut summary = PretrainSummary {
        updates,
        ..Default::default()
    };
    match outcome {
        TrainOutcome::Finished { epochs_done } => {
            summary.seen_test_samples = test_idx.len();
            if let Some(test_set) = &test_set {
                let (_, acc) = evaluate(&enc, test_set, opts.batch_size.max(32))?;
                summary.seen_test_top1 = Some(acc);
                if let Some(last) = metrics.last_mut() {
                    last.seen_test_top1 = Some(acc);
                }
                run_dir.save_metrics(&metrics)?;
            }
            let last = metrics.last();
            if let Some(best) = run_dir.load_progress()?.best_epoch {
                eprintln!(
                    "early stopping: the run keeps epoch {best}'s weights (best validation accuracy)"
                );
            }
            eprintln!(
                "done: {epochs_done} epochs ({updates} updates) in {:.0} s; last val acc {}{held}; \
                 encoder top-1 on the seen classes of the test side: {} ({} samples); run folder {}",
                t0.elapsed().as_secs_f64(),
                last.and_then(|m| m.val_acc)
                    .map(|a| format!("{:.1}%", 100.0 * a))
                    .unwrap_or_else(|| "-".into()),
                summary
                    .seen_test_top1
                    .map(|a| format!("{:.1}%", 100.0 * a))
                    .unwrap_or_else(|| "-".into()),
                summary.seen_test_samples,
                args.out.display()
            );
        }
        TrainOutcome::Stopped { epochs_done } => eprintln!(
            "stopped; {} keeps the checkpoint of epoch {epochs_done}; run the same command to resume",
            args.out.display()
        ),
    }
    Ok(summary)
}
