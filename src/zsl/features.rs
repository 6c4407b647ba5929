//! Files exchanged with the encoders: extracted features of one split and class text embeddings, as safetensors.
//!
//! Feature file keys: `train.pooled (N, Cv)`, `train.labels (N,)` u32 global class ids, optional `train.masked`
//! `(N, Cv)` and `train.map (N, T', V, Cv)`, the same for `test.*` (the GZSL test set: unseen-class samples and
//! held-out seen-class samples), and `seen`, `unseen` (u32 class ids). The header's metadata holds each sample's
//! dataset id as JSON string arrays `train.ids` and `test.ids` (files written before them load without ids).
//!
//! Class-embedding file keys: `names (C, D)`, `sentences (C, D)`, optional `parts (C, P, D)`, `phrases (C, K, D)`,
//! `motion (C, D)`. The header's metadata `part_texts` says how the part texts were built
//! ([`PartTextForm`]; absent: plain descriptions).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::tensor_file::{io_err, read_tensors_streamed, save_tensors, save_tensors_with_metadata};
use super::{ClassEmbeddings, FeatureBatch, Result, ZslError};
use crate::dataset::texts::PartTextForm;

/// The features of one split.
#[derive(Clone, Debug)]
pub struct SplitFeatures {
    pub train: FeatureBatch,
    pub train_labels: Vec<usize>,
    pub test: FeatureBatch,
    pub test_labels: Vec<usize>,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
    /// `SampleMeta::id` of each training / test sample, when the file records them.
    pub train_ids: Option<Vec<String>>,
    pub test_ids: Option<Vec<String>>,
}

fn file_err(path: &Path, message: impl Into<String>) -> ZslError {
    ZslError::File {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn load(path: &Path) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    load_buffer(&bytes, path)
}

fn load_buffer(bytes: &[u8], path: &Path) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
        .map_err(|e| file_err(path, e.to_string()))
}

fn ids(path: &Path, t: Option<Tensor>, key: &str) -> Result<Vec<usize>> {
    let t = t.ok_or_else(|| file_err(path, format!("missing tensor `{key}`")))?;
    if t.rank() != 1 || !matches!(t.dtype(), DType::U32 | DType::I64 | DType::U8) {
        return Err(file_err(
            path,
            format!(
                "`{key}` must be a 1-d integer tensor, got {:?} {:?}",
                t.dims(),
                t.dtype()
            ),
        ));
    }
    let v = t.to_dtype(DType::I64)?.to_vec1::<i64>()?;
    v.into_iter()
        .map(|x| {
            usize::try_from(x)
                .map_err(|_| file_err(path, format!("`{key}` holds the negative id {x}")))
        })
        .collect()
}

fn f32_tensor(path: &Path, t: Option<Tensor>, key: &str) -> Result<Option<Tensor>> {
    t.map(|t| finite(path, t.to_dtype(DType::F32)?, key))
        .transpose()
}

/// STAR's map: kept in half precision when the file stores it so (`extract --map-f16`), else as f32.
fn map_tensor(path: &Path, t: Option<Tensor>, key: &str) -> Result<Option<Tensor>> {
    t.map(|t| {
        let t = if t.dtype() == DType::F16 {
            t
        } else {
            t.to_dtype(DType::F32)?
        };
        finite(path, t, key)
    })
    .transpose()
}

/// `t` if every value is finite, read in place: a copy of a 19 GB map to check it would double the peak memory.
fn finite(path: &Path, t: Tensor, key: &str) -> Result<Tensor> {
    let bad = {
        let t = t.contiguous()?;
        let (storage, layout) = t.storage_and_layout();
        let candle_core::Storage::Cpu(cpu) = &*storage else {
            return Err(file_err(path, format!("`{key}` was not loaded on the CPU")));
        };
        let (a, b) = layout
            .contiguous_offsets()
            .ok_or_else(|| file_err(path, format!("`{key}`: non-contiguous storage")))?;
        match t.dtype() {
            DType::F16 => cpu.as_slice::<half::f16>()?[a..b]
                .iter()
                .any(|v| !v.is_finite()),
            _ => cpu.as_slice::<f32>()?[a..b].iter().any(|v| !v.is_finite()),
        }
    };
    if bad {
        return Err(file_err(path, format!("`{key}` holds a non-finite value")));
    }
    Ok(t)
}

fn batch(
    path: &Path,
    m: &mut HashMap<String, Tensor>,
    prefix: &str,
) -> Result<(FeatureBatch, Vec<usize>)> {
    let key = format!("{prefix}.pooled");
    let pooled = f32_tensor(path, m.remove(&key), &key)?
        .ok_or_else(|| file_err(path, format!("missing tensor `{key}`")))?;
    let masked = f32_tensor(
        path,
        m.remove(&format!("{prefix}.masked")),
        &format!("{prefix}.masked"),
    )?;
    let map = map_tensor(
        path,
        m.remove(&format!("{prefix}.map")),
        &format!("{prefix}.map"),
    )?;
    let fb = FeatureBatch {
        pooled,
        masked,
        map,
    };
    fb.validate()
        .map_err(|e| file_err(path, format!("{prefix}: {e}")))?;
    let labels = ids(
        path,
        m.remove(&format!("{prefix}.labels")),
        &format!("{prefix}.labels"),
    )?;
    if labels.len() != fb.len() {
        return Err(file_err(
            path,
            format!("{prefix}: {} labels for {} samples", labels.len(), fb.len()),
        ));
    }
    Ok((fb, labels))
}

impl SplitFeatures {
    /// Reads a feature file tensor by tensor into memory ([`read_tensors_streamed`]): reading it into a buffer first
    /// held every byte twice (76 GB for NTU-120 with STAR's f32 map).
    pub fn load(path: &Path) -> Result<Self> {
        let (tensors, meta) = read_tensors_streamed(path)?;
        Self::from_parts(tensors, &meta, path)
    }

    /// [`Self::load`] on the bytes of a feature file; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let meta = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| file_err(path, e.to_string()))?
            .1;
        let meta = meta.metadata().clone().unwrap_or_default();
        Self::from_parts(load_buffer(bytes, path)?, &meta, path)
    }

    fn from_parts(
        tensors: HashMap<String, Tensor>,
        meta: &HashMap<String, String>,
        path: &Path,
    ) -> Result<Self> {
        let mut f = Self::from_tensors(tensors, path)?;
        f.train_ids = sample_ids(path, meta, "train.ids", f.train_labels.len())?;
        f.test_ids = sample_ids(path, meta, "test.ids", f.test_labels.len())?;
        Ok(f)
    }

    /// The test samples' ids, or `test-00000`, ... for files written before ids were recorded.
    pub fn test_ids_or_fallback(&self) -> Vec<String> {
        self.test_ids.clone().unwrap_or_else(|| {
            (0..self.test_labels.len())
                .map(|i| format!("test-{i:05}"))
                .collect()
        })
    }

    fn from_tensors(mut m: HashMap<String, Tensor>, path: &Path) -> Result<Self> {
        let (train, train_labels) = batch(path, &mut m, "train")?;
        let (test, test_labels) = batch(path, &mut m, "test")?;
        let seen = ids(path, m.remove("seen"), "seen")?;
        let unseen = ids(path, m.remove("unseen"), "unseen")?;
        if let Some(c) = seen.iter().find(|c| unseen.contains(c)) {
            return Err(file_err(path, format!("class {c} is both seen and unseen")));
        }
        if let Some(l) = train_labels.iter().find(|l| !seen.contains(l)) {
            return Err(file_err(
                path,
                format!("a training sample has the non-seen class {l}"),
            ));
        }
        if let Some(l) = test_labels
            .iter()
            .find(|l| !seen.contains(l) && !unseen.contains(l))
        {
            return Err(file_err(
                path,
                format!("a test sample has class {l}, neither seen nor unseen"),
            ));
        }
        if train.visual_dim() != test.visual_dim() {
            return Err(file_err(path, "train and test features differ in size"));
        }
        Ok(Self {
            train,
            train_labels,
            test,
            test_labels,
            seen,
            unseen,
            train_ids: None,
            test_ids: None,
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut m = HashMap::new();
        let dev = Device::Cpu;
        let u = |v: &[usize]| -> Result<Tensor> {
            let v: Vec<u32> = v.iter().map(|&x| x as u32).collect();
            let n = v.len();
            Ok(Tensor::from_vec(v, n, &dev)?)
        };
        for (p, fb, labels) in [
            ("train", &self.train, &self.train_labels),
            ("test", &self.test, &self.test_labels),
        ] {
            m.insert(format!("{p}.pooled"), fb.pooled.clone());
            if let Some(t) = &fb.masked {
                m.insert(format!("{p}.masked"), t.clone());
            }
            if let Some(t) = &fb.map {
                m.insert(format!("{p}.map"), t.clone());
            }
            m.insert(format!("{p}.labels"), u(labels)?);
        }
        m.insert("seen".into(), u(&self.seen)?);
        m.insert("unseen".into(), u(&self.unseen)?);
        let mut meta = HashMap::new();
        for (key, ids, n) in [
            ("train.ids", &self.train_ids, self.train_labels.len()),
            ("test.ids", &self.test_ids, self.test_labels.len()),
        ] {
            if let Some(ids) = ids {
                if ids.len() != n {
                    return Err(file_err(
                        path,
                        format!("`{key}`: {} ids for {n} samples", ids.len()),
                    ));
                }
                let json = serde_json::to_string(ids).map_err(|e| file_err(path, e.to_string()))?;
                meta.insert(key.to_owned(), json);
            }
        }
        save_tensors_with_metadata(path, &m, (!meta.is_empty()).then_some(meta))
    }
}

/// The ids under `key` in a feature file's header metadata (a JSON array of `n` strings), if present.
fn sample_ids(
    path: &Path,
    meta: &HashMap<String, String>,
    key: &str,
    n: usize,
) -> Result<Option<Vec<String>>> {
    let Some(text) = meta.get(key) else {
        return Ok(None);
    };
    let ids: Vec<String> =
        serde_json::from_str(text).map_err(|e| file_err(path, format!("metadata `{key}`: {e}")))?;
    if ids.len() != n {
        return Err(file_err(
            path,
            format!("metadata `{key}`: {} ids for {n} samples", ids.len()),
        ));
    }
    Ok(Some(ids))
}

/// Loads class embeddings and checks them against `classes` (the number of class ids the labels may use).
pub fn load_class_embeddings(path: &Path) -> Result<ClassEmbeddings> {
    class_embeddings_from_tensors(load(path)?, path)
}

/// [`load_class_embeddings`] on the bytes of a class-embedding file; `path` names it in errors.
pub fn class_embeddings_from_bytes(bytes: &[u8], path: &Path) -> Result<ClassEmbeddings> {
    class_embeddings_from_tensors(load_buffer(bytes, path)?, path)
}

fn class_embeddings_from_tensors(
    mut m: HashMap<String, Tensor>,
    path: &Path,
) -> Result<ClassEmbeddings> {
    let mut get = |k: &str| -> Result<Option<Tensor>> { f32_tensor(path, m.remove(k), k) };
    let names = get("names")?.ok_or_else(|| file_err(path, "missing tensor `names`"))?;
    let sentences = get("sentences")?.unwrap_or_else(|| names.clone());
    let ce = ClassEmbeddings {
        names,
        sentences,
        parts: get("parts")?,
        phrases: get("phrases")?,
        motion: get("motion")?,
    };
    ce.validate().map_err(|e| file_err(path, e.to_string()))?;
    Ok(ce)
}

/// How the part texts of a class-embedding file were built (its `part_texts` metadata; files without it hold plain
/// descriptions).
pub fn class_part_text_form(path: &Path) -> Result<PartTextForm> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| file_err(path, e.to_string()))?;
    match meta.metadata().as_ref().and_then(|m| m.get("part_texts")) {
        None => Ok(PartTextForm::Plain),
        Some(name) => PartTextForm::from_name(name).ok_or_else(|| {
            file_err(
                path,
                format!(
                    "metadata `part_texts`: unknown form `{name}` (plain or class-name-prefixed)"
                ),
            )
        }),
    }
}

/// [`save_class_embeddings`] recording how the part texts were built (read back by [`class_part_text_form`]).
pub fn save_class_embeddings_with(
    path: &Path,
    ce: &ClassEmbeddings,
    form: PartTextForm,
) -> Result<()> {
    let meta = HashMap::from([("part_texts".to_owned(), form.name().to_owned())]);
    save_tensors_with_metadata(path, &class_tensors(ce), Some(meta))
}

/// Saves class embeddings in the format [`load_class_embeddings`] reads.
pub fn save_class_embeddings(path: &Path, ce: &ClassEmbeddings) -> Result<()> {
    save_tensors(path, &class_tensors(ce))
}

fn class_tensors(ce: &ClassEmbeddings) -> HashMap<String, Tensor> {
    let mut m = HashMap::new();
    m.insert("names".to_owned(), ce.names.clone());
    m.insert("sentences".to_owned(), ce.sentences.clone());
    for (k, v) in [
        ("parts", &ce.parts),
        ("phrases", &ce.phrases),
        ("motion", &ce.motion),
    ] {
        if let Some(t) = v {
            m.insert(k.to_owned(), t.clone());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_text_form_is_recorded_and_read_back() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ZslError::Invalid(e.to_string()))?;
        let names = Tensor::ones((2, 3), DType::F32, &Device::Cpu)?;
        let ce = ClassEmbeddings::new(names.clone(), names);
        let plain = dir.path().join("plain.safetensors");
        save_class_embeddings(&plain, &ce)?;
        assert_eq!(class_part_text_form(&plain)?, PartTextForm::Plain);
        let named = dir.path().join("named.safetensors");
        save_class_embeddings_with(&named, &ce, PartTextForm::ClassNamePrefixed)?;
        assert_eq!(
            class_part_text_form(&named)?,
            PartTextForm::ClassNamePrefixed
        );
        assert_eq!(load_class_embeddings(&named)?.num_classes(), 2);
        let bad = dir.path().join("bad.safetensors");
        let meta = HashMap::from([("part_texts".to_owned(), "shouted".to_owned())]);
        save_tensors_with_metadata(&bad, &class_tensors(&ce), Some(meta))?;
        let err = class_part_text_form(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.safetensors") && err.contains("shouted"),
            "{err}"
        );
        Ok(())
    }

    fn sample_features(map_dtype: DType) -> Result<SplitFeatures> {
        let dev = &Device::Cpu;
        let values = |n: usize, salt: f32| -> Vec<f32> {
            (0..n)
                .map(|i| (i as f32 * 0.71 + salt).sin() * 4.0)
                .collect()
        };
        let fb = |n: usize, salt: f32| -> Result<FeatureBatch> {
            Ok(FeatureBatch {
                pooled: Tensor::from_vec(values(n * 5, salt), (n, 5), dev)?,
                masked: Some(Tensor::from_vec(values(n * 5, salt + 1.0), (n, 5), dev)?),
                map: Some(
                    Tensor::from_vec(values(n * 2 * 3 * 5, salt + 2.0), (n, 2, 3, 5), dev)?
                        .to_dtype(map_dtype)?,
                ),
            })
        };
        Ok(SplitFeatures {
            train: fb(4, 0.0)?,
            train_labels: vec![0, 2, 2, 0],
            test: fb(3, 9.0)?,
            test_labels: vec![1, 0, 3],
            seen: vec![0, 2],
            unseen: vec![1, 3],
            train_ids: Some((0..4).map(|i| format!("a{i}")).collect()),
            test_ids: Some((0..3).map(|i| format!("b{i}")).collect()),
        })
    }

    fn same_tensor(a: &Tensor, b: &Tensor) -> Result<()> {
        assert_eq!((a.dims(), a.dtype()), (b.dims(), b.dtype()));
        let f = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
        };
        assert_eq!(f(a)?, f(b)?);
        Ok(())
    }

    /// The streamed writer (header, then each tensor from its storage) writes what `safetensors::serialize` does,
    /// laid out by name: both files load to the same tensors and metadata, and the half-precision map stays f16.
    #[test]
    fn streamed_feature_files_load_as_serialized_ones() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ZslError::Invalid(e.to_string()))?;
        for map_dtype in [DType::F32, DType::F16] {
            let f = sample_features(map_dtype)?;
            let streamed = dir.path().join("streamed.safetensors");
            f.save(&streamed)?;
            let back = SplitFeatures::load(&streamed)?;
            for (a, b) in [(&f.train, &back.train), (&f.test, &back.test)] {
                same_tensor(&a.pooled, &b.pooled)?;
                same_tensor(a.masked.as_ref().unwrap(), b.masked.as_ref().unwrap())?;
                same_tensor(a.map.as_ref().unwrap(), b.map.as_ref().unwrap())?;
            }
            assert_eq!(back.train_labels, f.train_labels);
            assert_eq!((&back.seen, &back.unseen), (&f.seen, &f.unseen));
            assert_eq!(back.test_ids, f.test_ids);
            // The same tensors through safetensors' own writer.
            let mut m = HashMap::new();
            for (p, fb) in [("train", &f.train), ("test", &f.test)] {
                m.insert(format!("{p}.pooled"), fb.pooled.clone());
                m.insert(format!("{p}.map"), fb.map.clone().unwrap());
            }
            let serialized = dir.path().join("serialized.safetensors");
            let meta = HashMap::from([("k".to_owned(), "v".to_owned())]);
            let mut views: Vec<(&String, &Tensor)> = m.iter().collect();
            views.sort_by_key(|(k, _)| *k);
            let bytes = safetensors::serialize(views, Some(meta.clone()))
                .map_err(|e| ZslError::Invalid(e.to_string()))?;
            std::fs::write(&serialized, bytes).map_err(io_err(&serialized))?;
            let again = dir.path().join("again.safetensors");
            save_tensors_with_metadata(&again, &m, Some(meta.clone()))?;
            let read = |p: &Path| std::fs::read(p).map_err(io_err(p));
            let (x, y) = (read(&serialized)?, read(&again)?);
            assert_eq!(x.len(), y.len());
            // Each file through both readers: safetensors' (from a buffer) and the streamed one.
            let reference = load_buffer(&x, &serialized)?;
            for (file, bytes) in [(&serialized, &x), (&again, &y)] {
                let (streamed, file_meta) = read_tensors_streamed(file)?;
                assert_eq!(file_meta, meta);
                for m in [&streamed, &load_buffer(bytes, file)?] {
                    assert_eq!(m.len(), reference.len());
                    for (k, t) in &reference {
                        same_tensor(t, &m[k])?;
                    }
                }
            }
            let header = |b: &[u8]| safetensors::SafeTensors::read_metadata(b).map(|m| m.1);
            assert_eq!(
                header(&y)
                    .map_err(|e| ZslError::Invalid(e.to_string()))?
                    .metadata(),
                &Some(meta)
            );
            assert!(header(&x).is_ok());
        }
        Ok(())
    }

    /// A feature file cut short, or with a header that does not describe its data, is one error naming the file.
    #[test]
    fn a_truncated_or_inconsistent_feature_file_is_refused() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ZslError::Invalid(e.to_string()))?;
        let path = dir.path().join("whole.safetensors");
        sample_features(DType::F16)?.save(&path)?;
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let write = |name: &str, b: &[u8]| -> Result<std::path::PathBuf> {
            let p = dir.path().join(name);
            std::fs::write(&p, b).map_err(io_err(&p))?;
            Ok(p)
        };
        let mut grown = bytes.clone();
        grown.extend_from_slice(&[0; 4]);
        let mut offsets = bytes.clone();
        // The first tensor's data offsets `[0,` become `[1,`: a gap before it and an overlap after.
        let header = std::str::from_utf8(&offsets[8..8 + n]).unwrap().to_owned();
        let at = 8 + header.find("[0,").unwrap() + 1;
        offsets[at] = b'1';
        for (name, b, expect) in [
            (
                "short.safetensors",
                &bytes[..bytes.len() - 10],
                "file holds",
            ),
            ("header.safetensors", &bytes[..4], "shorter than"),
            ("headless.safetensors", &bytes[..8 + n / 2], "does not fit"),
            ("grown.safetensors", &grown[..], "file holds"),
            ("offsets.safetensors", &offsets[..], "offset"),
        ] {
            let p = write(name, b)?;
            let err = SplitFeatures::load(&p).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
        }
        Ok(())
    }

    /// A non-finite value in a stored half-precision map is refused with the file and the key named.
    #[test]
    fn a_non_finite_half_precision_map_is_refused() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| ZslError::Invalid(e.to_string()))?;
        let mut f = sample_features(DType::F16)?;
        let map = f.test.map.take().unwrap();
        let mut v = map.flatten_all()?.to_vec1::<half::f16>()?;
        v[7] = half::f16::NAN;
        f.test.map = Some(Tensor::from_vec(v, map.dims(), &Device::Cpu)?);
        let path = dir.path().join("nan.safetensors");
        f.save(&path)?;
        let err = SplitFeatures::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("nan.safetensors")
                && err.contains("test.map")
                && err.contains("non-finite"),
            "{err}"
        );
        Ok(())
    }
}
