//! `skelzero inspect PATH [--json]`: summarises a skeleton file or dataset folder.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::dataset::inspect::{summary_from_dataset, text_from_summary};
use crate::dataset::{DatasetKind, load_dataset};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A dataset root (with skeleton/, label/, text/), a folder of skeleton files, or one file.
    pub path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The dataset family, when the file names cannot tell (NTU-style .npy batches) or a folder mixes formats.
    #[arg(long, value_enum)]
    pub kind: Option<DatasetKind>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let ds = load_dataset(&args.path, args.kind)?;
    let summary = summary_from_dataset(&ds);
    if args.json {
        let text = serde_json::to_string_pretty(&summary).context("serialising the summary")?;
        println!("{text}");
    } else {
        print!("{}", text_from_summary(&summary));
    }
    Ok(())
}
