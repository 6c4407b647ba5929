//! A trained method on disk: `config.toml` (method, training and split description), `weights.safetensors`, and
//! `classes.safetensors` (the class text embeddings it was trained and evaluated with). All written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::util::format_version::{check_toml_format, toml_with_format};
use crate::zsl::tensor_file::{io_err, save_tensors, tensors_from_bytes};
use crate::zsl::trainer::TrainConfig;
use crate::zsl::{ClassEmbeddings, Dims, MethodConfig, Result, ZslError, ZslMethod};

pub const CONFIG_FILE: &str = "config.toml";
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const CLASSES_FILE: &str = "classes.safetensors";

/// The split a run was trained on (class ids index `class_names`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    pub name: String,
    pub class_names: Vec<String>,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub method: MethodConfig,
    pub train: TrainConfig,
    pub dims: Dims,
    pub split: SplitInfo,
    /// Calibrated-stacking gamma chosen on the seen-class validation split.
    pub gamma: f64,
    /// Epoch chosen on the seen-class validation split.
    pub epoch: usize,
    /// The feature file the run was trained on (`skelzero eval` defaults to it).
    #[serde(default)]
    pub features: Option<PathBuf>,
    /// Evaluation written at training time, if any (JSON-compatible table).
    #[serde(default)]
    pub evaluation: Option<crate::experiment::select::Evaluation>,
}

impl RunConfig {
    /// A run of `method` on `split` with the default training options, before model selection: gamma 0 (no
    /// calibrated stacking), epoch 0, and no feature file or evaluation recorded.
    pub fn new(method: MethodConfig, dims: Dims, split: SplitInfo) -> Self {
        Self {
            method,
            train: TrainConfig::default(),
            dims,
            split,
            gamma: 0.0,
            epoch: 0,
            features: None,
            evaluation: None,
        }
    }
}

/// Saves a trained run into `dir`.
pub fn save_run(
    dir: &Path,
    cfg: &RunConfig,
    varmap: &VarMap,
    classes: &ClassEmbeddings,
) -> Result<()> {
    let weights: HashMap<String, Tensor> = {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| ZslError::Invalid("poisoned var map".into()))?;
        data.iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    };
    save_tensors(&dir.join(WEIGHTS_FILE), &weights)?;
    let mut ct = HashMap::new();
    ct.insert("names".to_owned(), classes.names.clone());
    ct.insert("sentences".to_owned(), classes.sentences.clone());
    for (k, v) in [
        ("parts", &classes.parts),
        ("phrases", &classes.phrases),
        ("motion", &classes.motion),
    ] {
        if let Some(t) = v {
            ct.insert(k.to_owned(), t.clone());
        }
    }
    save_tensors(&dir.join(CLASSES_FILE), &ct)?;
    let text =
        toml::to_string_pretty(cfg).map_err(|e| ZslError::Invalid(format!("config: {e}")))?;
    let text = toml_with_format(&text, CONFIG_FORMAT);
    let path = dir.join(CONFIG_FILE);
    crate::util::write_bytes_atomic(&path, text.as_bytes()).map_err(io_err(&path))?;
    Ok(())
}

/// A loaded run: its configuration, the method (read-only weights) and its class embeddings.
pub struct LoadedRun {
    pub dir: PathBuf,
    pub config: RunConfig,
    pub method: Box<dyn ZslMethod>,
    pub classes: ClassEmbeddings,
    /// The `branch_set.toml` whose InfoCPL branch set the method scores with, when the run folder has one.
    pub branch_set: Option<PathBuf>,
    /// The `gamma.toml` saved from the explorer, when the run folder has one: `config.gamma` is its gamma then.
    pub saved_gamma: Option<super::saved_gamma::SavedGamma>,
}

/// The newest `config.toml` format this build reads and the one it writes.
pub const CONFIG_FORMAT: u32 = 1;

/// Parses a run's `config.toml` text; `path` names it in errors.
pub fn config_from_toml(text: &str, path: &Path) -> Result<RunConfig> {
    let file_err = |message: String| ZslError::File {
        path: path.to_owned(),
        message,
    };
    check_toml_format(text, "run", CONFIG_FORMAT).map_err(file_err)?;
    toml::from_str(text).map_err(|e| file_err(e.to_string()))
}

/// Loads a run folder, checking every weight's name and shape against the configured method.
pub fn load_run(dir: &Path) -> Result<LoadedRun> {
    super::run_kind::expect_run(dir, super::run_kind::RunKind::Train, "--run")
        .map_err(ZslError::Invalid)?;
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(io_err(&path))
    };
    let config = read(CONFIG_FILE)?;
    let config = String::from_utf8(config).map_err(|e| ZslError::File {
        path: dir.join(CONFIG_FILE),
        message: e.to_string(),
    })?;
    let mut run = load_run_bytes(dir, &config, &read(WEIGHTS_FILE)?, &read(CLASSES_FILE)?)?;
    if let Some(info) = run.method.as_infocpl_mut()
        && let Some(set) = crate::zsl::branch_set::BranchSet::load(dir, info.trained_topk().len())?
    {
        info.set_branch_set(set)?;
        run.branch_set = Some(dir.join(crate::zsl::branch_set::BRANCH_SET_FILE));
    }
    if let Some(saved) = super::saved_gamma::SavedGamma::load(dir)? {
        run.config.gamma = saved.gamma;
        run.saved_gamma = Some(saved);
    }
    Ok(run)
}

/// [`load_run`] from the contents of the three files (e.g. compiled into the binary); `dir` names them in errors.
pub fn load_run_bytes(
    dir: &Path,
    config: &str,
    weights: &[u8],
    classes: &[u8],
) -> Result<LoadedRun> {
    let path = dir.join(CONFIG_FILE);
    let config = config_from_toml(config, &path)?;
    let wpath = dir.join(WEIGHTS_FILE);
    let weights = tensors_from_bytes(weights, &wpath)?;
    // Build a fresh method to learn the expected names and shapes, then compare.
    let (_, expected) = config
        .method
        .build_trainable(config.dims, &Device::Cpu, 0)?;
    {
        let data = expected
            .data()
            .lock()
            .map_err(|_| ZslError::Invalid("poisoned var map".into()))?;
        for (name, var) in data.iter() {
            let got = weights.get(name).ok_or_else(|| ZslError::File {
                path: wpath.clone(),
                message: format!("missing tensor `{name}`"),
            })?;
            if got.dims() != var.dims() || got.dtype() != DType::F32 {
                return Err(ZslError::File {
                    path: wpath.clone(),
                    message: format!(
                        "tensor `{name}` is {:?} {:?}, the {} config expects {:?} f32",
                        got.dims(),
                        got.dtype(),
                        config.method.kind(),
                        var.dims()
                    ),
                });
            }
        }
    }
    let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
    let method = config.method.build(config.dims, vb)?;
    let cpath = dir.join(CLASSES_FILE);
    let mut ct = tensors_from_bytes(classes, &cpath)?;
    let mut take = |k: &str| ct.remove(k);
    let missing = |k: &str| ZslError::File {
        path: cpath.clone(),
        message: format!("missing tensor `{k}`"),
    };
    let classes = ClassEmbeddings {
        names: take("names").ok_or_else(|| missing("names"))?,
        sentences: take("sentences").ok_or_else(|| missing("sentences"))?,
        parts: take("parts"),
        phrases: take("phrases"),
        motion: take("motion"),
    };
    classes.validate().map_err(|e| ZslError::File {
        path: cpath.clone(),
        message: e.to_string(),
    })?;
    if classes.num_classes() != config.split.class_names.len() || classes.dim() != config.dims.text
    {
        return Err(ZslError::File {
            path: cpath,
            message: format!(
                "{} classes of dimension {}, the config says {} of dimension {}",
                classes.num_classes(),
                classes.dim(),
                config.split.class_names.len(),
                config.dims.text
            ),
        });
    }
    Ok(LoadedRun {
        dir: dir.to_owned(),
        config,
        method,
        classes,
        branch_set: None,
        saved_gamma: None,
    })
}
