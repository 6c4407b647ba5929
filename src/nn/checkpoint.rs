//! safetensors checkpoints of a `VarMap`, written atomically and loaded with a shape check that names every
//! difference.

use std::path::{Path, PathBuf};

use candle_core::{DType, Tensor};
use candle_nn::VarMap;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// Why a checkpoint could not be written or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid safetensors file: {msg}")]
    Format { path: PathBuf, msg: String },
    #[error("{path} does not match the network{}:\n  {}", other_network_hint(*missing, *expected), brief(problems))]
    Mismatch {
        path: PathBuf,
        problems: Vec<String>,
        /// Variables of the network absent from the file, of `expected`.
        missing: usize,
        expected: usize,
    },
    #[error("{path}: {source}")]
    Tensor {
        path: PathBuf,
        source: candle_core::Error,
    },
}

/// Most variables missing means the file is another network's, not a damaged copy of this one.
fn other_network_hint(missing: usize, expected: usize) -> String {
    if expected > 0 && missing * 2 > expected {
        format!(
            " ({missing} of its {expected} tensors are missing: a checkpoint of another encoder or configuration?)"
        )
    } else {
        String::new()
    }
}

/// The first few problems, then a count of the rest, so the message stays readable.
fn brief(problems: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut lines: Vec<String> = problems.iter().take(SHOWN).cloned().collect();
    if problems.len() > SHOWN {
        lines.push(format!("... and {} more", problems.len() - SHOWN));
    }
    lines.join("\n  ")
}

fn sorted_vars(vm: &VarMap) -> Vec<(String, Tensor)> {
    let data = match vm.data().lock() {
        Ok(d) => d,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut v: Vec<(String, Tensor)> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Writes every variable of `vm` (f32) to `path` atomically.
pub fn save_varmap(vm: &VarMap, path: &Path) -> Result<(), CheckpointError> {
    let tensor_err = |source| CheckpointError::Tensor {
        path: path.to_owned(),
        source: crate::util::candle_error_without_backtrace(source),
    };
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in sorted_vars(vm) {
        let values: Vec<f32> = t
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all()?.to_vec1())
            .map_err(tensor_err)?;
        owned.push((
            name,
            t.dims().to_vec(),
            bytemuck::cast_slice(&values).to_vec(),
        ));
    }
    let mut views = Vec::with_capacity(owned.len());
    for (name, shape, bytes) in &owned {
        let view = TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| {
            CheckpointError::Format {
                path: path.to_owned(),
                msg: e.to_string(),
            }
        })?;
        views.push((name.as_str(), view));
    }
    let bytes = safetensors::serialize(views, None).map_err(|e| CheckpointError::Format {
        path: path.to_owned(),
        msg: e.to_string(),
    })?;
    crate::util::write_bytes_atomic(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Loads `path` into the variables of `vm`. Every variable must be present with the same shape; extra keys (such as
/// PyTorch's `num_batches_tracked` or Shift-GCN's index buffers) are ignored. All differences are reported at once.
pub fn load_varmap(vm: &VarMap, path: &Path) -> Result<(), CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })?;
    load_varmap_bytes(vm, &bytes, path)
}

/// [`load_varmap`] from the bytes of a safetensors file (e.g. one compiled into the binary); `origin` names it in
/// errors.
pub fn load_varmap_bytes(vm: &VarMap, bytes: &[u8], origin: &Path) -> Result<(), CheckpointError> {
    let path = origin;
    let st = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Format {
        path: path.to_owned(),
        msg: e.to_string(),
    })?;
    let vars = sorted_vars(vm);
    let mut problems = Vec::new();
    let mut values = Vec::new();
    let mut missing = 0;
    for (name, t) in &vars {
        match st.tensor(name) {
            Err(_) => {
                missing += 1;
                problems.push(format!(
                    "missing key `{name}` (expected shape {:?})",
                    t.dims()
                ));
            }
            Ok(view) if view.shape() != t.dims() => problems.push(format!(
                "key `{name}`: expected shape {:?}, found {:?}",
                t.dims(),
                view.shape()
            )),
            Ok(view) if view.dtype() != Dtype::F32 => problems.push(format!(
                "key `{name}`: expected dtype F32, found {:?}",
                view.dtype()
            )),
            Ok(view) => {
                let data: Vec<f32> = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                values.push((name.clone(), data));
            }
        }
    }
    if !problems.is_empty() {
        return Err(CheckpointError::Mismatch {
            path: path.to_owned(),
            problems,
            missing,
            expected: vars.len(),
        });
    }
    let data = match vm.data().lock() {
        Ok(d) => d,
        Err(poisoned) => poisoned.into_inner(),
    };
    for (name, v) in values {
        if let Some(var) = data.get(&name) {
            Tensor::from_vec(v, var.as_tensor().shape(), var.as_tensor().device())
                .and_then(|t| var.set(&t))
                .map_err(|source| CheckpointError::Tensor {
                    path: path.to_owned(),
                    source: crate::util::candle_error_without_backtrace(source),
                })?;
        }
    }
    Ok(())
}
