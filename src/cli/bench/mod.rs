//! `skelzero bench`: every method on every split, table and JSON.
//!
//! Two ways in: pre-extracted feature files (`--features-dir DIR`, one `DIR/SPLIT.safetensors` per split) with class
//! embeddings (`--texts FILE`), or raw data (`--data`): per split, pretrain the skeleton encoder on the seen classes
//! (resumable, kept in `--work`), extract the split's features, and embed the class texts with `--text-model`. Every
//! encoder of the run is prepared first (`raw.rs`), side by side with `--jobs`, then each split's methods.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::dataset::protocol::SplitArgs;
use crate::dataset::split_args::{ClassIds, parse_class_ids};
use crate::dataset::texts::ClassTexts;
use crate::dataset::{Dataset, DatasetKind};
use crate::experiment::bench::{BenchReport, BenchSplit, run_split, summarize, table};
use crate::zsl::features::{SplitFeatures, load_class_embeddings};
use crate::zsl::preset::{self, PaperDataset};
use crate::zsl::{MethodConfig, MethodKind};

mod raw;
use raw::{Prepared, RawData};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// msr, pku, ntu60 or ntu120.
    #[arg(long)]
    pub dataset: String,
    /// Dataset folder (raw skeletons).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Comma-separated methods.
    #[arg(long, default_value = "devise,relationnet,smie,infocpl,star")]
    pub methods: String,
    /// Comma-separated split names (`skelzero splits` lists them).
    #[arg(long, required_unless_present_any = ["unseen", "split_file"])]
    pub splits: Option<String>,
    /// A custom split's unseen classes, 1-based ids as `skelzero splits` prints them (`--unseen 3,7,9`); every
    /// other class is seen. Repeatable: each is one split, named `unseen-3-7-9`.
    #[arg(long, value_name = "IDS", value_parser = parse_class_ids)]
    pub unseen: Vec<ClassIds>,
    /// A split file (TOML or JSON: `unseen`, optional `seen`, `train_subjects`, `name`; see `skelzero pretrain
    /// --help`). Repeatable: each is one split, named by its `name` or file stem.
    #[arg(long, value_name = "PATH")]
    pub split_file: Vec<PathBuf>,
    /// Class text embeddings (safetensors) or a folder holding `embeddings.safetensors`.
    #[arg(long)]
    pub texts: Option<PathBuf>,
    /// Folder of pre-extracted features, one `SPLIT.safetensors` per split.
    #[arg(long)]
    pub features_dir: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate (default: chosen per method and split on the seen-class validation split).
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Disjoint pseudo-unseen validation folds the selection averages over (default: 3 where the seen classes allow).
    #[arg(long)]
    pub folds: Option<usize>,
    /// With --data: skeleton encoder pretrained per split.
    #[arg(long, value_enum, default_value = "stgcn")]
    pub encoder: super::pretrain::EncoderArg,
    /// With --data: encoder pretraining epochs (default: pretrain's for the dataset).
    #[arg(long)]
    pub encoder_epochs: Option<usize>,
    /// With --data: folder for the per-split encoder runs and feature files (reused when present).
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// With --data: pretrain one encoder per validation fold without the fold's pseudo-unseen classes, so that
    /// selection sees pseudo-unseen classes as unfamiliar as the test's unseen ones [default: on for the small
    /// datasets msr, pku, utkinect and synthetic; off for NTU, where it multiplies a long pretraining by 1 + folds].
    #[arg(long, overrides_with = "no_fold_encoders")]
    pub fold_encoders: bool,
    /// With --data: the folds read the split encoder's features (faster, biased towards early epochs).
    #[arg(long, overrides_with = "fold_encoders")]
    pub no_fold_encoders: bool,
    /// With --data: sentence encoder for the class texts (`minilm`, `mpnet`, a model folder, or `clip`: CLIP
    /// ViT-L/14@336's text tower, the official STAR's, from --clip-dir or the Hugging Face cache).
    #[arg(long, default_value = "minilm")]
    pub text_model: String,
    /// With --text-model clip: the CLIP folder (config.json, tokenizer.json, model.safetensors).
    #[arg(long, value_name = "DIR")]
    pub clip_dir: Option<PathBuf>,
    #[command(flatten)]
    pub class_texts: ClassTextArgs,
    /// `default` (skelzero's choices) or `paper` (the official code's; see the README's fidelity table). Recorded
    /// in the JSON report as `"preset"`.
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// STAR only: SCE over every class's texts, unseen included (transductive on the text side, as the official
    /// code); recorded in the JSON as `"transductive_text": true`.
    #[arg(long)]
    pub transductive_text: bool,
    /// Jobs run side by side, each on one thread: first every encoder (each split's, each fold's), then each
    /// split's methods. Default: the CPU cores on the small datasets (msr, pku, utkinect, synthetic), where one
    /// thread per op does more work per core than several; 1 on NTU (each job holds gigabytes and its large ops use
    /// the cores themselves) and in CUDA builds. The figures do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

impl Args {
    /// The jobs run side by side (see `--jobs`).
    pub fn jobs(&self) -> usize {
        if let Some(n) = self.jobs {
            return usize::from(n);
        }
        let small = <DatasetKind as clap::ValueEnum>::from_str(&self.dataset, true)
            .is_ok_and(|kind| kind.is_small());
        if small && !crate::nn::device::cuda_built() {
            crate::util::parallel::cores()
        } else {
            1
        }
    }

    /// Whether `bench --data` pretrains fold encoders on `kind` (see `--fold-encoders`).
    pub fn use_fold_encoders(&self, kind: DatasetKind) -> bool {
        if self.fold_encoders {
            return true;
        }
        if self.no_fold_encoders {
            return false;
        }
        kind.is_small()
    }
}

/// Where a dataset's class texts come from (the dataset's own names when none is given).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ClassTextArgs {
    /// A TSV folder (`classes.tsv`, optional `sentence.tsv`, `parts.tsv`, `phrases.tsv`); default: the dataset
    /// root's `text/` folder when it has one.
    #[arg(long, value_name = "DIR")]
    pub class_texts: Option<PathBuf>,
    /// One sentence per class (SMIE `*_des.txt` style).
    #[arg(long, value_name = "FILE")]
    pub sentences: Option<PathBuf>,
    /// STAR part descriptions (`*_part_descriptions.txt`).
    #[arg(long, value_name = "FILE")]
    pub parts: Option<PathBuf>,
    /// Neuron-style JSON phrase codebooks.
    #[arg(long, value_name = "FILE")]
    pub phrases: Option<PathBuf>,
}

impl ClassTextArgs {
    /// The class texts of `ds`.
    pub fn load(&self, ds: &Dataset) -> anyhow::Result<ClassTexts> {
        let default_dir = [ds.root.join("text"), ds.root.join("..").join("text")]
            .into_iter()
            .find(|d| d.join("classes.tsv").is_file());
        let mut texts = match self.class_texts.clone().or(default_dir) {
            Some(dir) => ClassTexts::from_tsv_dir(&dir)?,
            None => ClassTexts::from_names(ds.classes.clone()),
        };
        anyhow::ensure!(
            texts.num_classes() == ds.classes.len(),
            "the class texts name {} classes, the dataset has {}",
            texts.num_classes(),
            ds.classes.len()
        );
        if let Some(p) = &self.sentences {
            texts = texts.with_sentence_file(p)?;
        }
        if let Some(p) = &self.parts {
            texts = texts.with_star_parts(p)?;
        }
        if let Some(p) = &self.phrases {
            texts = texts.with_neuron_phrases(p)?;
        }
        Ok(texts)
    }
}

/// Refuses a work folder's encoder run that was started for another number of epochs: `pretrain` would resume it
/// to the new count and overwrite the checkpoint, so the benchmark would silently compare a different encoder.
/// (`pretrain` itself allows that on purpose, to train longer.)
fn check_reused_encoder(
    enc_dir: &Path,
    epochs: Option<usize>,
    kind: DatasetKind,
) -> anyhow::Result<()> {
    let run_dir = crate::pretrain::run::RunDir::new(enc_dir);
    if !run_dir.config_path().exists() {
        return Ok(());
    }
    let stored = run_dir.load_config()?.train.epochs;
    let asked = epochs.unwrap_or(super::pretrain::default_epochs(kind));
    anyhow::ensure!(
        stored == asked,
        "{} holds an encoder run of {stored} epochs and this bench asks for {asked}{}: pass --encoder-epochs {stored} \
         to reuse it, or another --work folder",
        enc_dir.display(),
        if epochs.is_none() {
            " (the default)"
        } else {
            ""
        }
    );
    Ok(())
}

/// The splits a bench runs, each with the name its table row, JSON entry and files go by: `--splits` in order,
/// then each `--unseen`, then each `--split-file`.
fn bench_splits(args: &Args) -> anyhow::Result<Vec<(SplitArgs, String)>> {
    let named = args
        .splits
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(SplitArgs::named);
    let unseen = args.unseen.iter().map(|ids| SplitArgs::unseen_ids(&ids.0));
    let files = args.split_file.iter().map(|p| SplitArgs::file(p));
    let mut out: Vec<(SplitArgs, String)> = Vec::new();
    for split in named.chain(unseen).chain(files) {
        let name = split.name()?.context("a split without a name")?;
        anyhow::ensure!(
            !out.iter().any(|(_, n)| *n == name),
            "two splits are named `{name}`: give the split files different `name`s"
        );
        out.push((split, name));
    }
    anyhow::ensure!(
        !out.is_empty(),
        "no split: give --splits, --unseen or --split-file"
    );
    Ok(out)
}

/// The pretrained encoder of the run folder `enc_dir` (on the CPU) and the run's configuration.
pub(super) fn load_encoder(
    enc_dir: &Path,
) -> anyhow::Result<(crate::nn::encoder::Encoder, crate::pretrain::run::RunConfig)> {
    let run_dir = crate::pretrain::run::RunDir::new(enc_dir);
    let cfg = run_dir.load_config()?;
    let vm = candle_nn::VarMap::new();
    let enc = crate::nn::encoder::Encoder::new(
        &cfg.encoder,
        cfg.classes.len(),
        &vm,
        &candle_core::Device::Cpu,
    )?;
    crate::nn::checkpoint::load_varmap(&vm, &run_dir.checkpoint_path())?;
    Ok((enc, cfg))
}

fn split_inputs(
    args: &Args,
    raw: Option<(&RawData, &mut Prepared)>,
    split: &str,
) -> anyhow::Result<BenchSplit> {
    if let Some((raw, prepared)) = raw {
        return raw.split(prepared, split);
    }
    let dir = args
        .features_dir
        .as_ref()
        .context("pass --data (raw skeletons) or --features-dir (pre-extracted features)")?;
    let texts = args
        .texts
        .as_ref()
        .context("--texts is required with --features-dir")?;
    let texts: PathBuf = if texts.is_dir() {
        texts.join("embeddings.safetensors")
    } else {
        texts.clone()
    };
    let features = SplitFeatures::load(&dir.join(format!("{split}.safetensors")))?;
    let classes = load_class_embeddings(Path::new(&texts))?;
    Ok(BenchSplit {
        name: split.to_owned(),
        classes,
        features,
        encoder: None,
        fold_train: None,
    })
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    // Ctrl-C stops after the current epoch or batch; pretrained encoders and extracted features already on disk are
    // kept, so the same command resumes.
    crate::util::interrupt::stop_flag();
    let start = std::time::Instant::now();
    let kind = <DatasetKind as clap::ValueEnum>::from_str(&args.dataset, true).map_err(|_| {
        anyhow::anyhow!(
            "unknown dataset `{}` (msr, pku, ntu60, ntu120, synthetic)",
            args.dataset
        )
    })?;
    let splits = bench_splits(args)?;
    let raw = match (&args.data, kind) {
        (Some(path), _) if args.features_dir.is_none() => {
            Some(RawData::load(args, kind, Some(path))?)
        }
        (None, DatasetKind::Synthetic) if args.features_dir.is_none() => {
            Some(RawData::load(args, kind, None)?)
        }
        _ => None,
    };
    let jobs = args.jobs();
    // Every encoder first, side by side: the splits' methods then read their features from the work folder.
    let mut prepared = match &raw {
        Some(raw) => Some(raw.prepare(args, &splits, jobs)?),
        None => None,
    };
    let preset = super::train::parse_preset(&args.preset)?;
    let kinds = args
        .methods
        .split(',')
        .map(|m| MethodKind::from_name(m).with_context(|| format!("unknown method `{m}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dataset = PaperDataset::from_name(&args.dataset);
    anyhow::ensure!(
        !args.transductive_text || kinds.contains(&MethodKind::Star),
        "--transductive-text applies to star, which is not among --methods"
    );
    let mut report = BenchReport {
        dataset: args.dataset.clone(),
        preset,
        transductive_text: args.transductive_text,
        ..Default::default()
    };
    let epochs = args.epochs;
    let train = |k: MethodKind| {
        let mut t = preset::train_config(k, preset, super::train::default_train_config(k));
        if let Some(e) = epochs {
            t.epochs = e;
        }
        t.seed = args.seed;
        t
    };
    let lrs = |k: MethodKind| match args.lr {
        Some(lr) => vec![lr],
        None => super::train::preset_lrs(k, preset),
    };
    for k in &kinds {
        for note in preset::limitations(*k, preset) {
            eprintln!("{}: {note}", k.title());
        }
    }
    // STAR's online augmentation needs the encoder and the raw samples: the paper preset from raw data only.
    let augment_star = preset == preset::Preset::Paper && kinds.contains(&MethodKind::Star);
    if augment_star && raw.is_none() {
        eprintln!("STAR: {}", preset::NO_AUGMENTATION);
    }
    report.online_augmentation = augment_star && raw.is_some();
    for (split_args, split) in splits {
        let inputs = split_inputs(args, raw.as_ref().zip(prepared.as_mut()), &split)?;
        let augment_inputs = match &raw {
            Some(raw) if augment_star => Some(raw.augment_inputs(
                args,
                &split_args,
                &split,
                inputs.features.train_labels.len(),
            )?),
            _ => None,
        };
        let augment = match (&raw, &augment_inputs) {
            (Some(raw), Some((enc, rows, pre))) => {
                Some(crate::pipeline::augment::OnlineAugment::new(
                    enc,
                    &raw.dataset,
                    rows.clone(),
                    pre.clone(),
                ))
            }
            _ => None,
        };
        let shape = preset::TextShape::of(&inputs.classes);
        let methods: Vec<MethodConfig> = kinds
            .iter()
            .map(|&k| {
                let mut m = preset::method_config(k, preset, dataset, shape);
                if let MethodConfig::Star(c) = &mut m {
                    c.transductive_text = args.transductive_text;
                    c.online_augment = augment.is_some();
                }
                m
            })
            .collect();
        run_split(
            &mut report,
            &inputs,
            augment
                .as_ref()
                .map(|a| a as &dyn crate::zsl::trainer::BatchSource),
            &methods,
            &train,
            &lrs,
            args.seed,
            args.folds,
            jobs,
        );
        if let Some(a) = &augment {
            eprintln!(
                "{split}: STAR's online augmentation (crop, rotation, encoder re-run) took {:.1} s",
                a.seconds()
            );
        }
    }
    summarize(&mut report);
    report.wall_seconds = start.elapsed().as_secs_f64();
    print!("{}", table(&report));
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        crate::util::write_bytes_atomic(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
