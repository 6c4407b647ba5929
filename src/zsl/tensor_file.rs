//! Tensors in safetensors files, written atomically and read with errors that name the file: the feature files
//! ([`super::features`]) and the run folders (`crate::experiment::run`) share these.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use super::{Result, ZslError};

/// An I/O error on `path` as the zero-shot layer's error, naming the file.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ZslError + '_ {
    move |source| ZslError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes tensors as safetensors atomically (sorted by name, so equal maps give equal files).
pub fn save_tensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    save_tensors_with_metadata(path, tensors, None)
}

/// [`save_tensors`] with string metadata in the safetensors header (`__metadata__`).
pub fn save_tensors_with_metadata(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let mut views: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    views.sort_by_key(|(k, _)| *k);
    let bytes = safetensors::serialize(views, metadata).map_err(|e| ZslError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    crate::util::write_bytes_atomic(path, &bytes).map_err(io_err(path))
}

pub fn tensors_from_bytes(bytes: &[u8], origin: &Path) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| ZslError::File {
        path: origin.to_owned(),
        message: e.to_string(),
    })
}
