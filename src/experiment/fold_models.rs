//! A run's seen-class validation models: `validation.safetensors` in the run folder holds, for each pseudo-unseen
//! fold the selection used ([`super::select::validation_folds`]), the fold model's weights at the chosen (lr, epoch)
//! and the fold's classes and held-out rows (indices into the feature file's training samples).
//!
//! They let a scoring-time choice (InfoCPL's branch set) be measured on seen classes the model never trained on,
//! instead of on the unseen test classes. `skelzero train` writes the file for InfoCPL runs; runs trained before it
//! existed have none, and the explorer says "no validation data in this run".

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::select::ValidationSplit;
use crate::zsl::tensor_file::{io_err, save_tensors_with_metadata, tensors_from_bytes};
use crate::zsl::{Result, ZslError};

/// The file in a run folder.
pub const VALIDATION_FILE: &str = "validation.safetensors";
/// The newest `validation.safetensors` format this build reads and the one it writes.
pub const VALIDATION_FORMAT: u32 = 1;

/// One fold's model at the chosen (lr, epoch).
#[derive(Clone, Debug)]
pub struct FoldModel {
    pub split: ValidationSplit,
    /// The method's parameters by name, as in `weights.safetensors`.
    pub weights: HashMap<String, Tensor>,
}

/// Every fold model of a run, with what they were trained on.
#[derive(Clone, Debug)]
pub struct FoldModels {
    pub folds: Vec<FoldModel>,
    /// Training samples of the feature file the rows index (checked when the file is read against features).
    pub train_samples: usize,
    pub lr: f64,
    pub epoch: usize,
}

fn ids_tensor(v: &[usize]) -> Result<Tensor> {
    let v: Vec<u32> = v.iter().map(|&x| x as u32).collect();
    let n = v.len();
    Ok(Tensor::from_vec(v, n, &Device::Cpu)?)
}

const WEIGHTS: &str = "weights.";

impl FoldModels {
    /// Writes `dir/validation.safetensors` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut m = HashMap::new();
        for (f, fold) in self.folds.iter().enumerate() {
            let s = &fold.split;
            for (key, ids) in [
                ("pseudo_seen", &s.pseudo_seen),
                ("pseudo_unseen", &s.pseudo_unseen),
                ("train_rows", &s.train_rows),
                ("val_seen_rows", &s.val_seen_rows),
                ("val_unseen_rows", &s.val_unseen_rows),
            ] {
                m.insert(format!("fold{f}.{key}"), ids_tensor(ids)?);
            }
            for (name, t) in &fold.weights {
                m.insert(format!("fold{f}.{WEIGHTS}{name}"), t.clone());
            }
        }
        let meta = HashMap::from([
            ("format".to_owned(), VALIDATION_FORMAT.to_string()),
            ("folds".to_owned(), self.folds.len().to_string()),
            ("train_samples".to_owned(), self.train_samples.to_string()),
            ("lr".to_owned(), self.lr.to_string()),
            ("epoch".to_owned(), self.epoch.to_string()),
        ]);
        save_tensors_with_metadata(&dir.join(VALIDATION_FILE), &m, Some(meta))
    }

    /// Reads `dir/validation.safetensors`; `None` when the run has none (trained before the file existed, or a
    /// method that does not keep fold models).
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(VALIDATION_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        Self::from_bytes(&bytes, &path).map(Some)
    }

    /// [`Self::load`] on the file's bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let err = |message: String| ZslError::File {
            path: path.to_owned(),
            message,
        };
        let meta = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| err(e.to_string()))?
            .1;
        let meta = meta.metadata().clone().unwrap_or_default();
        let field = |key: &str| -> Result<&String> {
            meta.get(key)
                .ok_or_else(|| err(format!("header field `{key}` is missing")))
        };
        let format: u32 = field("format")?
            .parse()
            .map_err(|_| err("header field `format` is not a number".into()))?;
        if format > VALIDATION_FORMAT {
            return Err(err(format!(
                "format {format} is newer than this build reads ({VALIDATION_FORMAT}): update skelzero"
            )));
        }
        let number = |key: &str| -> Result<usize> {
            field(key)?
                .parse()
                .map_err(|_| err(format!("header field `{key}` is not a count")))
        };
        let (folds, train_samples, epoch) =
            (number("folds")?, number("train_samples")?, number("epoch")?);
        let lr: f64 = field("lr")?
            .parse()
            .map_err(|_| err("header field `lr` is not a number".into()))?;
        let mut tensors = tensors_from_bytes(bytes, path)?;
        let mut out = Vec::with_capacity(folds);
        for f in 0..folds {
            let mut ids = |key: &str| -> Result<Vec<usize>> {
                let name = format!("fold{f}.{key}");
                let t = tensors
                    .remove(&name)
                    .ok_or_else(|| err(format!("missing tensor `{name}`")))?;
                if t.rank() != 1 || t.dtype() != DType::U32 {
                    return Err(err(format!("`{name}` must be a 1-d u32 tensor")));
                }
                let v: Vec<usize> = t
                    .to_vec1::<u32>()?
                    .into_iter()
                    .map(|x| x as usize)
                    .collect();
                if let Some(bad) = v
                    .iter()
                    .find(|&&r| key.ends_with("rows") && r >= train_samples)
                {
                    return Err(err(format!(
                        "`{name}` holds row {bad}, past the {train_samples} training samples"
                    )));
                }
                Ok(v)
            };
            let split = ValidationSplit {
                pseudo_seen: ids("pseudo_seen")?,
                pseudo_unseen: ids("pseudo_unseen")?,
                train_rows: ids("train_rows")?,
                val_seen_rows: ids("val_seen_rows")?,
                val_unseen_rows: ids("val_unseen_rows")?,
            };
            if split.pseudo_unseen.is_empty() || split.val_unseen_rows.is_empty() {
                return Err(err(format!("fold {f} has no pseudo-unseen class or row")));
            }
            let prefix = format!("fold{f}.{WEIGHTS}");
            let names: Vec<String> = tensors
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            let weights = names
                .into_iter()
                .filter_map(|k| {
                    let t = tensors.remove(&k)?;
                    Some((k[prefix.len()..].to_owned(), t))
                })
                .collect::<HashMap<_, _>>();
            if weights.is_empty() {
                return Err(err(format!("fold {f} has no weights")));
            }
            out.push(FoldModel { split, weights });
        }
        Ok(Self {
            folds: out,
            train_samples,
            lr,
            epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_models_round_trip_and_name_bad_fields() {
        let split = ValidationSplit {
            pseudo_seen: vec![0, 2],
            pseudo_unseen: vec![1, 3],
            train_rows: vec![0, 2],
            val_seen_rows: vec![4],
            val_unseen_rows: vec![1, 3],
        };
        let w = Tensor::from_vec(vec![1f32, 2.0, 3.0], 3, &Device::Cpu).unwrap();
        let fm = FoldModels {
            folds: vec![FoldModel {
                split: split.clone(),
                weights: HashMap::from([("proj.weight".to_owned(), w)]),
            }],
            train_samples: 5,
            lr: 1e-3,
            epoch: 7,
        };
        let dir = tempfile::tempdir().unwrap();
        assert!(FoldModels::load(dir.path()).unwrap().is_none());
        fm.save(dir.path()).unwrap();
        let back = FoldModels::load(dir.path()).unwrap().unwrap();
        assert_eq!((back.train_samples, back.epoch, back.lr), (5, 7, 1e-3));
        assert_eq!(back.folds[0].split, split);
        let t = &back.folds[0].weights["proj.weight"];
        assert_eq!(t.to_vec1::<f32>().unwrap(), [1.0, 2.0, 3.0]);
        // A row past the training samples is refused, naming the file and the tensor.
        let mut bad = fm.clone();
        bad.train_samples = 4;
        bad.save(dir.path()).unwrap();
        let e = FoldModels::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(VALIDATION_FILE) && e.contains("fold0.val_seen_rows"),
            "{e}"
        );
    }
}
