//! Encoder benchmark: ST-GCN (SMIE config) forward and one training step on a batch of 64 x 3 x 50 x 25 x 2,
//! next to the same network in PyTorch (`benches/encoder_torch.py`) when a torch interpreter is available.
//!
//! `RAYON_NUM_THREADS` defaults to 2 here; `SKELZERO_TORCH_PYTHON` names the Python with torch (default
//! `/work/venv-torch/bin/python`). Run: `cargo bench --bench encoder` (release profile).

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use skelzero::nn::optim::trainable_vars;
use skelzero::nn::stgcn::{StGcn, StGcnConfig};

/// Forward FLOPs of the SMIE ST-GCN for one sequence of 50 frames (multiply-adds x 2), GEMMs only.
fn stgcn_flops_per_sequence(cfg: &StGcnConfig) -> f64 {
    let (v, k, kt) = (25.0, 3.0, cfg.temporal_kernel as f64);
    let mut t = 50.0f64;
    let mut f = 0.0;
    for (ci, co, s, r) in cfg.blocks() {
        let (ci, co) = (ci as f64, co as f64);
        f += 2.0 * t * v * ci * co * k; // gcn 1x1 conv
        let to = ((t - 1.0) / s as f64).floor() + 1.0;
        f += 2.0 * to * v * co * co * kt; // temporal conv
        if r && (ci != co || s > 1) {
            f += 2.0 * to * v * ci * co;
        }
        t = to;
    }
    f
}

fn best_of(n: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..n {
        let t0 = Instant::now();
        f()?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: single-threaded at this point; rayon's pool is not started yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "2") };
    }
    // The thread settings of the `skelzero` binary (no busy-waiting element-wise pool).
    // SAFETY: still single-threaded.
    unsafe { skelzero::util::configure_threads(false) };
    skelzero::util::tune_malloc();
    let threads = rayon::current_num_threads();
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dev = Device::Cpu;
    let cfg = StGcnConfig::default();
    let vm = VarMap::new();
    let net = StGcn::new(&cfg, 60, VarBuilder::from_varmap(&vm, DType::F32, &dev))?;
    let (n, m) = (64usize, 2usize);
    let x = Tensor::randn(0f32, 1.0, (n, 3, 50, 25, m), &dev)?;
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 60).collect();
    let y = Tensor::new(labels.as_slice(), &dev)?;
    let mut opt = candle_nn::AdamW::new(
        trainable_vars(&vm),
        candle_nn::ParamsAdamW {
            lr: 1e-3,
            ..Default::default()
        },
    )?;

    // `ENCODER_BENCH_ONLY=forward|step` times one part and exits, for profiling it alone.
    let only = std::env::var("ENCODER_BENCH_ONLY").ok();
    // Warm-up (first-touch allocations), then best of `reps`.
    net.encode(&x, false)?;
    let fwd = best_of(reps, || {
        net.encode(&x, false)?
            .pooled
            .sum_all()?
            .to_scalar::<f32>()?;
        Ok(())
    })?;
    let mut step = || -> anyhow::Result<()> {
        let out = net.encode(&x, true)?;
        let loss = candle_nn::loss::cross_entropy(&net.classify(&out.pooled)?, &y)?;
        opt.backward_step(&loss)?;
        Ok(())
    };
    if only.as_deref() == Some("forward") {
        println!("forward (eval): {fwd:.3} s");
        return Ok(());
    }
    step()?;
    let train = best_of(reps, &mut step)?;
    if only.as_deref() == Some("step") {
        println!("train step: {train:.3} s");
        return Ok(());
    }

    let flops = stgcn_flops_per_sequence(&cfg) * (n * m) as f64;
    // The machine's GEMM peak as candle reaches it, measured now: a large square f32 matmul.
    let side = 2048usize;
    let a = Tensor::randn(0f32, 1.0, (side, side), &dev)?;
    a.matmul(&a)?;
    let gemm = best_of(reps, || {
        a.matmul(&a)?;
        Ok(())
    })?;
    let peak = (2.0 * (side as f64).powi(3) / gemm / 1e9).round();
    println!("skelzero ST-GCN, batch {n} x 3 x 50 x 25 x {m}, {threads} threads, best of {reps}");
    println!(
        "  forward (eval):      {fwd:7.3} s  {:6.1} GFLOP/s ({:4.1}% of the {peak} GFLOP/s a {side}^3 matmul \
         reaches here)",
        flops / fwd / 1e9,
        100.0 * flops / fwd / 1e9 / peak
    );
    // fwd + bwd ~ 3x the forward GEMM work.
    println!(
        "  train step:          {train:7.3} s  {:6.1} GFLOP/s ({:4.1}% of peak)",
        3.0 * flops / train / 1e9,
        100.0 * 3.0 * flops / train / 1e9 / peak
    );

    let python = std::env::var("SKELZERO_TORCH_PYTHON")
        .unwrap_or_else(|_| "/work/venv-torch/bin/python".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/encoder_torch.py");
    let out = std::process::Command::new(&python)
        .args([
            script,
            "--threads",
            &threads.to_string(),
            "--reps",
            &reps.to_string(),
        ])
        .env("MALLOC_MMAP_MAX_", "0")
        .env("MALLOC_TRIM_THRESHOLD_", "4294967295")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let get = |key: &str| {
                text.lines().find_map(|l| {
                    l.strip_prefix(key)
                        .and_then(|v| v.trim().parse::<f64>().ok())
                })
            };
            match (get("forward_s="), get("train_step_s=")) {
                (Some(tf), Some(tt)) => {
                    println!("PyTorch (same architecture, {threads} threads)");
                    println!(
                        "  forward (eval):      {tf:7.3} s  {:6.1} GFLOP/s",
                        flops / tf / 1e9
                    );
                    println!(
                        "  train step:          {tt:7.3} s  {:6.1} GFLOP/s",
                        3.0 * flops / tt / 1e9
                    );
                    println!(
                        "speed ratio (PyTorch time / skelzero time; goal fwd >= 1.2, step >= 1.0)"
                    );
                    println!("  forward:    {:5.2}x", tf / fwd);
                    println!("  train step: {:5.2}x", tt / train);
                }
                _ => println!("PyTorch half: could not parse the script's output:\n{text}"),
            }
        }
        Ok(o) => println!(
            "PyTorch half skipped: {python} {script} failed: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("PyTorch half skipped: cannot run {python} ({e})"),
    }
    Ok(())
}
