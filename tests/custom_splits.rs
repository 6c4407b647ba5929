//! Custom protocols end to end: `--unseen` (1-based ids) and `--split-file` in `bench`, `pretrain`, `extract` and
//! `train` on the generated synthetic set (26 classes), and bad split files refused with the file and line named.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::Path;

use skelzero::dataset::split_args::{SplitArgs, SplitFile};

mod cli;
use cli::{skelzero, succeeded};

/// The failing command's stderr (it must fail, without a panic).
fn failed(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn unseen_ids_reach_bench_pretrain_extract_and_train() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let work = d.join("work");
    let report = d.join("bench.json");
    // bench: one named split and one custom split (1-based 2 and 5: classes 1 and 4), each its own row.
    let out = succeeded(
        skelzero()
            .args([
                "bench",
                "--dataset",
                "synthetic",
                "--unseen",
                "2,5",
                "--methods",
                "devise",
                "--epochs",
                "2",
                "--encoder-epochs",
                "1",
                "--work",
            ])
            .arg(&work)
            .arg("--json")
            .arg(&report),
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("unseen-2-5"), "{table}");
    let r = json(&report);
    assert!(
        r["splits"]["unseen-2-5"]["devise"]["zsl_top1"].is_number(),
        "{r}"
    );
    assert_eq!(
        r["split_classes"]["unseen-2-5"]["unseen"],
        serde_json::json!([2, 5])
    );
    assert_eq!(
        r["split_classes"]["unseen-2-5"]["seen"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
    assert_eq!(r["chance"]["unseen-2-5"], serde_json::json!(0.5));

    // The encoder bench pretrained records the split (0-based in the run folder).
    let enc = work.join("unseen-2-5-stgcn");
    let split: serde_json::Value = json(&enc.join("split.json"));
    assert_eq!(split["name"], "unseen-2-5");
    assert_eq!(split["unseen"], serde_json::json!([1, 4]));

    // extract with the same flag writes that split's feature file.
    let feats = d.join("custom.safetensors");
    succeeded(
        skelzero()
            .args([
                "extract",
                "--dataset",
                "synthetic",
                "--unseen",
                "2,5",
                "--run",
            ])
            .arg(&enc)
            .arg("--out")
            .arg(&feats),
    );
    let f = skelzero::zsl::features::SplitFeatures::load(&feats).unwrap();
    assert_eq!(f.unseen, [1, 4]);
    assert_eq!(f.seen.len(), 24);

    // train records the custom split by the same name; another --unseen than the features hold is refused.
    let texts = d.join("texts.safetensors");
    succeeded(
        skelzero()
            .args(["text", "classes", "--class-texts"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/synthetic"))
            .arg("--out")
            .arg(&texts),
    );
    let train = |unseen: &str, out: &Path| {
        let mut cmd = skelzero();
        cmd.args([
            "train", "--method", "devise", "--epochs", "2", "--lr", "1e-2",
        ])
        .args(["--unseen", unseen])
        .arg("--features")
        .arg(&feats)
        .arg("--texts")
        .arg(&texts)
        .arg("--out")
        .arg(out);
        cmd
    };
    succeeded(&mut train("2,5", &d.join("zrun")));
    let cfg: toml::Value =
        toml::from_str(&std::fs::read_to_string(d.join("zrun/config.toml")).unwrap()).unwrap();
    assert_eq!(cfg["split"]["name"].as_str(), Some("unseen-2-5"));
    assert_eq!(
        cfg["split"]["unseen"].as_array().unwrap(),
        &[toml::Value::Integer(1), toml::Value::Integer(4)]
    );
    let err = failed(&mut train("3,5", &d.join("zrun2")));
    assert!(
        err.contains("custom.safetensors") && err.contains("unseen classes 2,5"),
        "{err}"
    );
    assert!(!d.join("zrun2").exists());
}

#[test]
fn bad_split_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "range.toml",
            "name = \"x\"\nunseen = [2, 27]\n",
            2,
            "out of range",
        ),
        (
            "dup.toml",
            "unseen = [2, 5]\nseen = [1, 3, 3]\n",
            2,
            "listed twice",
        ),
        (
            "both.toml",
            "unseen = [2, 5]\nseen = [1, 2]\n",
            2,
            "both seen and unseen",
        ),
        (
            "empty.json",
            "{\n  \"unseen\": []\n}\n",
            2,
            "at least one seen and one unseen",
        ),
        ("typo.toml", "unsen = [2]\n", 1, "unknown field"),
    ];
    for (file, text, line, what) in cases {
        let path = d.join(file);
        std::fs::write(&path, text).unwrap();
        // In the library: the error names the file and the line of the list at fault.
        let err = match SplitFile::read_classes(&path, 26) {
            Ok(c) => panic!("{file}: accepted as {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(file) && err.contains(&format!("line {line}")) && err.contains(what),
            "{file}: {err}"
        );
        // On the command line, before any work: pretrain (one split) and bench (checked before the first split).
        let err = failed(
            skelzero()
                .args([
                    "pretrain",
                    "--dataset",
                    "synthetic",
                    "--epochs",
                    "1",
                    "--split-file",
                ])
                .arg(&path)
                .arg("--out")
                .arg(d.join("run")),
        );
        assert!(err.contains(file) && err.contains(what), "{file}: {err}");
        assert!(!d.join("run").join("checkpoint.safetensors").exists());
    }
    // `--unseen` errors name the flag; ids are 1-based, so 0 is out of range.
    let dataset = skelzero::dataset::synthetic::generate_dataset(&Default::default());
    let inputs = skelzero::dataset::protocol::ProtocolInputs::default();
    for (ids, what) in [
        (vec![0], "out of range"),
        (vec![27], "out of range"),
        (vec![3, 3], "listed twice"),
        ((1..=26).collect(), "at least one seen"),
    ] {
        let err = SplitArgs::unseen_ids(&ids)
            .partition(&dataset, &inputs)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--unseen") && err.contains(what),
            "{ids:?}: {err}"
        );
    }
    let err = failed(skelzero().args([
        "bench",
        "--dataset",
        "synthetic",
        "--unseen",
        "2,x",
        "--methods",
        "devise",
    ]));
    assert!(err.contains("`x` is not a class id"), "{err}");
}

/// A run records its split as a name and 0-based classes; the explorer and `predict` get the split's test samples
/// back from that record, for a named split and for a custom one alike.
#[test]
fn a_runs_recorded_custom_split_finds_its_test_samples() {
    use skelzero::dataset::protocol::ProtocolInputs;
    use skelzero::dataset::split_args::recorded_partition;
    let dataset = skelzero::dataset::synthetic::generate_dataset(&Default::default());
    let inputs = ProtocolInputs::default();
    for split in [
        SplitArgs::named("synth-demo"),
        SplitArgs::unseen_ids(&[2, 5]),
    ] {
        let p = split.partition(&dataset, &inputs).unwrap();
        let back = recorded_partition(&p.name, &p.seen, &p.unseen, &dataset, &inputs).unwrap();
        assert_eq!(back, p, "{split:?}");
        assert!(!p.gzsl_test.is_empty() && p.gzsl_test.len() < dataset.samples.len());
    }
    // A record whose classes no longer match its name's split is taken by its classes.
    let demo = SplitArgs::named("synth-demo")
        .partition(&dataset, &inputs)
        .unwrap();
    let custom = SplitArgs::unseen_ids(&[2, 5])
        .partition(&dataset, &inputs)
        .unwrap();
    let back =
        recorded_partition(&demo.name, &custom.seen, &custom.unseen, &dataset, &inputs).unwrap();
    assert_eq!(
        (back.unseen, back.gzsl_test),
        (custom.unseen, custom.gzsl_test)
    );
}
