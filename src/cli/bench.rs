//! `skelzero bench`: every method on every split, table and JSON.
//!
//! The per-split inputs are feature files (`--features-dir DIR`, one `DIR/SPLIT.safetensors` per split) and class
//! embeddings (`--texts FILE`). The full pipeline from raw data (`--data`: read, pretrain the encoder per split,
//! extract) plugs in through [`split_inputs`] once the data and encoder layers are merged.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::eval::bench::{BenchReport, BenchSplit, run_split, summarize, table};
use crate::zsl::features::{SplitFeatures, load_class_embeddings};
use crate::zsl::{MethodConfig, MethodKind};

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
    /// Comma-separated split names.
    #[arg(long)]
    pub splits: String,
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
}

fn split_inputs(args: &Args, split: &str) -> anyhow::Result<BenchSplit> {
    let dir = args.features_dir.as_ref().with_context(|| {
        "this build runs the benchmark on pre-extracted features: pass --features-dir (the raw-data pipeline, \
         pretraining and extraction, is not wired in yet)"
    })?;
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
    })
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    anyhow::ensure!(
        ["msr", "pku", "ntu60", "ntu120"].contains(&args.dataset.as_str()),
        "unknown dataset `{}` (msr, pku, ntu60, ntu120)",
        args.dataset
    );
    let methods = args
        .methods
        .split(',')
        .map(|m| {
            MethodKind::from_name(m)
                .map(MethodConfig::default_for)
                .with_context(|| format!("unknown method `{m}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut report = BenchReport {
        dataset: args.dataset.clone(),
        ..Default::default()
    };
    let epochs = args.epochs;
    let train = |k: MethodKind| {
        let mut t = super::train::default_train_config(k);
        if let Some(e) = epochs {
            t.epochs = e;
        }
        t.seed = args.seed;
        t
    };
    let lrs: Vec<f64> = match args.lr {
        Some(lr) => vec![lr],
        None => super::train::DEFAULT_LRS.to_vec(),
    };
    for split in args
        .splits
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let inputs = split_inputs(args, split)?;
        run_split(&mut report, &inputs, &methods, &train, &lrs, args.seed);
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
