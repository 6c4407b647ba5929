//! `--preset paper` end to end: `train` works for every method on a feature file and records the preset and the
//! official choices in the run's config.toml; `bench` records `"preset": "paper"` in its JSON.
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

fn train_paper(d: &std::path::Path, method: &str) -> (toml::Value, String) {
    let out = succeeded(
        skelzero()
            .args([
                "train", "--method", method, "--preset", "paper", "--split", "split1", "--epochs",
                "2", "--folds", "1",
            ])
            .arg("--features")
            .arg(d.join("features/split1.safetensors"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(d.join(method)),
    );
    let cfg = std::fs::read_to_string(d.join(method).join("config.toml")).unwrap();
    (
        toml::from_str(&cfg).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn paper_preset_trains_every_method_on_a_feature_file_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    for method in ["devise", "relationnet", "smie", "infocpl", "star"] {
        let (cfg, stderr) = train_paper(d, method);
        let train = &cfg["train"];
        assert_eq!(train["preset"].as_str(), Some("paper"), "{method}: {cfg}");
        assert_eq!(train["init"].as_str(), Some("torch"), "{method}");
        let m = &cfg["method"];
        match method {
            "devise" => assert_eq!(m["loss"].as_str(), Some("hinge")),
            "smie" => {
                assert_eq!(m["ln_at_inference"].as_bool(), Some(false));
                assert_eq!(m["text"].as_str(), Some("names"));
                assert_eq!(train["lr"].as_float(), Some(1e-5));
                assert_eq!(train["batch_size"].as_integer(), Some(128));
                assert_eq!(train["weight_decay"].as_float(), Some(0.0));
            }
            "infocpl" => {
                // The synthetic codebooks hold 4 phrases: of [1, 5, 10, ...] only k = 1 fits.
                let topk: Vec<i64> = m["topk"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_integer().unwrap())
                    .collect();
                assert_eq!(topk, [1]);
                assert_eq!(m["shared_negatives"].as_bool(), Some(true));
                assert_eq!(m["warmup_epochs"].as_integer(), Some(15));
            }
            "star" => {
                assert_eq!(m["dim"].as_integer(), Some(768));
                assert_eq!(m["prompts"].as_integer(), Some(100));
                assert_eq!(m["w_unit_init"].as_bool(), Some(true));
                // One semantic-part prompt per (class, part), for every class of the texts file.
                let classes =
                    skelzero::zsl::features::load_class_embeddings(&d.join("texts.safetensors"))
                        .unwrap()
                        .num_classes();
                assert_eq!(m["class_prompts"].as_integer(), Some(classes as i64));
                assert_eq!(m["online_augment"].as_bool(), Some(false));
                assert!(
                    stderr.contains("holds plain part texts"),
                    "a texts file of plain part texts is named as such for the paper preset: {stderr}"
                );
                // Never transductive unless asked for.
                assert_eq!(m["transductive_text"].as_bool(), Some(false));
                assert_eq!(train["optimizer"]["kind"].as_str(), Some("sgd"));
                assert_eq!(train["optimizer"]["nesterov"].as_bool(), Some(true));
                assert!(
                    stderr.contains("without STAR's online augmentation"),
                    "a STAR run on a feature file says it trained without augmentation: {stderr}"
                );
            }
            _ => {}
        }
        assert!(d.join(method).join("weights.safetensors").is_file());
        // The saved run loads and scores again.
        succeeded(
            skelzero()
                .args(["eval", "--json", "--run"])
                .arg(d.join(method)),
        );
    }
}

#[test]
fn paper_preset_is_recorded_in_the_bench_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    let json = d.join("bench.json");
    succeeded(
        skelzero()
            .args([
                "bench",
                "--dataset",
                "msr",
                "--methods",
                "smie",
                "--splits",
                "split1",
                "--epochs",
                "2",
                "--folds",
                "1",
                "--preset",
                "paper",
            ])
            .arg("--features-dir")
            .arg(d.join("features"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--json")
            .arg(&json),
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["preset"].as_str(), Some("paper"), "{v}");
    assert!(v["splits"]["split1"]["smie"]["zsl_top1"].is_number(), "{v}");
}

#[test]
fn an_unknown_preset_or_loss_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    for (extra, want) in [
        (["--preset", "official"], "unknown preset `official`"),
        (["--loss", "triplet"], "unknown --loss `triplet`"),
    ] {
        let out = skelzero()
            .args([
                "train", "--method", "devise", "--split", "s", "--epochs", "1",
            ])
            .args(extra)
            .arg("--features")
            .arg(d.join("features/split1.safetensors"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(d.join("bad"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}");
        assert!(!d.join("bad").exists(), "nothing written on bad input");
    }
}

#[test]
fn transductive_text_is_an_explicit_labelled_star_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    // A small STAR for the synthetic texts' 2 body parts.
    let small = d.join("star.toml");
    std::fs::write(
        &small,
        "method = \"star\"\nparts = 2\nprompts = 4\ndim = 8\nheads = 2\nhidden = 8\n",
    )
    .unwrap();
    let run = |method: &str, out: &str| {
        let mut cmd = skelzero();
        cmd.args([
            "train",
            "--method",
            method,
            "--split",
            "split1",
            "--epochs",
            "1",
            "--folds",
            "1",
            "--transductive-text",
        ]);
        if method == "star" {
            cmd.arg("--method-config").arg(&small);
        }
        cmd.arg("--features")
            .arg(d.join("features/split1.safetensors"))
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(d.join(out))
            .output()
            .unwrap()
    };
    let out = run("star", "star");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("TRANSDUCTIVE on the text side"));
    let cfg: toml::Value =
        toml::from_str(&std::fs::read_to_string(d.join("star/config.toml")).unwrap()).unwrap();
    assert_eq!(cfg["method"]["transductive_text"].as_bool(), Some(true));
    let out = run("smie", "smie");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--transductive-text applies to star only")
    );
}

/// `bench --preset paper` from raw data trains STAR with the official online augmentation (the frozen encoder re-run
/// on re-cropped, re-rotated samples each step), says so and records it in the JSON; the same command on feature
/// files (`paper_preset_trains_every_method_on_a_feature_file_and_records_it`) says it trained without.
#[test]
fn paper_star_from_raw_data_trains_with_online_augmentation() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = succeeded(
        skelzero()
            .args([
                "bench",
                "--dataset",
                "synthetic",
                "--splits",
                "synth-demo",
                "--methods",
                "star",
                "--preset",
                "paper",
                "--epochs",
                "1",
                "--folds",
                "1",
                "--encoder-epochs",
                "1",
                "--no-fold-encoders",
                "--work",
            ])
            .arg(dir.path().join("work"))
            .arg("--json")
            .arg(&json),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("STAR's online augmentation (crop, rotation, encoder re-run) took"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("trained without STAR's online augmentation"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["online_augmentation"].as_bool(), Some(true), "{v}");
    assert!(
        v["splits"]["synth-demo"]["star"]["zsl_top1"].is_number(),
        "{v}"
    );

    // `train` given the bench's encoder (the synthetic set needs no --data) augments the same way and records it.
    let work = dir.path().join("work");
    let train = |method: &str, out: &str| {
        let mut cmd = skelzero();
        cmd.args([
            "train", "--method", method, "--preset", "paper", "--epochs", "1", "--folds", "1",
        ])
        .arg("--features")
        .arg(work.join("synth-demo.safetensors"))
        .arg("--texts")
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets/demo/classes.safetensors"),
        )
        .arg("--encoder")
        .arg(work.join("synth-demo-stgcn"))
        .arg("--out")
        .arg(dir.path().join(out));
        cmd.output().unwrap()
    };
    let out = train("star", "star");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("STAR's online augmentation (crop, rotation, encoder re-run) took"),
        "{stderr}"
    );
    let cfg: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.path().join("star/config.toml")).unwrap())
            .unwrap();
    assert_eq!(
        cfg["method"]["online_augment"].as_bool(),
        Some(true),
        "{cfg}"
    );
    // Another method has nothing to augment: one clear error, no run written.
    let out = train("smie", "smie");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--encoder applies to STAR's paper preset"),
        "{stderr}"
    );
    assert!(!dir.path().join("smie").exists());
}
