//! `skelzero synth --like ntu120 --count N --out DIR [--seed S]`: writes NTU-shaped `.skeleton` files from the
//! synthetic action generator, for scale tests (see `dataset::synthetic::ntu_like`).

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use rayon::prelude::*;

use crate::dataset::synthetic::ntu_like::{
    NtuLike, is_mutual_action, ntu_like_body_ids, ntu_like_names, ntu_like_sequence,
};
use crate::formats::ntu_skeleton::{self, NtuName};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The dataset to mimic: its class count, subjects, setups and two-person classes.
    #[arg(long, value_enum)]
    pub like: NtuLike,
    /// Sequences to write, at most the real dataset's (56880 for ntu60, 114480 for ntu120).
    #[arg(long)]
    pub count: usize,
    /// A new or empty folder for the `.skeleton` files.
    #[arg(long)]
    pub out: PathBuf,
    /// Same seed, same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// What [`synth`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynthSummary {
    pub files: usize,
    pub bytes: u64,
    pub two_body: usize,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let s = synth(args)?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{} {:?}-like sequences ({} with two bodies), {:.1} MB, in {} ({secs:.1} s, {:.0} sequences/s)",
        s.files,
        args.like,
        s.two_body,
        s.bytes as f64 / 1e6,
        args.out.display(),
        s.files as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// Writes the files; refuses a folder that already holds anything, so no earlier file is overwritten.
pub fn synth(args: &Args) -> anyhow::Result<SynthSummary> {
    let names = ntu_like_names(args.like, args.count)?;
    prepare_out(&args.out)?;
    let bar = crate::util::progress::bar(names.len() as u64, "synth");
    let bytes = AtomicU64::new(0);
    names
        .par_iter()
        .try_for_each(|name| -> anyhow::Result<()> {
            let n = write_one(args, name)?;
            bytes.fetch_add(n, Ordering::Relaxed);
            bar.inc(1);
            Ok(())
        })?;
    bar.finish_and_clear();
    Ok(SynthSummary {
        files: names.len(),
        bytes: bytes.into_inner(),
        two_body: names.iter().filter(|n| is_mutual_action(n.action)).count(),
    })
}

fn prepare_out(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        anyhow::ensure!(
            out.is_dir(),
            "--out {} exists and is not a folder",
            out.display()
        );
        let mut entries = std::fs::read_dir(out)
            .with_context(|| format!("cannot read --out folder {}", out.display()))?;
        anyhow::ensure!(
            entries.next().is_none(),
            "--out {} is not empty; give a new or empty folder (nothing there is overwritten)",
            out.display()
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the --out folder {}", out.display()))
}

fn write_one(args: &Args, name: &NtuName) -> anyhow::Result<u64> {
    let seq = ntu_like_sequence(args.like, name, args.seed);
    let path = args.out.join(format!("{}.skeleton", name.code()));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    ntu_skeleton::write(&seq, &ntu_like_body_ids(name, args.seed), &mut w)
        .and_then(|()| w.flush())
        .with_context(|| format!("writing {}", path.display()))?;
    let len = w
        .get_ref()
        .metadata()
        .with_context(|| format!("reading the size of {}", path.display()))?
        .len();
    Ok(len)
}
