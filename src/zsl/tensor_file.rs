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

pub fn tensors_from_bytes(bytes: &[u8], origin: &Path) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| ZslError::File {
        path: origin.to_owned(),
        message: e.to_string(),
    })
}

/// [`save_tensors`] with string metadata in the safetensors header (`__metadata__`), sorted by key: equal tensors
/// and metadata give equal bytes. Made for files too large to hold twice (the feature files, whose STAR map is 38 GB
/// at NTU-120's size): the header, then each tensor's values written from its storage in chunks of 1 MB.
/// `safetensors::serialize` builds the whole file in memory and candle's `View::data` copies each tensor once more,
/// so that path peaks at three times the map. Tensors are laid out by name; any safetensors reader loads the file.
pub fn save_tensors_with_metadata(
    path: &Path,
    tensors: &HashMap<String, Tensor>,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    use safetensors::View;
    use safetensors::tensor::{Metadata, TensorInfo};
    let file_err = |message: String| ZslError::File {
        path: path.to_owned(),
        message,
    };
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let mut infos = Vec::with_capacity(names.len());
    let mut offset = 0;
    for &name in &names {
        let t = &tensors[name];
        let end = offset + t.data_len();
        infos.push((
            name.clone(),
            TensorInfo {
                dtype: View::dtype(t),
                shape: t.dims().to_vec(),
                data_offsets: (offset, end),
            },
        ));
        offset = end;
    }
    let header = Metadata::new(metadata, infos).map_err(|e| file_err(e.to_string()))?;
    // safetensors keeps `__metadata__` in a HashMap, whose order changes from run to run: the same command wrote
    // feature files that differed byte for byte. Sorted, equal tensors and metadata give equal files.
    let json_err = |e: serde_json::Error| file_err(e.to_string());
    let mut header = serde_json::to_value(&header).map_err(json_err)?;
    if let Some(meta) = header.get_mut("__metadata__") {
        let sorted: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_value(meta.take()).map_err(json_err)?;
        *meta = serde_json::to_value(sorted).map_err(json_err)?;
    }
    let mut header = serde_json::to_string(&header).map_err(json_err)?;
    // The data starts 8-byte aligned, as safetensors' own writer leaves it.
    while (header.len() + 8) % 8 != 0 {
        header.push(' ');
    }
    crate::util::write_atomic(path, |w| {
        w.write_all(&(header.len() as u64).to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        for &name in &names {
            write_values(&tensors[name], w)?;
        }
        Ok(())
    })
    .map_err(io_err(path))
}

/// Writes `t`'s values little-endian, a chunk at a time, from its CPU storage.
fn write_values(t: &Tensor, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    use candle_core::{DType, Storage};
    use half::{bf16, f16};
    let other = |e: candle_core::Error| std::io::Error::other(e.to_string());
    let t = t.contiguous().map_err(other)?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Err(std::io::Error::other("a tensor to save is not on the CPU"));
    };
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| std::io::Error::other("a contiguous tensor without contiguous offsets"))?;
    macro_rules! chunks {
        ($ty:ty) => {{
            let values = &cpu.as_slice::<$ty>().map_err(other)?[start..end];
            let mut buf = Vec::with_capacity(CHUNK_BYTES);
            for chunk in values.chunks(CHUNK_BYTES / std::mem::size_of::<$ty>()) {
                buf.clear();
                for v in chunk {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                w.write_all(&buf)?;
            }
        }};
    }
    match t.dtype() {
        DType::U8 => chunks!(u8),
        DType::U32 => chunks!(u32),
        DType::I64 => chunks!(i64),
        DType::F16 => chunks!(f16),
        DType::BF16 => chunks!(bf16),
        DType::F32 => chunks!(f32),
        DType::F64 => chunks!(f64),
        other_dtype => {
            return Err(std::io::Error::other(format!(
                "tensors of {other_dtype:?} are not written to feature files"
            )));
        }
    }
    Ok(())
}

const CHUNK_BYTES: usize = 1 << 20;

/// Reads a safetensors file tensor by tensor straight into each tensor's storage, so the file is never held twice
/// (a 19-38 GB STAR map read into a buffer, or through a memory map whose pages count as resident, peaked at twice
/// its size). Returns the tensors and the header's string metadata. Every inconsistency of the header (offsets
/// that overlap, leave gaps, disagree with the shapes or run past the end of the file) is an error naming the file.
pub fn read_tensors_streamed(
    path: &Path,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    use std::io::{Read, Seek, SeekFrom};
    let file_err = |message: String| ZslError::File {
        path: path.to_owned(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let file_len = file.metadata().map_err(io_err(path))?.len();
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| file_err("shorter than a safetensors header".into()))?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER_BYTES || 8 + n > file_len {
        return Err(file_err(format!(
            "a header of {n} bytes does not fit a file of {file_len} bytes"
        )));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(io_err(path))?;
    // Deserialising the header checks that the tensors lie back to back from byte 0, each as long as its dtype and
    // shape make it; what is left to check is that they end where the file does.
    let meta: safetensors::tensor::Metadata =
        serde_json::from_slice(&header).map_err(|e| file_err(format!("header: {e}")))?;
    let data_len = file_len - 8 - n;
    if meta.data_len() as u64 != data_len {
        return Err(file_err(format!(
            "the header describes {} bytes of tensors, the file holds {data_len}",
            meta.data_len()
        )));
    }
    let mut infos: Vec<(String, &safetensors::tensor::TensorInfo)> =
        meta.tensors().into_iter().collect();
    infos.sort_by_key(|(_, info)| info.data_offsets);
    let mut tensors = HashMap::with_capacity(infos.len());
    for (name, info) in infos {
        file.seek(SeekFrom::Start(8 + n + info.data_offsets.0 as u64))
            .map_err(io_err(path))?;
        let t =
            read_values(&mut file, info).map_err(|e| file_err(format!("tensor `{name}`: {e}")))?;
        tensors.insert(name, t);
    }
    Ok((tensors, meta.metadata().clone().unwrap_or_default()))
}

/// Safetensors' own limit on the header.
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor's values read from `file` at its offset: f32 and f16 (the large ones) straight into the tensor's
/// vector, the small integer tensors through a byte buffer.
fn read_values(
    file: &mut std::fs::File,
    info: &safetensors::tensor::TensorInfo,
) -> std::result::Result<Tensor, String> {
    use safetensors::Dtype;
    use std::io::Read;
    match info.dtype {
        Dtype::F32 => read_pod(file, info, |x: f32| {
            f32::from_bits(u32::from_le(x.to_bits()))
        }),
        Dtype::F16 => read_pod(file, info, |x: half::f16| {
            half::f16::from_bits(u16::from_le(x.to_bits()))
        }),
        other => {
            let dtype = match other {
                Dtype::U8 => candle_core::DType::U8,
                Dtype::U32 => candle_core::DType::U32,
                Dtype::I64 => candle_core::DType::I64,
                Dtype::F64 => candle_core::DType::F64,
                Dtype::BF16 => candle_core::DType::BF16,
                _ => return Err(format!("unsupported dtype {other:?}")),
            };
            let mut bytes = vec![0u8; info.data_offsets.1 - info.data_offsets.0];
            file.read_exact(&mut bytes).map_err(|e| e.to_string())?;
            Tensor::from_raw_buffer(&bytes, dtype, &info.shape, &Device::Cpu)
                .map_err(|e| e.to_string())
        }
    }
}

/// `info`'s values read from `file` into a vector of `T` (no byte buffer beside it), each taken from
/// little-endian by `from_le` (the identity on little-endian machines).
fn read_pod<T: bytemuck::Pod + candle_core::WithDType>(
    file: &mut std::fs::File,
    info: &safetensors::tensor::TensorInfo,
    from_le: impl Fn(T) -> T,
) -> std::result::Result<Tensor, String> {
    use std::io::Read;
    let mut v = vec![T::zeroed(); info.shape.iter().product()];
    file.read_exact(bytemuck::cast_slice_mut(&mut v))
        .map_err(|e| e.to_string())?;
    for x in &mut v {
        *x = from_le(*x);
    }
    Tensor::from_vec(v, info.shape.as_slice(), &Device::Cpu).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same tensors and metadata, collected into maps of their own (each with its own hash order), make the
    /// same bytes: the same command writes the same feature files.
    #[test]
    fn equal_tensors_and_metadata_give_equal_files() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ZslError::Invalid(e.to_string()))?;
        let write = |name: &str| -> Result<Vec<u8>> {
            let tensors: HashMap<String, Tensor> = (0..12)
                .map(|i| {
                    let t = Tensor::arange(0f32, (i + 1) as f32, &Device::Cpu)?;
                    Ok((format!("t{i}"), t))
                })
                .collect::<Result<_>>()?;
            let meta: HashMap<String, String> = (0..24)
                .map(|i| (format!("key{i}"), format!("value {i}")))
                .collect();
            let path = dir.path().join(name);
            save_tensors_with_metadata(&path, &tensors, Some(meta))?;
            std::fs::read(&path).map_err(io_err(&path))
        };
        let first = write("a.safetensors")?;
        for n in 0..4 {
            assert!(first == write(&format!("b{n}.safetensors"))?);
        }
        let (_, meta) = read_tensors_streamed(&dir.path().join("a.safetensors"))?;
        assert_eq!(meta.len(), 24);
        assert_eq!(meta["key7"], "value 7");
        Ok(())
    }
}
