//! The built-in demo: the synthetic action dataset (generated at start-up, seeded) and a real zero-shot pair trained
//! on it with skelzero's own commands (`assets/demo/regenerate.sh`): an ST-GCN encoder pretrained on the seen classes
//! of the `synth-demo` split and a DeViSE run over MiniLM embeddings of the class texts in `assets/synthetic/`.
//! Everything is compiled into the binary, so the demo needs no files and no download.

use std::path::Path;

use crate::dataset::Dataset;
use crate::dataset::synthetic::{SynthConfig, generate_dataset, synthetic_texts};
use crate::dataset::texts::ClassTexts;
use crate::experiment::run::{LoadedRun, load_run_bytes};
use crate::pipeline::{EncoderModel, PipelineError};
use crate::zsl::ZslError;

/// Where the embedded files live in the repository (named in errors).
pub const ENCODER_DIR: &str = "assets/demo/encoder";
pub const RUN_DIR: &str = "assets/demo/zsl";

const ENCODER_CONFIG: &str = include_str!("../../assets/demo/encoder/config.toml");
const ENCODER_CHECKPOINT: &[u8] =
    include_bytes!("../../assets/demo/encoder/checkpoint.safetensors");
const RUN_CONFIG: &str = include_str!("../../assets/demo/zsl/config.toml");
const RUN_WEIGHTS: &[u8] = include_bytes!("../../assets/demo/zsl/weights.safetensors");
const RUN_CLASSES: &[u8] = include_bytes!("../../assets/demo/zsl/classes.safetensors");

/// The demo dataset: exactly what `skelzero pretrain --dataset synthetic` generates.
pub fn demo_dataset() -> Dataset {
    generate_dataset(&SynthConfig::default())
}

/// The class texts the demo's class embeddings were made from.
pub fn demo_texts() -> ClassTexts {
    synthetic_texts()
}

/// The embedded pretrained encoder, on `device`.
pub fn demo_encoder(device: &candle_core::Device) -> Result<EncoderModel, PipelineError> {
    EncoderModel::from_bytes(
        Path::new(ENCODER_DIR),
        ENCODER_CONFIG,
        ENCODER_CHECKPOINT,
        device,
    )
}

/// The embedded zero-shot run (method weights and class embeddings).
pub fn demo_run() -> Result<LoadedRun, ZslError> {
    load_run_bytes(Path::new(RUN_DIR), RUN_CONFIG, RUN_WEIGHTS, RUN_CLASSES)
}
