//! The built-in demo: the synthetic action dataset (generated at start-up, seeded) and real zero-shot runs trained on
//! it with skelzero's own commands (`assets/demo/regenerate.sh`): one ST-GCN encoder pretrained on the seen classes
//! of the `synth-demo` split, and STAR, InfoCPL, SMIE and DeViSE runs over MiniLM embeddings of the class texts in
//! `assets/synthetic/`, each with its epoch and GZSL gamma chosen on the seen classes only. Everything is compiled
//! into the binary, so the demo needs no files and no download.
//!
//! The path `demo` opens the default run (the best on seen-class validation, [`default_demo_run`]); `demo:star`,
//! `demo:infocpl`, ... open one run by its method name ([`demo_run_path`]).

use std::path::Path;
use std::sync::OnceLock;

use crate::dataset::Dataset;
use crate::dataset::description_set::{ClassDescription, DescriptionSet};
use crate::dataset::synthetic::{SynthConfig, generate_dataset, synthetic_texts};
use crate::dataset::texts::ClassTexts;
use crate::experiment::run::{LoadedRun, RunConfig, config_from_toml, load_run_bytes};
use crate::pipeline::{EncoderModel, PipelineError};
use crate::zsl::ZslError;

/// Where the embedded files live in the repository (named in errors).
pub const ENCODER_DIR: &str = "assets/demo/encoder";
/// The class embeddings every demo run scores against (one file: the runs share the texts and the text encoder).
pub const CLASSES_FILE: &str = "assets/demo/classes.safetensors";

const ENCODER_CONFIG: &str = include_str!("../../assets/demo/encoder/config.toml");
const ENCODER_CHECKPOINT: &[u8] =
    include_bytes!("../../assets/demo/encoder/checkpoint.safetensors");
const RUN_CLASSES: &[u8] = include_bytes!("../../assets/demo/classes.safetensors");

/// One embedded run: the method's name (as `skelzero train --method` spells it), its folder in the repository,
/// its `config.toml` and weights.
pub struct DemoRun {
    pub method: &'static str,
    pub dir: &'static str,
    config: &'static str,
    weights: &'static [u8],
}

macro_rules! demo_run {
    ($method:literal) => {
        DemoRun {
            method: $method,
            dir: concat!("assets/demo/runs/", $method),
            config: include_str!(concat!("../../assets/demo/runs/", $method, "/config.toml")),
            weights: include_bytes!(concat!(
                "../../assets/demo/runs/",
                $method,
                "/weights.safetensors"
            )),
        }
    };
}

/// The embedded runs, in the order the explorer lists them.
pub const DEMO_RUNS: [DemoRun; 4] = [
    demo_run!("star"),
    demo_run!("infocpl"),
    demo_run!("smie"),
    demo_run!("devise"),
];

/// The path the explorer opens a demo run by: `demo` for the default run, `demo:<method>` for another.
pub fn demo_run_path(method: &str) -> std::path::PathBuf {
    format!("demo:{method}").into()
}

/// Which embedded run a path names: `demo` the default one, `demo:<method>` that method's; `None` for other paths
/// (and for an unknown method).
pub fn demo_run_index(path: &Path) -> Option<usize> {
    let s = path.to_str()?;
    if s == "demo" {
        return Some(default_demo_run());
    }
    let method = s.strip_prefix("demo:")?;
    DEMO_RUNS.iter().position(|r| r.method == method)
}

/// Whether `path` names the demo or one of its runs.
pub fn is_demo_path(path: &Path) -> bool {
    path.as_os_str() == "demo" || demo_run_index(path).is_some()
}

/// The demo dataset: exactly what `skelzero pretrain --dataset synthetic` generates. Generated once per process:
/// the explorer opens the demo's dataset and scores its run on two workers at once, which would otherwise both
/// generate it on the same 2 cores.
pub fn demo_dataset() -> Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET
        .get_or_init(|| generate_dataset(&SynthConfig::default()))
        .clone()
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

/// The configuration (with its recorded evaluation) of embedded run `i`, parsed once.
pub fn demo_run_config(i: usize) -> Result<&'static RunConfig, ZslError> {
    static CONFIGS: OnceLock<Vec<Result<RunConfig, String>>> = OnceLock::new();
    let configs = CONFIGS.get_or_init(|| {
        DEMO_RUNS
            .iter()
            .map(|run| {
                config_from_toml(run.config, &Path::new(run.dir).join("config.toml"))
                    .map_err(|e| e.to_string())
            })
            .collect()
    });
    match configs.get(i) {
        Some(Ok(c)) => Ok(c),
        Some(Err(e)) => Err(ZslError::Invalid(e.clone())),
        None => Err(ZslError::Invalid(format!("no demo run {i}"))),
    }
}

/// The embedded run the demo opens on: the best mean pseudo-unseen ZSL top-1 on the seen-class validation folds,
/// ties to the better validation GZSL H, then to the first listed. Nothing about the unseen test classes enters.
pub fn default_demo_run() -> usize {
    let key = |i: usize| {
        demo_run_config(i)
            .ok()
            .and_then(|c| c.evaluation.as_ref())
            .map_or((f64::NEG_INFINITY, f64::NEG_INFINITY), |e| {
                (e.val_zsl_top1, e.val_gzsl_h)
            })
    };
    (0..DEMO_RUNS.len()).fold(0, |best, i| if key(i) > key(best) { i } else { best })
}

/// Embedded run `i` (method weights and class embeddings).
pub fn demo_run_at(i: usize) -> Result<LoadedRun, ZslError> {
    let run = DEMO_RUNS
        .get(i)
        .ok_or_else(|| ZslError::Invalid(format!("no demo run {i}")))?;
    load_run_bytes(Path::new(run.dir), run.config, run.weights, RUN_CLASSES)
}

/// The default embedded run ([`default_demo_run`]).
pub fn demo_run() -> Result<LoadedRun, ZslError> {
    demo_run_at(default_demo_run())
}

/// One embedded run's figures on the demo's test samples, as `skelzero demo --json` prints them (fractions in
/// 0..1).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DemoRunScore {
    pub method: String,
    /// Whether the demo opens on this run ([`default_demo_run`]).
    pub default: bool,
    /// Top-1 on the unseen-class test samples among the unseen classes.
    pub zsl_top1: f64,
    /// GZSL top-1 among all classes on the seen-class test samples (held-out subjects), at `gamma`.
    pub gzsl_s: f64,
    /// GZSL top-1 among all classes on the unseen-class test samples, at `gamma`.
    pub gzsl_u: f64,
    pub gzsl_h: f64,
    /// The calibration the run applies, chosen on seen-class validation.
    pub gamma: f64,
    /// ZSL chance: one over the number of unseen classes.
    pub chance: f64,
}

/// Scores every embedded run live on the demo dataset (encoder on `device`), in [`DEMO_RUNS`] order.
pub fn score_demo_runs(device: &candle_core::Device) -> Result<Vec<DemoRunScore>, PipelineError> {
    let ds = demo_dataset();
    let model = demo_encoder(device)?;
    let default = default_demo_run();
    (0..DEMO_RUNS.len())
        .map(|i| {
            let run = demo_run_at(i)?;
            let p = super::predict_dataset(&model, &run, &ds, &mut |_, _| true)?;
            let m = p.metrics();
            Ok(DemoRunScore {
                method: DEMO_RUNS[i].method.into(),
                default: i == default,
                zsl_top1: f64::from(m.zsl_accuracy),
                gzsl_s: f64::from(m.seen_accuracy),
                gzsl_u: f64::from(m.unseen_accuracy),
                gzsl_h: f64::from(m.harmonic),
                gamma: run.config.gamma,
                chance: 1.0 / run.config.split.unseen.len().max(1) as f64,
            })
        })
        .collect()
}

/// The class the description editor's prepared "try an edit" rewrites: *wave right hand and kick with left leg*, an
/// unseen class.
pub const TRY_EDIT_CLASS: usize = 5;

/// A wrong description of [`TRY_EDIT_CLASS`]: both hands clapping overhead with the legs still, instead of the right
/// hand waving and the left leg kicking. Scored with it, the class's samples go to other classes; the shipped texts
/// bring them back.
fn bad_description() -> ClassDescription {
    ClassDescription {
        name: "clap hands overhead".into(),
        sentence: "A person raises both arms above the head and claps the hands together several times while both \
                   feet stay flat on the floor and the legs do not move."
            .into(),
        parts: Some([
            "the head tilts back a little to look up at the hands".into(),
            "both hands meet and separate high above the head".into(),
            "both arms are raised straight up overhead".into(),
            "the hips stay level and still".into(),
            "both legs stand straight without moving".into(),
            "both feet stay flat on the floor".into(),
        ]),
        phrases: Some(
            [
                "a person claps above the head",
                "both hands meet overhead",
                "both arms are raised high",
                "clapping with the arms up",
                "the legs stay still",
                "both feet stay on the floor",
                "the palms come together and apart",
                "the head looks up",
            ]
            .map(String::from)
            .to_vec(),
        ),
    }
}

/// Whether `set` is the demo's shipped class texts (the editor offers the prepared edit on those runs).
pub fn is_demo_set(set: &DescriptionSet) -> bool {
    set == shipped_set()
}

/// The demo's shipped class texts as a description set, made once (the editor asks every frame).
fn shipped_set() -> &'static DescriptionSet {
    static SET: OnceLock<DescriptionSet> = OnceLock::new();
    SET.get_or_init(|| DescriptionSet::from_class_texts(&demo_texts()))
}

/// The prepared edit applied to `set` (the editor's current texts): [`TRY_EDIT_CLASS`] gets the wrong
/// description (`good` false) or its shipped one back (`good` true). `None` when `set` is not the demo's class set.
pub fn try_edit(set: &DescriptionSet, good: bool) -> Option<DescriptionSet> {
    let shipped = shipped_set();
    if set.len() != shipped.len() {
        return None;
    }
    let mut out = set.clone();
    out.classes[TRY_EDIT_CLASS] = if good {
        shipped.classes[TRY_EDIT_CLASS].clone()
    } else {
        bad_description()
    };
    Some(out)
}
