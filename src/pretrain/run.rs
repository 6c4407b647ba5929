//! A training run's folder: `config.toml`, `split.json`, `checkpoint.safetensors`, `metrics.jsonl`,
//! `progress.json`. Every file is written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::options::{EpochMetrics, TrainOptions};
use crate::nn::checkpoint::CheckpointError;
use crate::nn::encoder::EncoderConfig;
use crate::skeleton::preprocess::{NUM_JOINTS, PreprocessConfig, Rotation};
use crate::util::format_version::{check_toml_format, toml_with_format};

/// Why a run folder could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    Parse { path: PathBuf, msg: String },
    #[error("{path} was written for a different run; differences (run folder vs requested):\n  {}", diffs.join("\n  "))]
    ConfigMismatch { path: PathBuf, diffs: Vec<String> },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// The newest `config.toml` format this build reads and the one it writes.
pub const CONFIG_FORMAT: u32 = 1;

/// What the encoder was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub dataset: String,
    pub split: String,
    /// Preprocessed input size: frames, joints, bodies.
    pub frames: usize,
    pub joints: usize,
    pub bodies: usize,
    /// How sequences were turned to face the camera (runs written before this field: per frame, the reference's).
    #[serde(default = "per_frame_y")]
    pub rotation: Rotation,
}

impl DataInfo {
    /// The dataset family `dataset` names (`None` for a name this version does not know).
    pub fn kind(&self) -> Option<crate::dataset::DatasetKind> {
        serde_json::from_value(serde_json::Value::String(self.dataset.clone())).ok()
    }
}

fn per_frame_y() -> Rotation {
    Rotation::PerFrameY
}

/// No dataset or split named yet; the sizes and rotation of [`PreprocessConfig::default`] (NTU's 25 joints), so
/// `DataInfo::default().preprocess()` is the default preprocessing. Fill the rest with struct update syntax.
impl Default for DataInfo {
    fn default() -> Self {
        let pre = PreprocessConfig::default();
        Self {
            dataset: String::new(),
            split: String::new(),
            frames: pre.frames,
            joints: NUM_JOINTS,
            bodies: pre.bodies,
            rotation: pre.rotation,
        }
    }
}

impl DataInfo {
    /// The preprocessing the encoder was trained with, which its inputs must get too.
    pub fn preprocess(&self) -> PreprocessConfig {
        PreprocessConfig {
            frames: self.frames,
            bodies: self.bodies,
            rotation: self.rotation,
            ..PreprocessConfig::default()
        }
    }
}

/// Everything needed to rebuild the network and repeat the training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub data: DataInfo,
    pub train: TrainOptions,
    /// Dataset labels (0-based) of the classifier's outputs, in order: the seen classes.
    pub classes: Vec<usize>,
    pub encoder: EncoderConfig,
}

impl RunConfig {
    /// A run of `encoder` on `data`, classifying `classes`, with the default training options.
    pub fn new(data: DataInfo, classes: Vec<usize>, encoder: EncoderConfig) -> Self {
        Self {
            data,
            train: TrainOptions::default(),
            classes,
            encoder,
        }
    }

    /// Parses a run's `config.toml` text (refusing a newer format); `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, RunError> {
        let parse_err = |msg: String| RunError::Parse {
            path: origin.to_owned(),
            msg,
        };
        check_toml_format(text, "pretraining run", CONFIG_FORMAT).map_err(parse_err)?;
        let cfg: Self = toml::from_str(text).map_err(|e| parse_err(e.to_string()))?;
        PreprocessConfig::check_bodies(cfg.data.bodies)
            .map_err(|e| parse_err(format!("data.bodies = {}: {e}", cfg.data.bodies)))?;
        Ok(cfg)
    }
}

/// The split of a run: which classes the encoder saw and which samples trained / validated it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSplit {
    pub name: String,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
    pub train_ids: Vec<String>,
    pub val_ids: Vec<String>,
}

/// Progress saved after each complete epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub epochs_done: usize,
    /// With early stopping: the epoch (1-based) of the best validation accuracy so far, whose weights `best.safetensors`
    /// holds (and the checkpoint, once training ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
    /// Early stopping ended the run before its last epoch: a rerun of the same command does not train on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
}

impl Progress {
    /// Whether nothing is left to train in a run of `epochs` epochs.
    pub fn complete(&self, epochs: usize) -> bool {
        self.stopped_early || self.epochs_done >= epochs
    }
}

/// Paths of a run folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn split_path(&self) -> PathBuf {
        self.root.join("split.json")
    }
    pub fn checkpoint_path(&self) -> PathBuf {
        self.root.join("checkpoint.safetensors")
    }
    /// The best epoch's weights while early stopping is on.
    pub fn best_checkpoint_path(&self) -> PathBuf {
        self.root.join("best.safetensors")
    }
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    pub fn progress_path(&self) -> PathBuf {
        self.root.join("progress.json")
    }

    fn write(&self, path: &Path, text: &str) -> Result<(), RunError> {
        crate::util::write_bytes_atomic(path, text.as_bytes()).map_err(|source| RunError::Io {
            path: path.to_owned(),
            source,
        })
    }

    fn read(&self, path: &Path) -> Result<String, RunError> {
        std::fs::read_to_string(path).map_err(|source| RunError::Io {
            path: path.to_owned(),
            source,
        })
    }

    pub fn save_config(&self, cfg: &RunConfig) -> Result<(), RunError> {
        let path = self.config_path();
        let text = toml::to_string_pretty(cfg).map_err(|e| RunError::Parse {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        self.write(&path, &toml_with_format(&text, CONFIG_FORMAT))
    }

    pub fn load_config(&self) -> Result<RunConfig, RunError> {
        let path = self.config_path();
        let text = self.read(&path)?;
        RunConfig::from_toml(&text, &path)
    }

    /// Fails with every differing key when the folder's config is not `cfg`.
    pub fn check_config(&self, cfg: &RunConfig) -> Result<(), RunError> {
        let have = self.load_config()?;
        let diffs = config_diff(&have, cfg);
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(RunError::ConfigMismatch {
                path: self.config_path(),
                diffs,
            })
        }
    }

    pub fn save_split(&self, split: &RunSplit) -> Result<(), RunError> {
        let path = self.split_path();
        let text = serde_json::to_string_pretty(split).map_err(|e| RunError::Parse {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        self.write(&path, &text)
    }

    pub fn load_split(&self) -> Result<RunSplit, RunError> {
        let path = self.split_path();
        let text = self.read(&path)?;
        serde_json::from_str(&text).map_err(|e| RunError::Parse {
            path,
            msg: e.to_string(),
        })
    }

    /// Epochs completed so far (0 for a new folder).
    pub fn load_progress(&self) -> Result<Progress, RunError> {
        let path = self.progress_path();
        if !path.exists() {
            return Ok(Progress::default());
        }
        let text = self.read(&path)?;
        serde_json::from_str(&text).map_err(|e| RunError::Parse {
            path,
            msg: e.to_string(),
        })
    }

    pub fn save_progress(&self, p: Progress) -> Result<(), RunError> {
        let path = self.progress_path();
        let text = serde_json::to_string(&p).map_err(|e| RunError::Parse {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        self.write(&path, &text)
    }

    /// The metrics of the completed epochs (empty for a new folder).
    pub fn load_metrics(&self) -> Result<Vec<EpochMetrics>, RunError> {
        let path = self.metrics_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let text = self.read(&path)?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| RunError::Parse {
                    path: path.clone(),
                    msg: format!("line {}: {e}", i + 1),
                })
            })
            .collect()
    }

    /// Rewrites the metrics log (one JSON object per line).
    pub fn save_metrics(&self, metrics: &[EpochMetrics]) -> Result<(), RunError> {
        let path = self.metrics_path();
        let mut text = String::new();
        for m in metrics {
            let line = serde_json::to_string(m).map_err(|e| RunError::Parse {
                path: path.clone(),
                msg: e.to_string(),
            })?;
            text.push_str(&line);
            text.push('\n');
        }
        self.write(&path, &text)
    }
}

/// Keys whose values differ between two configs, as `key: have -> want`.
pub fn config_diff(have: &RunConfig, want: &RunConfig) -> Vec<String> {
    fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let to_flat = |c: &RunConfig| {
        let mut out = Vec::new();
        if let Ok(v) = toml::Value::try_from(c) {
            flatten("", &v, &mut out);
        }
        out.into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (a, b) = (to_flat(have), to_flat(want));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let none = "(absent)".to_owned();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).unwrap_or(&none), b.get(k).unwrap_or(&none));
            (x != y).then(|| format!("{k}: {x} -> {y}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_data_info_is_the_default_preprocessing_and_serde_default() {
        let d = DataInfo::default();
        assert_eq!(d.preprocess(), PreprocessConfig::default());
        // The rotation a `config.toml` without one gets.
        let parsed: DataInfo =
            toml::from_str("dataset = \"\"\nsplit = \"\"\nframes = 50\njoints = 25\nbodies = 2\n")
                .expect("a data table without rotation parses");
        assert_eq!(parsed, d);
    }
}
