//! Bad files for the bad-input tests (CLI and GUI), generated in temporary folders from ../shared/data at test time:
//! nothing from the data folder is copied into the repository.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_nn::VarMap;
use skelzero::nn::checkpoint::save_varmap;
use skelzero::nn::encoder::{Encoder, EncoderConfig};
use skelzero::nn::stgcn::StGcnConfig;
use skelzero::pretrain::run::{DataInfo, RunConfig, RunDir};

/// A path under ../shared/data.
pub fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")).join(rel)
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A real NTU `.skeleton` file's text (54 frames, one body).
pub fn ntu_text() -> String {
    std::fs::read_to_string(data("ntu-rgbd-samples/S001C001P001R001A005.skeleton")).unwrap()
}

/// The real NTU file cut after its first 40 lines, in the middle of frame 2's joints (its line 41 is missing).
pub fn truncated_ntu(dir: &Path) -> PathBuf {
    let text = ntu_text();
    let lines: Vec<&str> = text.lines().collect();
    write(dir, "S001C001P001R001A005.skeleton", lines[..40].join("\n"))
}

/// What `numpy.save` writes for an object array: an `.npy` header with descr `|O`, then a pickle.
pub fn pickled_npy_bytes() -> Vec<u8> {
    let header = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
    let mut obj = b"\x93NUMPY\x01\x00".to_vec();
    obj.extend_from_slice(&(header.len() as u16 + 1).to_le_bytes());
    obj.extend_from_slice(header.as_bytes());
    obj.push(b'\n');
    obj.extend_from_slice(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00]\x94.");
    obj
}

/// A bare pickle (what `pickle.dump` writes), under any name.
pub const PICKLE: &[u8] = b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94.";

/// `n` bytes of deterministic binary garbage.
pub fn garbage(n: u32) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

/// A small ST-GCN (fast to build and load).
pub fn small_stgcn() -> EncoderConfig {
    EncoderConfig::Stgcn(StGcnConfig {
        hidden_channels: 4,
        hidden_dim: 8,
        dropout: 0.0,
        ..Default::default()
    })
}

/// The same ST-GCN, wider: its checkpoint has other shapes.
pub fn wide_stgcn() -> EncoderConfig {
    EncoderConfig::Stgcn(StGcnConfig {
        hidden_channels: 6,
        hidden_dim: 8,
        dropout: 0.0,
        ..Default::default()
    })
}

/// A pretraining run folder `dir/name` whose config names `cfg` and whose checkpoint holds the variables of `saved`.
pub fn pretrain_run_named(
    dir: &Path,
    name: &str,
    cfg: &EncoderConfig,
    saved: &EncoderConfig,
) -> RunDir {
    let run = RunDir::new(dir.join(name));
    let config = RunConfig {
        data: DataInfo {
            dataset: "synthetic".into(),
            split: "toy".into(),
            frames: 8,
            joints: 25,
            bodies: 2,
            rotation: skelzero::skeleton::preprocess::Rotation::PerFrameY,
        },
        train: Default::default(),
        classes: vec![0, 1],
        encoder: cfg.clone(),
    };
    run.save_config(&config).unwrap();
    let vm = VarMap::new();
    Encoder::new(saved, 2, &vm, &Device::Cpu).unwrap();
    save_varmap(&vm, &run.checkpoint_path()).unwrap();
    run
}

/// [`pretrain_run_named`] in `dir/run`.
pub fn pretrain_run(dir: &Path, cfg: &EncoderConfig, saved: &EncoderConfig) -> RunDir {
    pretrain_run_named(dir, "run", cfg, saved)
}

/// `config.toml`'s text with its format version replaced by `format` (a version from the future, or text).
pub fn config_with_format(config: &str, format: &str) -> String {
    assert!(config.starts_with("format = 1\n"), "{config}");
    config.replacen("format = 1", &format!("format = {format}"), 1)
}

/// Rewrites a safetensors file with its first tensor (by name) replaced by one of another shape.
pub fn reshape_first_tensor(path: &Path) -> String {
    let mut tensors = candle_core::safetensors::load(path, &Device::Cpu).unwrap();
    let name = tensors.keys().min().unwrap().clone();
    let old = &tensors[&name];
    let mut dims = old.dims().to_vec();
    dims.push(2);
    let wrong = candle_core::Tensor::zeros(dims, old.dtype(), &Device::Cpu).unwrap();
    tensors.insert(name.clone(), wrong);
    candle_core::safetensors::save(&tensors, path).unwrap();
    name
}
