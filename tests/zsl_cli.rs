//! `skelzero train`, `eval` and `bench` end to end on synthetic feature files.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod zsl_synth;

mod cli;
use cli::{skelzero, succeeded};

fn write_inputs(dir: &std::path::Path) {
    zsl_synth::write_split(
        &dir.join("features/split1.safetensors"),
        &dir.join("texts.safetensors"),
    );
}

/// `bench` on the synthetic set's `synth-demo` split from raw data: `methods`, 2 epochs each, encoders and features
/// in `work`; callers add the rest.
fn synthetic_bench(methods: &str, work: &std::path::Path) -> std::process::Command {
    let mut cmd = skelzero();
    cmd.args([
        "bench",
        "--dataset",
        "synthetic",
        "--splits",
        "synth-demo",
        "--methods",
        methods,
        "--epochs",
        "2",
        "--work",
    ])
    .arg(work);
    cmd
}

/// A gamma saved with a run from the explorer's calibration view (`gamma.toml`) is what `eval` scores with, and
/// `eval --json` says so (source "user", basis as recorded, the validation gamma beside it); the run's label in
/// `predictions.json` names it; training the folder again removes it.
#[test]
fn a_gamma_saved_with_the_run_is_applied_and_reported_by_eval() {
    use skelzero::experiment::saved_gamma::{GAMMA_FILE, SavedGamma};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    let train = || {
        succeeded(
            skelzero()
                .args([
                    "train", "--method", "devise", "--split", "split1", "--epochs", "10", "--lr",
                    "2e-2",
                ])
                .arg("--features")
                .arg(d.join("features/split1.safetensors"))
                .arg("--texts")
                .arg(d.join("texts.safetensors"))
                .arg("--out")
                .arg(d.join("run")),
        )
    };
    train();
    let eval = || {
        let out = succeeded(
            skelzero()
                .args(["eval", "--gzsl", "--json", "--run"])
                .arg(d.join("run")),
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let before = eval();
    assert_eq!(before["gamma_source"], "validation", "{before}");
    assert_eq!(before["gamma_basis"], "validation", "{before}");
    let validation = before["gamma"].as_f64().unwrap();
    // A gamma far above every seen-unseen margin sends every sample to an unseen class: S is 0.
    let saved = SavedGamma {
        gamma: validation + 1000.0,
        chosen_on: skelzero::zsl::branch_set::ChosenOn::Test,
        validation_gamma: validation,
    };
    saved.save(&d.join("run")).unwrap();
    let after = eval();
    assert_eq!(after["gamma_source"], "user", "{after}");
    assert_eq!(after["gamma_basis"], "test", "{after}");
    assert!(
        (after["gamma"].as_f64().unwrap() - saved.gamma).abs() < 1e-9,
        "{after}"
    );
    assert!((after["gamma_validation"].as_f64().unwrap() - validation).abs() < 1e-9);
    assert_eq!(after["gzsl_s"].as_f64().unwrap(), 0.0, "{after}");
    assert!(after["gamma_file"].as_str().unwrap().ends_with(GAMMA_FILE));
    succeeded(
        skelzero()
            .args(["eval", "--predictions", "--run"])
            .arg(d.join("run")),
    );
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/predictions.json")).unwrap())
            .unwrap();
    let label = p["method"].as_str().unwrap();
    assert!(
        label.contains("saved gamma") && label.contains("chosen on test"),
        "{label}"
    );
    assert!(
        (p["gamma"].as_f64().unwrap() - saved.gamma).abs() < 1e-3,
        "{label}"
    );
    // New weights: the saved gamma belonged to the old ones.
    let out = train();
    assert!(String::from_utf8_lossy(&out.stderr).contains(GAMMA_FILE));
    assert!(!d.join("run").join(GAMMA_FILE).exists());
    assert_eq!(eval()["gamma_source"], "validation");
}

#[test]
fn train_then_eval_then_bench() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    succeeded(
        skelzero()
            .args([
                "train", "--method", "devise", "--split", "split1", "--epochs", "30", "--lr",
                "2e-2",
            ])
            .arg("--features")
            .arg(d.join("features/split1.safetensors"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(d.join("run")),
    );
    for f in ["config.toml", "weights.safetensors", "classes.safetensors"] {
        assert!(d.join("run").join(f).is_file(), "{f}");
    }
    let out = succeeded(
        skelzero()
            .args(["eval", "--gzsl", "--json", "--run"])
            .arg(d.join("run")),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let zsl = v["zsl_top1"].as_f64().unwrap();
    assert!(zsl > 0.5, "{v}");
    // The gamma is the run's own validation choice; only InfoCPL runs name a branch set.
    assert_eq!(v["gamma_source"], "validation", "{v}");
    assert!(v.get("branch_set").is_none(), "{v}");
    // The evaluation stored at training time is what eval recomputes.
    let cfg = std::fs::read_to_string(d.join("run/config.toml")).unwrap();
    let cfg: toml::Value = toml::from_str(&cfg).unwrap();
    let stored = cfg["evaluation"]["zsl_top1"].as_float().unwrap();
    assert!((stored - zsl).abs() < 1e-9);
    let conf = v["zsl_confusion"].as_array().unwrap();
    let total: u64 = conf
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, v["zsl_samples"].as_u64().unwrap());
    assert!(v["gzsl_h"].as_f64().unwrap() > 0.0);

    let json = d.join("bench.json");
    let out = succeeded(
        skelzero()
            .args([
                "bench",
                "--dataset",
                "msr",
                "--methods",
                "devise,smie",
                "--splits",
                "split1",
                "--epochs",
                "15",
            ])
            .arg("--features-dir")
            .arg(d.join("features"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--json")
            .arg(&json),
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("DeViSE") && table.contains("SMIE") && table.contains("mean"),
        "{table}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for m in ["devise", "smie"] {
        let x = &r["splits"]["split1"][m];
        for k in ["zsl_top1", "gzsl_s", "gzsl_u", "gzsl_h", "gamma"] {
            assert!(x[k].is_number(), "{m}.{k}: {r}");
        }
        assert!(r["mean"][m]["zsl_top1"]["mean"].is_number());
    }
}

#[test]
fn bad_inputs_give_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    std::fs::write(d.join("broken.safetensors"), b"not a safetensors file").unwrap();
    let out = skelzero()
        .args(["train", "--method", "devise", "--split", "s", "--texts"])
        .arg(d.join("texts.safetensors"))
        .arg("--features")
        .arg(d.join("broken.safetensors"))
        .arg("--out")
        .arg(d.join("run"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.safetensors"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = skelzero()
        .args([
            "train",
            "--method",
            "nope",
            "--split",
            "s",
            "--texts",
            "a",
            "--features",
            "b",
            "--out",
            "c",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown method"));
}

/// `bench --work` reuses a folder's encoder only for the same pretraining schedule: asking for another epoch count
/// (the default included) is refused before anything is trained, and the checkpoint is left as it was.
#[test]
fn bench_refuses_to_retrain_a_reused_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let bench = |encoder_epochs: Option<&str>| {
        let mut cmd = synthetic_bench("devise", &work);
        if let Some(e) = encoder_epochs {
            cmd.args(["--encoder-epochs", e]);
        }
        cmd
    };
    succeeded(&mut bench(Some("1")));
    let ckpt = work.join("synth-demo-stgcn/checkpoint.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    for asked in [Some("2"), None] {
        let out = bench(asked).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{asked:?}: {stderr}");
        assert!(
            stderr.contains("holds an encoder run of 1 epochs")
                && stderr.contains("--encoder-epochs 1"),
            "{asked:?}: {stderr}"
        );
        assert_eq!(std::fs::read(&ckpt).unwrap(), before, "{asked:?}");
    }
    // The same schedule reuses it.
    succeeded(&mut bench(Some("1")));
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);
}

/// `bench --data` shows how good each split's encoder is: its top-1 on the seen classes of the test side, in the
/// table (a column), the JSON (`encoders.SPLIT.encoder_seen_test_top1`, a fraction like every JSON figure) and the
/// pretraining run's metrics; with fold encoders (the default on small data) one figure per fold encoder as well.
#[test]
fn bench_reports_the_encoders_seen_class_test_top1() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let json = dir.path().join("bench.json");
    let out = succeeded(
        synthetic_bench("devise", &work)
            .args(["--encoder-epochs", "1"])
            .arg("--json")
            .arg(&json),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("encoder**"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let enc = &report["encoders"]["synth-demo"];
    let top1 = enc["encoder_seen_test_top1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&top1), "{enc}");
    assert!(enc["seen_test_samples"].as_u64().unwrap() > 0, "{enc}");
    assert!(enc["updates"].as_u64().unwrap() > 0, "{enc}");
    // The same figure the pretraining run wrote on its last epoch's line.
    let metrics = std::fs::read_to_string(work.join("synth-demo-stgcn/metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    assert_eq!(last["seen_test_top1"].as_f64(), Some(top1), "{last}");
    // The table shows it in percent on the split's rows.
    assert!(
        stdout.lines().any(|l| l.starts_with("synth-demo")
            && l.trim_end().ends_with(&format!("{:.1}", 100.0 * top1))),
        "{stdout}"
    );
    // Fold encoders: one per validation fold, each trained without its fold's pseudo-unseen classes.
    let folds = enc["fold_encoders_seen_test_top1"].as_array().unwrap();
    assert!(!folds.is_empty(), "{enc}");
    for (f, v) in folds.iter().enumerate() {
        assert!((0.0..=1.0).contains(&v.as_f64().unwrap()), "{enc}");
        let split: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(work.join(format!("synth-demo-fold{f}-stgcn/split.json")))
                .unwrap(),
        )
        .unwrap();
        let ids = |key: &str| -> Vec<u64> {
            split[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .collect()
        };
        let fold_unseen = ids("unseen");
        let fold_seen = ids("seen");
        assert!(
            fold_seen.iter().all(|c| !fold_unseen.contains(c)),
            "{split}"
        );
        assert!(
            fold_seen.len() < report_seen_count(&work),
            "fold {f} trained on every seen class"
        );
    }
    assert!(
        enc["fold_encoders_seconds"].as_f64().unwrap() > 0.0,
        "{enc}"
    );
}

/// Seen classes of the split's own encoder run.
fn report_seen_count(work: &std::path::Path) -> usize {
    let split: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.join("synth-demo-stgcn/split.json")).unwrap(),
    )
    .unwrap();
    split["seen"].as_array().unwrap().len()
}

/// `bench --jobs` only changes the time: with the encoders (the split's and each fold's) and the methods run side by
/// side, each op on one thread, every figure, checkpoint and feature file is byte for byte what one job at a time
/// (each op on the process's threads) gives.
#[test]
fn bench_jobs_side_by_side_give_the_same_figures_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = |jobs: &str| {
        let work = dir.path().join(format!("work{jobs}"));
        let json = dir.path().join(format!("bench{jobs}.json"));
        succeeded(
            synthetic_bench("devise,star", &work)
                .args(["--encoder-epochs", "1", "--jobs", jobs])
                .arg("--json")
                .arg(&json),
        );
        let mut report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        // Times differ; nothing else may.
        report["wall_seconds"] = serde_json::Value::Null;
        for method in report["splits"]["synth-demo"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            method["seconds"] = serde_json::Value::Null;
        }
        let enc = &mut report["encoders"]["synth-demo"];
        enc["pretrain_seconds"] = serde_json::Value::Null;
        enc["fold_encoders_seconds"] = serde_json::Value::Null;
        (report, work)
    };
    let (one, work1) = run("1");
    let (two, work2) = run("2");
    assert_eq!(one, two);
    assert_eq!(
        one["splits"]["synth-demo"].as_object().unwrap().len(),
        2,
        "{one}"
    );
    assert_eq!(
        one["encoders"]["synth-demo"]["fold_encoders_seen_test_top1"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{one}"
    );
    let mut files = 0;
    for entry in walk(&work1) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".safetensors") {
            let other = work2.join(entry.strip_prefix(&work1).unwrap());
            assert!(
                std::fs::read(&entry).unwrap() == std::fs::read(&other).unwrap(),
                "{} differs between --jobs 1 and --jobs 2",
                entry.display()
            );
            files += 1;
        }
    }
    // The split's and three folds' checkpoints and feature files.
    assert_eq!(files, 8);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
