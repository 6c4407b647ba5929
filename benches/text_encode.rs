//! Embeds the 60 SMIE NTU-60 descriptions plus the 120 NTU labels with MiniLM and mpnet, and, where PyTorch and
//! sentence-transformers are installed, runs `text_encode_st.py` on the same texts with the same threads and prints
//! both times and the ratio.
//!
//! `cargo bench --bench text_encode`. Threads: `SKELZERO_BENCH_THREADS` (default 2) sets `RAYON_NUM_THREADS`, which
//! candle's matmuls read, and `torch.set_num_threads` on the Python side. Repeats: `SKELZERO_BENCH_REPEATS` (5).
#![allow(clippy::unwrap_used)] // a benchmark aborts on setup errors

mod common;

use common::env_usize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use skelzero::text::{KnownModel, ModelStore, TextEncoder};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/text");

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn main() {
    let threads = env_usize("SKELZERO_BENCH_THREADS", 2);
    let repeats = env_usize("SKELZERO_BENCH_REPEATS", 5).max(1);
    // SAFETY: set before any other thread exists (candle and rayon start theirs later).
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    // The thread settings of the `skelzero` binary (its `main` makes the same call).
    // SAFETY: still single-threaded.
    unsafe { skelzero::util::configure_threads(false) };
    skelzero::util::tune_malloc();

    let mut texts = lines(&Path::new(SHARED).join("smie/ntu60_des.txt"));
    texts.extend(lines(&Path::new(SHARED).join("star/ntu120_label.txt")));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let texts_file = dir.path().join("texts.txt");
    std::fs::write(&texts_file, texts.join("\n") + "\n").unwrap();
    println!(
        "{} texts (60 SMIE descriptions + 120 NTU labels), {threads} threads (candle element-wise: {}), best of \
         {repeats}",
        texts.len(),
        std::env::var("CANDLE_NUM_THREADS").unwrap_or_default()
    );

    let store = ModelStore::default_location().unwrap();
    for model in KnownModel::ALL {
        let Ok(model_dir) = store.resolve(model.name(), false) else {
            println!(
                "{}: not installed (skelzero models fetch {}), skipped",
                model.hub_name(),
                model.name()
            );
            continue;
        };
        let start = Instant::now();
        let encoder = TextEncoder::load(&model_dir).unwrap();
        let load_s = start.elapsed().as_secs_f64();
        encoder.embed(&refs[..8]).unwrap(); // warm-up
        let runs: Vec<f64> = (0..repeats)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(encoder.embed(&refs).unwrap());
                start.elapsed().as_secs_f64()
            })
            .collect();
        let best = runs.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{:18} candle: best {best:.3} s (runs {}), load {load_s:.3} s",
            model.hub_name(),
            runs.iter()
                .map(|r| format!("{r:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        match reference(&model_dir, &texts_file, threads, repeats) {
            Ok((st_best, st_load)) => println!(
                "{:18} sentence-transformers: best {st_best:.3} s, load {st_load:.3} s; candle / torch = {:.2}",
                model.hub_name(),
                best / st_best
            ),
            Err(why) => println!(
                "{:18} sentence-transformers: not run ({why})",
                model.hub_name()
            ),
        }
    }
}

/// Runs the Python reference: `(best seconds, load seconds)`.
fn reference(
    model_dir: &Path,
    texts: &Path,
    threads: usize,
    repeats: usize,
) -> Result<(f64, f64), String> {
    let script = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/text_encode_st.py"
    ));
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .arg(&script)
        .arg(model_dir)
        .arg(texts)
        .arg(threads.to_string())
        .arg(repeats.to_string())
        .env("OMP_NUM_THREADS", threads.to_string())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            format!(
                "no result from {}: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    if let Some(missing) = value.get("missing") {
        return Err(format!(
            "PyTorch / sentence-transformers missing: {missing}"
        ));
    }
    match (value["best_s"].as_f64(), value["load_s"].as_f64()) {
        (Some(best), Some(load)) => Ok((best, load)),
        _ => Err(format!("unexpected output: {stdout}")),
    }
}
