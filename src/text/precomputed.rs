//! Precomputed class-text features: SynSE/SMIE `.npy` class embeddings (`C x D`) and Neuron's torch zip archives
//! (`[C, 10, 768]` float32 at `archive/data/0`). The torch archive's pickle is never parsed: the tensor is the one raw
//! little-endian storage file, and its shape follows from its size.

use std::io::{Read, Seek};
use std::path::Path;

use crate::formats::ReadError;
use crate::formats::npy::read_f32 as read_npy_f32;

/// Descriptions per class in a Neuron archive.
pub const NEURON_DESCRIPTIONS: usize = 10;
/// Feature size of a Neuron archive.
pub const NEURON_DIM: usize = 768;
/// No class-feature file is anywhere near this; a bigger entry is a damaged or hostile archive.
const MAX_STORAGE_BYTES: u64 = 1 << 30;
/// Float32 features compress to about half at best; far more means the entry is not what it claims to be.
const MAX_INFLATION: u64 = 16;

/// `classes x per_class x dim` features, row-major. Plain class embeddings have `per_class == 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassFeatures {
    pub classes: usize,
    pub per_class: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl ClassFeatures {
    /// The `per_class x dim` features of one class.
    pub fn class(&self, c: usize) -> &[f32] {
        let n = self.per_class * self.dim;
        &self.data[c * n..(c + 1) * n]
    }
}

/// Reads class features by extension: `.npy` (`C x D` or `C x K x D`) or a torch zip archive (`.tar`, `.pt`, `.pth`).
pub fn read_class_features(path: &Path) -> Result<ClassFeatures, ReadError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => read_class_embeddings_npy(path),
        Some("tar" | "pt" | "pth") => read_neuron_archive(path),
        _ => Err(ReadError::file(
            path,
            "unknown class-feature format (expected .npy or a torch .tar/.pt archive)",
        )),
    }
}

/// SynSE / SMIE class embeddings: a float `.npy` of shape `(C, D)` or `(C, K, D)`.
pub fn read_class_embeddings_npy(path: &Path) -> Result<ClassFeatures, ReadError> {
    class_features_from_npy(read_npy_f32(path)?, path)
}

/// Checks a read `.npy` array as class embeddings; `path` names it in errors.
pub fn class_features_from_npy(
    array: crate::formats::npy::NpyArray<f32>,
    path: &Path,
) -> Result<ClassFeatures, ReadError> {
    let (classes, per_class, dim) = match array.shape[..] {
        [c, d] => (c, 1, d),
        [c, k, d] => (c, k, d),
        ref s => {
            return Err(ReadError::field(
                path,
                "shape",
                format!("expected (classes, dim), got {s:?}"),
            ));
        }
    };
    if classes == 0 || dim == 0 {
        return Err(ReadError::field(path, "shape", "empty array"));
    }
    check_finite(path, &array.data)?;
    Ok(ClassFeatures {
        classes,
        per_class,
        dim,
        data: array.data,
    })
}

/// Neuron's `torch.save` archive of one `[C, 10, 768]` float32 tensor. `C` is the storage size over `10 * 768 * 4`.
pub fn read_neuron_archive(path: &Path) -> Result<ClassFeatures, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| ReadError::io(path, e))?;
    parse_neuron_archive(file, path)
}

/// [`read_neuron_archive`] on any seekable reader; `path` names it in errors.
pub fn parse_neuron_archive<R: Read + Seek>(
    reader: R,
    path: &Path,
) -> Result<ClassFeatures, ReadError> {
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| ReadError::file(path, format!("not a torch zip archive: {e}")))?;
    let storages: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| is_storage_entry(n))
        .map(|n| n.into_owned())
        .collect();
    let name = match &storages[..] {
        [one] => one.clone(),
        [] => {
            return Err(ReadError::file(
                path,
                "no tensor storage (`*/data/0`) in the archive",
            ));
        }
        many => {
            return Err(ReadError::file(
                path,
                format!(
                    "{} tensor storages in the archive, expected one",
                    many.len()
                ),
            ));
        }
    };
    let mut entry = archive
        .by_name(&name)
        .map_err(|e| ReadError::field(path, &name, e.to_string()))?;
    let size = entry.size();
    let row_bytes = (NEURON_DESCRIPTIONS * NEURON_DIM * 4) as u64;
    if size == 0 || size > MAX_STORAGE_BYTES || size % row_bytes != 0 {
        return Err(ReadError::field(
            path,
            &name,
            format!(
                "{size} bytes is not a whole number of [10, 768] float32 classes ({row_bytes} bytes each)"
            ),
        ));
    }
    // torch stores its storages uncompressed; a storage that inflates far beyond its compressed size is a damaged or
    // hostile archive, refused before it can fill memory.
    let compressed = entry.compressed_size();
    if size > compressed.saturating_mul(MAX_INFLATION) {
        return Err(ReadError::field(
            path,
            &name,
            format!("{size} bytes inflated from {compressed}: not a torch storage (a zip bomb?)"),
        ));
    }
    // The declared size is only a header field: grow with the bytes actually read, never allocate it up front.
    let mut bytes = Vec::new();
    (&mut entry)
        .take(size + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::field(path, &name, e.to_string()))?;
    if bytes.len() as u64 != size {
        return Err(ReadError::field(
            path,
            &name,
            format!("declared {size} bytes, read {}", bytes.len()),
        ));
    }
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    check_finite(path, &data)?;
    Ok(ClassFeatures {
        classes: (size / row_bytes) as usize,
        per_class: NEURON_DESCRIPTIONS,
        dim: NEURON_DIM,
        data,
    })
}

/// `<archive name>/data/<digits>`: a storage file of a torch zip archive.
fn is_storage_entry(name: &str) -> bool {
    let mut parts = name.rsplitn(3, '/');
    let (Some(key), Some("data"), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit())
}

fn check_finite(path: &Path, data: &[f32]) -> Result<(), ReadError> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(ReadError::field(
            path,
            "data",
            format!("value {i} is not finite"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names() {
        assert!(is_storage_entry("archive/data/0"));
        assert!(is_storage_entry("ntu120_x/data/12"));
        assert!(!is_storage_entry("archive/data.pkl"));
        assert!(!is_storage_entry("archive/version"));
        assert!(!is_storage_entry("data/0"));
    }
}
