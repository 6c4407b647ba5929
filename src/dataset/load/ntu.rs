//! NTU RGB+D 60/120 `.skeleton` files, and the NTU class names and missing-sample list.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::common::{meta, parse_class_names, read_all, stem};
use crate::dataset::{Dataset, DatasetKind, Sample};
use crate::formats::ReadError;
use crate::formats::ntu_skeleton::{self, NtuName};

/// NTU RGB+D 120 class names (`idx0`, `ntu_code`, `name`); the first 60 are NTU RGB+D 60.
const NTU120_CLASSES: &str = include_str!("../../../assets/ntu120_classes.tsv");
/// The official list of NTU RGB+D 120 samples whose skeletons are missing (a superset of the NTU 60 list).
const NTU_MISSING: &str = include_str!("../../../assets/ntu120_missing_skeletons.txt");

/// The NTU class names: 60 for NTU RGB+D 60, 120 for NTU RGB+D 120.
pub fn ntu_class_names(kind: DatasetKind) -> Vec<String> {
    let all = parse_class_names(NTU120_CLASSES, Path::new("assets/ntu120_classes.tsv"))
        .unwrap_or_default();
    let n = if kind == DatasetKind::Ntu60 { 60 } else { 120 };
    all.into_iter().take(n).collect()
}

/// The NTU codes (`S001C002P005R002A008`) whose skeletons are missing in the official release.
pub fn ntu_missing_skeletons() -> HashSet<&'static str> {
    NTU_MISSING
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// NTU RGB+D 60 has actions 1..=60; 120 adds 61..=120.
pub(super) fn ntu_kind_from_action(max_action: u32) -> DatasetKind {
    if max_action > 60 {
        DatasetKind::Ntu120
    } else {
        DatasetKind::Ntu60
    }
}

pub(super) fn load_ntu(
    root: PathBuf,
    files: &[PathBuf],
    kind: Option<DatasetKind>,
    honour_missing_list: bool,
    map: Option<super::SequenceMap<'_>>,
) -> Result<Dataset, ReadError> {
    let missing = ntu_missing_skeletons();
    let mut skipped = Vec::new();
    let mut keep = Vec::new();
    for f in files {
        let name = NtuName::parse(&stem(f)).ok_or_else(|| {
            ReadError::file(
                f,
                "the file name is not an NTU code like S001C001P001R001A001",
            )
        })?;
        if honour_missing_list && missing.contains(name.code().as_str()) {
            skipped.push(format!("{}: on the NTU missing-skeleton list", f.display()));
        } else {
            keep.push((f.clone(), name));
        }
    }
    let paths: Vec<PathBuf> = keep.iter().map(|(p, _)| p.clone()).collect();
    let read = read_all(&paths, |p| {
        let bytes = std::fs::read(p).map_err(|e| ReadError::io(p, e))?;
        let mut sk = ntu_skeleton::parse_allow_empty(&bytes, p)?;
        if let (Some(sk), Some(map)) = (sk.as_mut(), map) {
            sk.seq = map(&sk.seq, p)?;
        }
        Ok(sk)
    })?;
    let max_action = keep.iter().map(|(_, n)| n.action).max().unwrap_or(0);
    let kind = kind.unwrap_or(ntu_kind_from_action(max_action));
    let classes = ntu_class_names(kind);
    let mut samples = Vec::new();
    for ((path, name), sk) in keep.into_iter().zip(read) {
        let Some(sk) = sk else {
            skipped.push(format!(
                "{}: no body is tracked in any frame",
                path.display()
            ));
            continue;
        };
        let label = name.action as usize - 1;
        if label >= classes.len() || name.action == 0 {
            return Err(ReadError::file(
                &path,
                format!(
                    "action A{:03} is outside the {} classes of {kind:?}",
                    name.action,
                    classes.len()
                ),
            ));
        }
        let id = stem(&path);
        let mut m = meta(id.clone(), label, id, &path);
        m.subject = Some(name.subject);
        m.camera = Some(name.camera);
        m.setup = Some(name.setup);
        m.repetition = Some(name.repetition);
        samples.push(Sample {
            meta: m,
            seq: sk.seq,
        });
    }
    Ok(Dataset {
        kind,
        root,
        classes,
        samples,
        skipped,
    })
}
