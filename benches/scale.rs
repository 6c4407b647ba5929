//! Scale benchmark (issue 24): every stage of the NTU-120 workflow on NTU-shaped generated data, with wall time and
//! peak resident memory (RSS) per stage, and the ST-GCN training step at batch 64 (data loading included) next to
//! PyTorch's in the same run.
//!
//! ```sh
//! SKELZERO_SCALE_N=11448 cargo bench --bench scale      # 1/10 of NTU-120; figures extrapolated to 114,480
//! ```
//!
//! Settings (environment): `SKELZERO_SCALE_N` sequences (default 11448), `SKELZERO_SCALE_DIR` where the generated
//! folder `ntu120-N` lives (default `../scale-data`; generated with `skelzero synth` when missing, deleted never),
//! `SKELZERO_SCALE_CLI_N` sequences of the folder the CLI chain (pretrain 1 epoch, extract, texts, train, eval)
//! runs on (default min(N, 1200): one epoch on all N takes hours on 2 cores), `SKELZERO_SCALE_STEPS` training steps timed per side (default 10), `SKELZERO_SCALE_EPOCHS` epochs per zero-shot
//! method (default 2), `SKELZERO_SCALE_METHODS` (default all five; without STAR the feature file leaves its map out), `SKELZERO_SCALE_MAP_F16=1` (STAR's map stored in half precision), `SKELZERO_TORCH_PYTHON` (default
//! `/work/venv-torch/bin/python`), `RAYON_NUM_THREADS` (default 2).
//!
//! Stages run in this process (read, preprocess, training step) measure their peak RSS after resetting the kernel's
//! high-water mark (`/proc/self/clear_refs`), so a figure includes what earlier stages still hold (as the CLI holds
//! it). The CLI stages (pretrain, extract, texts, train, eval) run the `skelzero` binary in a child each; their peak
//! is the child's `ru_maxrss`. Extrapolation to 114,480 sequences is linear in N and printed as such.
#![allow(clippy::unwrap_used)] // a benchmark aborts on setup errors

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candle_core::Device;
use candle_nn::{Optimizer, VarMap};
use common::env_usize;
use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;
use skelzero::dataset::load_dataset;
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::nn::optim::trainable_vars;
use skelzero::pretrain::train::TensorSet;
use skelzero::skeleton::preprocess::{PreprocessConfig, batch_from_sequences};

const FULL: usize = 114_480;
const SPLIT: &str = "synse-ntu120-110-10";

struct Row {
    stage: String,
    seconds: f64,
    peak_mb: f64,
    note: String,
}

/// Peak RSS of this process since the last [`reset_peak`], MB (`VmHWM`).
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak to the current RSS (Linux: writing 5 to `clear_refs`).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn skelzero() -> Command {
    Command::new(env!("CARGO_BIN_EXE_skelzero"))
}

/// Runs `cmd` to completion; its wall time and peak RSS (MB). Output goes to `log`; a failure prints its tail.
fn child(cmd: &mut Command, log: &Path) -> (f64, f64) {
    let out = std::fs::File::create(log).unwrap();
    cmd.stdout(out.try_clone().unwrap()).stderr(out);
    let t0 = Instant::now();
    let pid = cmd.spawn().unwrap().id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain old data; wait4 fills it for the child just spawned, which nothing else waits for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; pid is our own child.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = t0.elapsed().as_secs_f64();
    let ok = r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        panic!(
            "{cmd:?} failed; the end of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    (secs, usage.ru_maxrss as f64 / 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The NTU-120 class texts as the TSV folder `text classes` reads: names, SMIE sentences and STAR part descriptions
/// from `../shared/data/text` where present.
fn write_texts(dir: &Path) {
    use skelzero::dataset::texts::{read_lines, read_star_parts};
    std::fs::create_dir_all(dir).unwrap();
    let names = skelzero::dataset::load::ntu_class_names(skelzero::dataset::DatasetKind::Ntu120);
    let ids: Vec<String> = (1..=names.len()).map(|i| format!("A{i:03}")).collect();
    let tsv = |header: &str, rows: Vec<String>| {
        std::iter::once(header.to_owned())
            .chain(rows)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let rows = ids.iter().zip(&names).map(|(i, n)| format!("{i}\t{n}"));
    std::fs::write(dir.join("classes.tsv"), tsv("id\tname", rows.collect())).unwrap();
    let text = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/text");
    if let Ok(sentences) = read_lines(&text.join("smie/ntu120_des.txt")) {
        let rows = ids
            .iter()
            .zip(sentences)
            .map(|(i, s)| format!("{i}\t{}", s.replace('\t', " ")));
        std::fs::write(
            dir.join("sentence.tsv"),
            tsv("id\tsentence", rows.collect()),
        )
        .unwrap();
    }
    if let Ok(parts) = read_star_parts(&text.join("star/ntu120_part_descriptions.txt")) {
        let rows = ids
            .iter()
            .zip(parts)
            .map(|(i, (_, p))| format!("{i}\t{}", p.join("\t").replace('\n', " ")));
        let header = "id\thead\thand\tarm\thip\tleg\tfoot";
        std::fs::write(dir.join("parts.tsv"), tsv(header, rows.collect())).unwrap();
    }
    let neuron = text.join("neuron/ntu/spatial/spatial_fg.json");
    if let Ok(phrases) = skelzero::dataset::texts::read_neuron_json(&neuron) {
        let rows = ids.iter().zip(phrases).flat_map(|(i, (_, ps))| {
            ps.into_iter()
                .map(move |p| format!("{i}\t{}", p.replace(['\t', '\n'], " ")))
        });
        std::fs::write(dir.join("phrases.tsv"), tsv("id\tphrase", rows.collect())).unwrap();
    }
}

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: single-threaded at this point; rayon's pool is not started yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "2") };
    }
    // SAFETY: still single-threaded.
    unsafe { skelzero::util::configure_threads(false) };
    skelzero::util::tune_malloc();
    let threads = rayon::current_num_threads();
    let n = env_usize("SKELZERO_SCALE_N", 11_448);
    let steps = env_usize("SKELZERO_SCALE_STEPS", 10).max(1);
    let epochs = env_usize("SKELZERO_SCALE_EPOCHS", 2).max(1);
    let methods = std::env::var("SKELZERO_SCALE_METHODS")
        .unwrap_or_else(|_| "devise,relationnet,smie,infocpl,star".into());
    let root = std::env::var_os("SKELZERO_SCALE_DIR")
        .map_or_else(|| PathBuf::from("../scale-data"), PathBuf::from);
    let data = root.join(format!("ntu120-{n}"));
    if std::env::var("SKELZERO_SCALE_ONLY").is_ok_and(|v| v == "stream-read") {
        stream_read(&data);
        return;
    }
    let work = tempfile::tempdir_in(&root).unwrap();
    let w = work.path();
    let mut rows: Vec<Row> = Vec::new();
    let push = |rows: &mut Vec<Row>, stage: &str, seconds: f64, peak_mb: f64, note: String| {
        println!("{stage:<28} {seconds:9.1} s  peak RSS {peak_mb:8.0} MB  {note}");
        rows.push(Row {
            stage: stage.into(),
            seconds,
            peak_mb,
            note,
        });
    };
    println!(
        "scale benchmark: {n} NTU-120-like sequences in {}, {threads} threads",
        data.display()
    );

    if !data.exists() {
        let (s, mb) = child(
            skelzero()
                .args([
                    "synth",
                    "--like",
                    "ntu120",
                    "--count",
                    &n.to_string(),
                    "--out",
                ])
                .arg(&data),
            &w.join("synth.log"),
        );
        push(
            &mut rows,
            "generate (synth)",
            s,
            mb,
            format!("{:.0} seq/s", n as f64 / s),
        );
    }
    let bytes = dir_bytes(&data) as f64;

    // 1. The CLI stages, one child each, while this process is small (a child's peak RSS counts the pages it
    //    shares with this process at the fork). The whole chain runs on `cli_data` (pretraining one epoch on all N
    //    takes hours on 2 cores); `pretrain --epochs 0` on all N measures the data-holding part of pretraining.
    let cli_n = env_usize("SKELZERO_SCALE_CLI_N", n.min(1200));
    let cli_data = root.join(format!("ntu120-{cli_n}"));
    if !cli_data.exists() {
        child(
            skelzero()
                .args([
                    "synth",
                    "--like",
                    "ntu120",
                    "--count",
                    &cli_n.to_string(),
                    "--out",
                ])
                .arg(&cli_data),
            &w.join("synth-cli.log"),
        );
    }
    // `SKELZERO_SCALE_PRETRAIN0=0` skips it (its seen-class test pass takes minutes at N = 11,448 on 2 cores).
    if std::env::var("SKELZERO_SCALE_PRETRAIN0").map_or(true, |v| v != "0") {
        let (s, mb) = child(
            skelzero()
                .args([
                    "pretrain",
                    "--dataset",
                    "ntu120",
                    "--split",
                    SPLIT,
                    "--epochs",
                    "0",
                    "--data",
                ])
                .arg(&data)
                .arg("--out")
                .arg(w.join("enc0")),
            &w.join("pretrain0.log"),
        );
        push(
            &mut rows,
            &format!("pretrain --epochs 0, N={n}"),
            s,
            mb,
            "read + preprocess + seen-class test pass: the data pretraining holds".into(),
        );
    }
    let enc_dir = w.join("enc");
    let (s, mb) = child(
        skelzero()
            .args([
                "pretrain",
                "--dataset",
                "ntu120",
                "--split",
                SPLIT,
                "--epochs",
                "1",
                "--data",
            ])
            .arg(&cli_data)
            .arg("--out")
            .arg(&enc_dir),
        &w.join("pretrain.log"),
    );
    let metrics = skelzero::pretrain::run::RunDir::new(&enc_dir)
        .load_metrics()
        .unwrap();
    let epoch_s = metrics.first().map_or(f64::NAN, |m| m.seconds);
    let split = skelzero::pretrain::run::RunDir::new(&enc_dir)
        .load_split()
        .unwrap();
    let trained = split.train_ids.len();
    push(
        &mut rows,
        &format!("pretrain 1 epoch, N={cli_n}"),
        s,
        mb,
        format!(
            "epoch {epoch_s:.0} s for {trained} seq ({:.1} seq/s; full NTU-120 epoch ~{:.0} min); rest = read + \
             preprocess + validation + seen-class test",
            trained as f64 / epoch_s,
            epoch_s * FULL as f64 / cli_n as f64 / 60.0
        ),
    );
    let feats = w.join("features.safetensors");
    let mut extract = skelzero();
    extract
        .args(["extract", "--split", SPLIT, "--run"])
        .arg(&enc_dir)
        .arg("--data")
        .arg(&cli_data)
        .arg("--out")
        .arg(&feats);
    // STAR's map is most of the file (38 GB in f32 at NTU-120's size): left out when STAR is not timed, halved
    // with `SKELZERO_SCALE_MAP_F16=1`.
    if !methods.split(',').any(|m| m.trim() == "star") {
        extract.arg("--no-map");
    } else if std::env::var("SKELZERO_SCALE_MAP_F16").is_ok_and(|v| v == "1") {
        extract.arg("--map-f16");
    }
    let (s, mb) = child(&mut extract, &w.join("extract.log"));
    push(
        &mut rows,
        &format!("extract features, N={cli_n}"),
        s,
        mb,
        format!("{:.0} seq/s incl. reading", cli_n as f64 / s),
    );
    write_texts(&w.join("texts"));
    let texts = w.join("texts.safetensors");
    let (s, mb) = child(
        skelzero()
            .env("SKELZERO_EMBED_CACHE", w.join("embed-cache"))
            .args(["text", "classes", "--class-texts"])
            .arg(w.join("texts"))
            .arg("--out")
            .arg(&texts),
        &w.join("texts.log"),
    );
    push(
        &mut rows,
        "embed class texts (MiniLM)",
        s,
        mb,
        "120 classes, empty cache".into(),
    );
    for m in methods.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let run = w.join(m);
        let (s, mb) = child(
            skelzero()
                .args([
                    "train", "--method", m, "--split", SPLIT, "--lr", "1e-3", "--folds", "1",
                    "--epochs",
                ])
                .arg(epochs.to_string())
                .arg("--features")
                .arg(&feats)
                .arg("--texts")
                .arg(&texts)
                .arg("--out")
                .arg(&run),
            &w.join(format!("train-{m}.log")),
        );
        // One pseudo-unseen fold plus the final fit: two fits of `epochs` epochs.
        push(
            &mut rows,
            &format!("train {m} (CLI)"),
            s,
            mb,
            format!(
                "{epochs} epochs x 2 fits: ~{:.1} s per epoch",
                s / (2 * epochs) as f64
            ),
        );
        let (s, mb) = child(
            skelzero().args(["eval", "--gzsl", "--run"]).arg(&run),
            &w.join(format!("eval-{m}.log")),
        );
        push(
            &mut rows,
            &format!("eval {m} (CLI)"),
            s,
            mb,
            "ZSL + GZSL".into(),
        );
    }

    // 2. Read and preprocess all N, in this process.
    reset_peak();
    let t0 = Instant::now();
    let ds = load_dataset(&data, None).unwrap();
    let s = t0.elapsed().as_secs_f64();
    assert_eq!(ds.samples.len(), n);
    push(
        &mut rows,
        "read (.skeleton -> Sequence)",
        s,
        peak_mb(),
        format!(
            "{:.0} seq/s, {:.0} MB/s of {:.0} MB",
            n as f64 / s,
            bytes / 1e6 / s,
            bytes / 1e6
        ),
    );
    reset_peak();
    let pre = PreprocessConfig::default();
    let t0 = Instant::now();
    let x =
        batch_from_sequences(ds.samples.iter().map(|s| &s.seq).collect::<Vec<_>>(), &pre).unwrap();
    let s = t0.elapsed().as_secs_f64();
    push(
        &mut rows,
        "preprocess (-> 3x50x25x2)",
        s,
        peak_mb(),
        format!(
            "{:.0} seq/s; tensors {:.0} MB f32",
            n as f64 / s,
            x.len() as f64 * 4.0 / 1e6
        ),
    );
    let labels: Vec<u32> = ds.samples.iter().map(|s| s.meta.label as u32).collect();
    drop(ds);
    let set = TensorSet::new(x, labels, pre.sample_shape()).unwrap();

    // 3. The training step at batch 64 with data loading (gather + augmentation), against PyTorch.
    reset_peak();
    let dev = Device::Cpu;
    let vm = VarMap::new();
    let enc = Encoder::new_seeded(
        &EncoderConfig::default_for(EncoderKind::Stgcn),
        120,
        &vm,
        &dev,
        0,
    )
    .unwrap();
    let mut opt =
        candle_nn::AdamW::new(trainable_vars(&vm), candle_nn::ParamsAdamW::default()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.shuffle(&mut rng);
    let batch = 64;
    let mut step = |k: usize| {
        let idx = &order[(k * batch) % (set.len() - batch)..][..batch];
        let (xb, yb) = set.batch(idx, Some(&mut rng), &dev).unwrap();
        let out = enc.encode(&xb, true).unwrap();
        let loss =
            candle_nn::loss::cross_entropy(&enc.classify(&out.pooled).unwrap(), &yb).unwrap();
        opt.backward_step(&loss).unwrap();
    };
    step(0);
    let t0 = Instant::now();
    for k in 1..=steps {
        step(k);
    }
    let ours = t0.elapsed().as_secs_f64() / steps as f64;
    push(
        &mut rows,
        "ST-GCN train step, batch 64",
        ours,
        peak_mb(),
        format!(
            "{:.0} seq/s incl. loading ({steps} steps)",
            batch as f64 / ours
        ),
    );
    let torch = torch_step(&set, batch, steps, threads, w);
    match torch {
        Some(t) => println!(
            "PyTorch step (same net, batch 64, numpy gather + augmentation): {t:.3} s; PyTorch / skelzero = {:.2}x",
            t / ours
        ),
        None => println!("PyTorch step: skipped (no torch interpreter; set SKELZERO_TORCH_PYTHON)"),
    }
    drop(set);

    // 4. t-SNE of the extracted features, in this process.
    let f = skelzero::zsl::features::SplitFeatures::load(&feats).unwrap();
    let rows_data: Vec<f32> = [&f.train.pooled, &f.test.pooled]
        .iter()
        .flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect();
    let dim = f.test.pooled.dims()[1];
    drop(f);
    reset_peak();
    let t0 = Instant::now();
    let cfg = skelzero::pipeline::tsne::TsneConfig::default();
    let y = skelzero::pipeline::tsne::tsne_from_features(&rows_data, dim, &cfg, &mut |_, _| true)
        .unwrap();
    let s = t0.elapsed().as_secs_f64();
    push(
        &mut rows,
        "t-SNE of the features",
        s,
        peak_mb(),
        format!("{} x {dim}", y.len()),
    );

    println!("\n| stage | seconds | peak RSS (MB) | note |\n| --- | ---: | ---: | --- |");
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.0} | {} |",
            r.stage, r.seconds, r.peak_mb, r.note
        );
    }
    println!(
        "(linear extrapolation to {FULL} sequences: x{:.1} from N = {n}, x{:.1} from N = {cli_n}; the \
         preprocessed f32 tensors alone are {:.1} GB at that size)",
        FULL as f64 / n as f64,
        FULL as f64 / cli_n as f64,
        FULL as f64 * pre.sample_len() as f64 * 4.0 / 1e9
    );
}

/// Times `steps` PyTorch training steps of the same ST-GCN at `batch`, loading each batch from an in-memory array
/// of preprocessed samples (gather + the same augmentation); `None` without a torch interpreter.
fn torch_step(
    set: &TensorSet,
    batch: usize,
    steps: usize,
    threads: usize,
    w: &Path,
) -> Option<f64> {
    let python = std::env::var("SKELZERO_TORCH_PYTHON")
        .unwrap_or_else(|_| "/work/venv-torch/bin/python".into());
    if !Path::new(&python).exists() && !python.contains('/') {
        return None;
    }
    let keep = set.len().min(batch * (steps + 2));
    let per: usize = set.shape.iter().product();
    let mut shape = vec![keep];
    shape.extend_from_slice(&set.shape);
    let x = w.join("torch_x.npy");
    let y = w.join("torch_y.npy");
    skelzero::formats::npy::write_f32(&x, &shape, &set.x[..keep * per]).ok()?;
    let labels: Vec<i64> = set.labels[..keep].iter().map(|&l| i64::from(l)).collect();
    skelzero::formats::npy::write_i64(&y, &[keep], &labels).ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scale_torch.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(&x)
        .arg(&y)
        .args(["--batch", &batch.to_string(), "--steps", &steps.to_string()])
        .args(["--threads", &threads.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let t = text
        .lines()
        .find_map(|l| l.strip_prefix("step_s=")?.trim().parse().ok());
    if t.is_none() {
        println!(
            "PyTorch half failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    t
}

/// `SKELZERO_SCALE_ONLY=stream-read`: pretraining's streaming read alone (each sequence preprocessed as it is
/// parsed), with the peak and current RSS after it, to tell what the data take from what the allocator keeps.
fn stream_read(data: &Path) {
    use skelzero::formats::ReadError;
    use skelzero::skeleton::Sequence;
    use skelzero::skeleton::preprocess::preprocessed_from_sequence;
    let pre = PreprocessConfig::default();
    let map = |seq: &Sequence, p: &Path| {
        preprocessed_from_sequence(seq, &pre).map_err(|e| ReadError::file(p, e.to_string()))
    };
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let t0 = Instant::now();
    let ds = skelzero::dataset::load::load_dataset_mapped(data, None, Some(&map)).unwrap();
    println!(
        "streaming read of {} sequences: {:.1} s, peak RSS {:.0} MB, RSS now {}; sequences hold {:.0} MB",
        ds.samples.len(),
        t0.elapsed().as_secs_f64(),
        peak_mb(),
        rss(),
        ds.samples
            .iter()
            .map(|s| s.seq.data().len() * 4)
            .sum::<usize>() as f64
            / 1e6
    );
}
