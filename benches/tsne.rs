//! t-SNE of 5,000 x 256 features (60 Gaussian clusters, the size of a large NTU test split's pooled features) with
//! skelzero's t-SNE, and, where Python with openTSNE or scikit-learn is available, the same data through
//! them in the same run (`benches/tsne_py.py`), printing each time and the ratio.
//!
//! `cargo bench --bench tsne`. Python: `SKELZERO_TSNE_PYTHON` (default `/work/venv-tsne/bin/python`, then
//! `python3`). Threads: `SKELZERO_BENCH_THREADS` (default 2) for both sides. Size: `SKELZERO_TSNE_N` (5000).
//! `SKELZERO_TSNE_LINFA=1` also times linfa-tsne 0.8 (bhtsne 0.4, single-threaded; slow). The phases (PCA,
//! neighbours, affinities, repulsion, optimisation) are logged at debug level (`RUST_LOG` overrides the filter).
#![allow(clippy::unwrap_used)] // a benchmark aborts on setup errors

mod common;

use common::env_usize;
use std::process::Command;
use std::time::Instant;

use rand::SeedableRng as _;
use rand_distr::Distribution as _;
use skelzero::pipeline::tsne::{TsneConfig, tsne_from_features};

/// Clustered features: `classes` random centres in `dim` dimensions, unit noise around each.
fn features(n: usize, dim: usize, classes: usize) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
    let centres: Vec<f32> = (0..classes * dim)
        .map(|_| 2.0 * normal.sample(&mut rng))
        .collect();
    (0..n)
        .flat_map(|i| {
            let c = i % classes;
            (0..dim)
                .map(|d| centres[c * dim + d] + normal.sample(&mut rng))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Share of points whose nearest embedded neighbour is from the same cluster (point i is in cluster i % classes).
fn nn_agreement(y: &[[f32; 2]], classes: usize) -> f64 {
    let hits = (0..y.len())
        .filter(|&i| {
            let nearest = (0..y.len())
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let d = |k: usize| (y[k][0] - y[i][0]).powi(2) + (y[k][1] - y[i][1]).powi(2);
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            nearest % classes == i % classes
        })
        .count();
    hits as f64 / y.len() as f64
}

fn main() {
    let threads = env_usize("SKELZERO_BENCH_THREADS", 2);
    let n = env_usize("SKELZERO_TSNE_N", 5000);
    // SAFETY: set before any other thread exists (rayon and candle start theirs later).
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "skelzero::pipeline::tsne=debug".into()),
        )
        .try_init();
    let dim = 256;
    let data = features(n, dim, 60);
    let cfg = TsneConfig::default();
    println!(
        "t-SNE of {n} x {dim} features, perplexity {}, {} iterations ({} exaggerated), theta {}, {threads} threads",
        cfg.perplexity, cfg.iterations, cfg.exaggeration_iterations, cfg.theta
    );
    let start = Instant::now();
    let y = tsne_from_features(&data, dim, &cfg, &mut |_, _| true).unwrap();
    let ours = start.elapsed().as_secs_f64();
    assert!(y.iter().flatten().all(|v| v.is_finite()));
    println!(
        "skelzero (Rust; Barnes-Hut below 10,000 points, PCA-50 + FFT-interpolated from there): {ours:.2} s, 1-NN cluster agreement {:.3}",
        nn_agreement(&y, 60)
    );

    if std::env::var("SKELZERO_TSNE_LINFA").is_ok_and(|v| v == "1") {
        use linfa::traits::Transformer as _;
        let x =
            ndarray::Array2::from_shape_vec((n, dim), data.iter().map(|&v| f64::from(v)).collect())
                .unwrap();
        let start = Instant::now();
        let _ = linfa_tsne::TSneParams::embedding_size(2)
            .perplexity(f64::from(cfg.perplexity))
            .approx_threshold(f64::from(cfg.theta))
            .max_iter(cfg.iterations)
            .transform(x)
            .unwrap();
        let t = start.elapsed().as_secs_f64();
        println!(
            "linfa-tsne 0.8: {t:.2} s; skelzero / linfa = {:.2}",
            ours / t
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.npy");
    skelzero::formats::npy::write_f32(&path, &[n, dim], &data).unwrap();
    let python = std::env::var("SKELZERO_TSNE_PYTHON").unwrap_or_else(|_| {
        let venv = "/work/venv-tsne/bin/python";
        if std::path::Path::new(venv).exists() {
            venv.to_owned()
        } else {
            "python3".to_owned()
        }
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/tsne_py.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&path)
        .arg(cfg.perplexity.to_string())
        .arg(cfg.iterations.to_string())
        .arg(threads.to_string())
        .env("OMP_NUM_THREADS", threads.to_string())
        .env("NUMBA_NUM_THREADS", threads.to_string())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            println!("Python reference not run: cannot start {python}: {e}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut any = false;
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        any = true;
        let lib = v["library"].as_str().unwrap_or("?");
        match v["seconds"].as_f64() {
            Some(s) => println!(
                "{lib} {}: {s:.2} s, 1-NN cluster agreement {:.3}; skelzero / {lib} = {:.2}",
                v["version"].as_str().unwrap_or(""),
                v["agreement"].as_f64().unwrap_or(f64::NAN),
                ours / s
            ),
            None => println!("{lib}: not run ({})", v["missing"].as_str().unwrap_or("?")),
        }
    }
    if !any {
        println!(
            "Python reference not run ({python}): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        );
    }
}
