//! Sample ids travel from `skelzero extract --split` through `train` and `eval --predictions` into predictions.json,
//! on real MSR Action3D skeletons encoded by the demo encoder, so an exported run opens over its dataset; a feature
//! file written before ids existed still evaluates, with fallback names and a warning.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use skelzero::dataset::DatasetKind;
use skelzero::dataset::load::load_dataset;
use skelzero::dataset::protocol::{ProtocolInputs, SplitArgs};
use skelzero::pipeline::predictions::Predictions;
use skelzero::zsl::ClassEmbeddings;
use skelzero::zsl::features::{SplitFeatures, save_class_embeddings};
mod cli;
use cli::{skelzero, succeeded};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Random unit class embeddings for MSR's 20 classes (DeViSE reads names and sentences).
fn texts(path: &Path) {
    let dev = Device::Cpu;
    let t = |seed: u64| {
        let v: Vec<f32> = (0..20 * 8)
            .map(|i| (((i as u64 + 1) * 2_654_435_761 + seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let t = Tensor::from_vec(v, (20, 8), &dev).unwrap();
        t.broadcast_div(&t.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap())
            .unwrap()
    };
    let ce = ClassEmbeddings {
        names: t(1),
        sentences: t(2),
        parts: None,
        phrases: None,
        motion: None,
    };
    save_class_embeddings(path, &ce).unwrap();
}

#[test]
fn predictions_name_the_datasets_samples() {
    let data = root().join("../shared/data/msr-action3d");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let features = d.join("msr1.safetensors");
    succeeded(
        skelzero()
            .args(["extract", "--dataset", "msr", "--split", "msr1", "--run"])
            .arg(root().join("assets/demo/encoder"))
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&features),
    );
    texts(&d.join("texts.safetensors"));
    let run = d.join("run");
    succeeded(
        skelzero()
            .args([
                "train", "--method", "devise", "--split", "msr1", "--epochs", "2", "--lr", "1e-2",
            ])
            .arg("--features")
            .arg(&features)
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(&run),
    );
    let out = succeeded(
        skelzero()
            .args(["eval", "--predictions", "--run"])
            .arg(&run),
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = Predictions::load(&run).unwrap();

    // The dataset's own GZSL test samples of msr1, in order.
    let ds = load_dataset(&data, Some(DatasetKind::Msr)).unwrap();
    let part = SplitArgs::named("msr1")
        .partition(&ds, &ProtocolInputs::for_dataset(&ds).unwrap())
        .unwrap();
    let ids: Vec<String> = part
        .gzsl_test
        .iter()
        .map(|&i| ds.samples[i].meta.id.clone())
        .collect();
    assert!(ids.len() > 100);
    assert_eq!(p.sample_ids, ids);
    let labels: Vec<usize> = part
        .gzsl_test
        .iter()
        .map(|&i| ds.samples[i].meta.label)
        .collect();
    assert_eq!(p.labels, labels);
    // DeViSE exports its class sentences as text points in its text space.
    let f = p.features.as_ref().unwrap();
    assert_eq!(f.dim, 8);
    assert_eq!(f.classes.len(), p.num_classes() * 8);
    assert!(f.space.contains("DeViSE"), "{}", f.space);

    // The same features without ids (as written before them): names fall back, with a warning.
    let mut old = SplitFeatures::load(&features).unwrap();
    assert_eq!(old.test_ids.as_deref(), Some(&ids[..]));
    old.train_ids = None;
    old.test_ids = None;
    let old_path = d.join("old.safetensors");
    old.save(&old_path).unwrap();
    let out = succeeded(
        skelzero()
            .args(["eval", "--predictions", "--run"])
            .arg(&run)
            .arg("--features")
            .arg(&old_path),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("old.safetensors"),
        "{err}"
    );
    let p = Predictions::load(&run).unwrap();
    assert_eq!(p.sample_ids[0], "test-00000");
    assert_eq!(p.num_samples(), ids.len());
}

/// `extract --split msr1` of the real MSR Action3D samples with the demo encoder into `out`, with `flags`.
fn extract_msr1(out: &Path, flags: &[&str]) {
    succeeded(
        skelzero()
            .args(["extract", "--dataset", "msr", "--split", "msr1", "--run"])
            .arg(root().join("assets/demo/encoder"))
            .arg("--data")
            .arg(root().join("../shared/data/msr-action3d"))
            .arg("--out")
            .arg(out)
            .args(flags),
    );
}

/// `extract --no-map` leaves STAR's pre-pooling feature map out of the split's feature file (the part that makes it
/// ~38 GB at NTU-120 size): the file is smaller, holds no map, and a method that does not read the map trains on it.
/// Without a split the flag is refused, since the plain .npy never holds a map.
#[test]
fn extract_no_map_writes_a_feature_file_without_stars_map() {
    let data = root().join("../shared/data/msr-action3d");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (with, without) = (d.join("with.safetensors"), d.join("without.safetensors"));
    extract_msr1(&with, &[]);
    extract_msr1(&without, &["--no-map"]);
    let (a, b) = (
        SplitFeatures::load(&with).unwrap(),
        SplitFeatures::load(&without).unwrap(),
    );
    assert!(a.train.map.is_some() && a.test.map.is_some());
    assert!(b.train.map.is_none() && b.test.map.is_none());
    // Same pooled features either way.
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&a.train.pooled), flat(&b.train.pooled));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&without) * 10 < size(&with),
        "{} vs {} bytes",
        size(&without),
        size(&with)
    );
    texts(&d.join("texts.safetensors"));
    succeeded(
        skelzero()
            .args([
                "train", "--method", "devise", "--split", "msr1", "--epochs", "1", "--lr", "1e-2",
            ])
            .arg("--features")
            .arg(&without)
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(d.join("run")),
    );

    let out = skelzero()
        .args(["extract", "--dataset", "msr", "--no-map", "--run"])
        .arg(root().join("assets/demo/encoder"))
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(d.join("plain.npy"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("apply to a split"),
        "{stderr}"
    );
}

/// `extract --map-f16` stores STAR's map in half precision: the file is about half the size, the map loads as f16
/// within the rounding of the f32 one (the pooled features identical), and STAR trains and evaluates on it.
#[test]
fn extract_map_f16_halves_the_file_and_star_trains_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (full, half) = (d.join("f32.safetensors"), d.join("f16.safetensors"));
    extract_msr1(&full, &[]);
    extract_msr1(&half, &["--map-f16"]);
    let (a, b) = (
        SplitFeatures::load(&full).unwrap(),
        SplitFeatures::load(&half).unwrap(),
    );
    let flat = |t: &Tensor| {
        t.to_dtype(DType::F32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(flat(&a.test.pooled), flat(&b.test.pooled));
    let (ma, mb) = (a.test.map.as_ref().unwrap(), b.test.map.as_ref().unwrap());
    assert_eq!((ma.dtype(), mb.dtype()), (DType::F32, DType::F16));
    assert_eq!(ma.dims(), mb.dims());
    for (x, y) in flat(ma).iter().zip(flat(mb)) {
        assert!((x - y).abs() <= 1e-3 * x.abs() + 1e-6, "{x} vs {y}");
    }
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    let ratio = size(&half) / size(&full);
    assert!((0.45..0.6).contains(&ratio), "f16 / f32 file size {ratio}");
    star_texts(&d.join("texts.safetensors"));
    let run = d.join("star");
    succeeded(
        skelzero()
            .args([
                "train", "--method", "star", "--split", "msr1", "--epochs", "1", "--folds", "1",
            ])
            .arg("--features")
            .arg(&half)
            .arg("--texts")
            .arg(d.join("texts.safetensors"))
            .arg("--out")
            .arg(&run),
    );
    succeeded(skelzero().args(["eval", "--run"]).arg(&run));
}

/// [`texts`] with six part descriptions per class, as STAR reads them.
fn star_texts(path: &Path) {
    let dev = Device::Cpu;
    let t = |shape: &[usize], seed: u64| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| (((i as u64 + 1) * 2_654_435_761 + seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_vec(v, shape, &dev).unwrap()
    };
    let ce = ClassEmbeddings {
        names: t(&[20, 8], 1),
        sentences: t(&[20, 8], 2),
        parts: Some(t(&[20, 6, 8], 3)),
        phrases: None,
        motion: None,
    };
    save_class_embeddings(path, &ce).unwrap();
}
