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

use super::tensor_file::{io_err, save_tensors, save_tensors_with_metadata};
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
    match t {
        None => Ok(None),
        Some(t) => {
            let t = t.to_dtype(DType::F32)?;
            let bad = t
                .flatten_all()?
                .to_vec1::<f32>()?
                .iter()
                .any(|v| !v.is_finite());
            if bad {
                return Err(file_err(path, format!("`{key}` holds a non-finite value")));
            }
            Ok(Some(t))
        }
    }
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
    let map = f32_tensor(
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
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        Self::from_bytes(&bytes, path)
    }

    /// [`Self::load`] on the bytes of a feature file; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let mut f = Self::from_tensors(load_buffer(bytes, path)?, path)?;
        let meta = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| file_err(path, e.to_string()))?
            .1;
        let meta = meta.metadata().clone().unwrap_or_default();
        f.train_ids = sample_ids(path, &meta, "train.ids", f.train_labels.len())?;
        f.test_ids = sample_ids(path, &meta, "test.ids", f.test_labels.len())?;
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
}
