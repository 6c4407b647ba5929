//! Parse speed of the PKU-MMD skeleton reader on all recordings of a folder (default: the 76 files, 194 MB, in
//! `../shared/data/pku-mmd-v1/skeleton`; override with `SKELZERO_PKU_DIR`). Not a test: run it with
//! `cargo bench --bench pku_parse` or `benches/pku_parse_vs_pandas.sh`, which also times pandas.
//!
//! The files are read into memory first, so the figures are parse speed (the OS cache makes reading cheap anyway).
//! Prints `rust_rayon_mb_s=...` and `rust_1thread_mb_s=...` lines for the script.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use skelzero::formats::pku_mmd;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var_os("SKELZERO_PKU_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pku-mmd-v1/skeleton"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let contents: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|p| std::fs::read(p).map(|b| (p.clone(), b)))
        .collect::<Result<_, _>>()?;
    let bytes: usize = contents.iter().map(|(_, b)| b.len()).sum();
    let mb = bytes as f64 / 1e6;
    println!(
        "files={} bytes={bytes} ({mb:.1} MB) threads={}",
        files.len(),
        rayon::current_num_threads()
    );

    let parse = |(p, b): &(PathBuf, Vec<u8>)| pku_mmd::parse_skeleton(b, p).map(|s| s.frames());
    // Best of a few runs: the machine is shared, the minimum is the least disturbed.
    let mut best_par = f64::INFINITY;
    let mut best_seq = f64::INFINITY;
    let mut frames = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let r: Result<Vec<usize>, _> = contents.par_iter().map(parse).collect();
        best_par = best_par.min(t.elapsed().as_secs_f64());
        frames = r?.iter().sum::<usize>();
        let t = Instant::now();
        let r: Result<Vec<usize>, _> = contents.iter().map(parse).collect();
        best_seq = best_seq.min(t.elapsed().as_secs_f64());
        assert_eq!(r?.iter().sum::<usize>(), frames);
    }
    println!("frames={frames}");
    println!(
        "rust_rayon_s={best_par:.4} rust_rayon_mb_s={:.1}",
        mb / best_par
    );
    println!(
        "rust_1thread_s={best_seq:.4} rust_1thread_mb_s={:.1}",
        mb / best_seq
    );
    Ok(())
}
