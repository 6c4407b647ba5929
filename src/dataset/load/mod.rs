//! Reading a dataset from a path: a dataset root (with `skeleton/`, `label/`, `text/` subfolders), a folder of
//! files, or one file. The format is detected from file names (and `.npy` shapes); files are parsed in parallel
//! and the samples come out in file-name order, so the result does not depend on thread timing.
//!
//! This file detects the format and picks the loader; each source has its loader in a file of its own, and
//! `common` holds what they share.

use std::path::{Path, PathBuf};

use super::{Dataset, DatasetKind};
use crate::formats::ntu_skeleton::NtuName;
use crate::formats::{self, ReadError};

mod common;
mod msr;
mod npy;
mod ntu;
mod pku_mmd;
mod utkinect;

use common::{is_label_name, list_files, stem};
pub use common::{parse_class_names, read_class_names};
use msr::load_msr;
use npy::load_npy_files;
use ntu::{load_ntu, ntu_kind_from_action};
pub use ntu::{ntu_class_names, ntu_missing_skeletons};
use pku_mmd::load_pku;
use utkinect::{find_utk_labels, load_utk};

/// What a file in a dataset folder is, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FileKind {
    NtuSkeleton,
    Npy,
    Pku,
    Msr,
    UtkJoints,
}

impl FileKind {
    fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let stem = path.file_stem()?.to_str()?;
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "skeleton" => Some(Self::NtuSkeleton),
            "npy" if !is_label_name(name) => Some(Self::Npy),
            "txt" if formats::msr_action3d::MsrName::parse(stem).is_some() => Some(Self::Msr),
            "txt"
                if stem.starts_with("joints_") && formats::utkinect::parse_name(stem).is_some() =>
            {
                Some(Self::UtkJoints)
            }
            "txt" if formats::pku_mmd::is_recording_name(stem) => Some(Self::Pku),
            _ => None,
        }
    }

    /// The `--dataset` value that reads files of this kind.
    fn dataset_flag(self) -> &'static str {
        match self {
            Self::NtuSkeleton | Self::Npy => "ntu60 or ntu120",
            Self::Pku => "pku",
            Self::Msr => "msr",
            Self::UtkJoints => "utkinect",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::NtuSkeleton => "NTU .skeleton",
            Self::Npy => ".npy array",
            Self::Pku => "PKU-MMD NNNN-V.txt",
            Self::Msr => "MSR Action3D aAA_sSS_eEE_skeleton3D.txt",
            Self::UtkJoints => "UTKinect joints_sXX_eXX.txt",
        }
    }
}

const KNOWN_FORMATS: &str = "NTU .skeleton, PKU-MMD NNNN-V.txt with label/, MSR Action3D aAA_sSS_eEE_skeleton3D.txt, \
     UTKinect joints_sXX_eXX.txt with actionLabel.txt, or .npy arrays";

/// Reads the dataset at `path` (a dataset root, a folder of files, or one file). `kind` forces the dataset family
/// when the file names cannot tell (NTU-style `.npy` batches), and picks one format in a folder that holds several.
pub fn load_dataset(path: &Path, kind: Option<DatasetKind>) -> Result<Dataset, ReadError> {
    let meta = std::fs::metadata(path).map_err(|e| ReadError::io(path, e))?;
    if meta.is_file() {
        return load_file(path, kind);
    }
    let skeleton_dir =
        existing_dir(path, &["skeleton", "skeletons"]).unwrap_or_else(|| path.to_path_buf());
    let files = list_files(&skeleton_dir)?;
    let mut by_kind: Vec<(FileKind, PathBuf)> = files
        .iter()
        .filter_map(|f| FileKind::of(f).map(|k| (k, f.clone())))
        .collect();
    // What the files look like before `kind` filters them, to name it when `kind` leaves none.
    let recognised: std::collections::BTreeSet<FileKind> =
        by_kind.iter().map(|(k, _)| *k).collect();
    if let Some(k) = kind {
        by_kind.retain(|(fk, _)| file_kind_fits(*fk, k));
    }
    let kinds: Vec<FileKind> = by_kind
        .iter()
        .map(|(k, _)| *k)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let root = path.to_path_buf();
    // Raw NTU files and NTU-named joint arrays (as in the NTU sample folder) read as one NTU dataset.
    if kinds == [FileKind::NtuSkeleton, FileKind::Npy]
        && by_kind
            .iter()
            .all(|(_, p)| NtuName::parse(&stem(p)).is_some())
    {
        let max_action = by_kind
            .iter()
            .filter_map(|(_, p)| NtuName::parse(&stem(p)))
            .map(|n| n.action)
            .max()
            .unwrap_or(0);
        let kind = kind.unwrap_or(ntu_kind_from_action(max_action));
        let (raw, arrays): (Vec<_>, Vec<_>) = by_kind
            .into_iter()
            .partition(|(k, _)| *k == FileKind::NtuSkeleton);
        let raw: Vec<PathBuf> = raw.into_iter().map(|(_, p)| p).collect();
        let arrays: Vec<PathBuf> = arrays.into_iter().map(|(_, p)| p).collect();
        let mut ds = load_ntu(root.clone(), &raw, Some(kind), true)?;
        let more = load_npy_files(root, &arrays, Some(kind))?;
        ds.samples.extend(more.samples);
        ds.samples.sort_by(|a, b| a.meta.source.cmp(&b.meta.source));
        ds.skipped.extend(more.skipped);
        return Ok(ds);
    }
    let file_kind = match kinds.as_slice() {
        [] if !recognised.is_empty() => {
            let looks: Vec<String> = recognised
                .iter()
                .map(|k| format!("{} (--dataset {})", k.describe(), k.dataset_flag()))
                .collect();
            return Err(ReadError::file(
                &skeleton_dir,
                format!(
                    "no {} skeleton files here: the {} recognised files look like {}",
                    kind.map_or_else(String::new, |k| format!("{k:?}").to_lowercase()),
                    files.iter().filter(|f| FileKind::of(f).is_some()).count(),
                    looks.join(", ")
                ),
            ));
        }
        [] => {
            return Err(ReadError::file(
                &skeleton_dir,
                format!("unknown format: no skeleton files recognised (expected {KNOWN_FORMATS})"),
            ));
        }
        [one] => *one,
        many => {
            return Err(ReadError::file(
                &skeleton_dir,
                format!(
                    "the folder mixes formats ({}); pick one with --kind",
                    many.iter()
                        .map(|k| k.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    };
    let files: Vec<PathBuf> = by_kind.into_iter().map(|(_, p)| p).collect();
    match file_kind {
        FileKind::NtuSkeleton => load_ntu(root, &files, kind, true),
        FileKind::Npy => load_npy_files(root, &files, kind),
        FileKind::Pku => {
            let label_dir =
                existing_dir(path, &["label", "labels", "Label"]).unwrap_or(skeleton_dir);
            load_pku(root, &files, &label_dir, path)
        }
        FileKind::Msr => load_msr(root, &files, path),
        FileKind::UtkJoints => {
            let labels = find_utk_labels(path, &skeleton_dir)?;
            load_utk(root, &files, &labels)
        }
    }
}

fn file_kind_fits(file: FileKind, kind: DatasetKind) -> bool {
    match kind {
        DatasetKind::Ntu60 | DatasetKind::Ntu120 => {
            matches!(file, FileKind::NtuSkeleton | FileKind::Npy)
        }
        DatasetKind::Pku => matches!(file, FileKind::Pku | FileKind::Npy),
        DatasetKind::Msr => file == FileKind::Msr,
        DatasetKind::Utkinect => file == FileKind::UtkJoints,
        DatasetKind::Synthetic | DatasetKind::Custom => file == FileKind::Npy,
    }
}

fn load_file(path: &Path, kind: Option<DatasetKind>) -> Result<Dataset, ReadError> {
    // A file in `root/skeleton/` belongs to the dataset `root`, whose `label/` and `text/` it may need.
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let root = path.to_path_buf();
    let files = [path.to_path_buf()];
    // A file named explicitly is read even when its name says "label", so a pickled label file gets its message.
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let file_kind = if is_npy {
        Some(FileKind::Npy)
    } else {
        FileKind::of(path)
    };
    match file_kind {
        Some(FileKind::NtuSkeleton) => load_ntu(root, &files, kind, false),
        Some(FileKind::Npy) => load_npy_files(root, &files, kind),
        Some(FileKind::Pku) => {
            let name = path.file_name().unwrap_or_default();
            let label_dir = existing_dir(&parent, &["label", "labels", "Label"])
                .filter(|d| d.join(name).is_file())
                .ok_or_else(|| {
                    ReadError::file(
                        path,
                        format!(
                            "no label file for this PKU-MMD recording (looked for {})",
                            parent.join("label").join(name).display()
                        ),
                    )
                })?;
            load_pku(root, &files, &label_dir, &parent)
        }
        Some(FileKind::Msr) => load_msr(root, &files, &parent),
        Some(FileKind::UtkJoints) => {
            let labels = find_utk_labels(&parent, &dir)?;
            load_utk(root, &files, &labels)
        }
        None => Err(unknown_file(path)),
    }
}

/// The error for a file whose format is not recognised, with a hint from its first bytes.
fn unknown_file(path: &Path) -> ReadError {
    let head = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        let mut buf = vec![0u8; 512];
        let n = f.read(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    });
    let hint = match head {
        Err(e) => return ReadError::io(path, e),
        Ok(h) if h.is_empty() => "the file is empty".to_string(),
        // Before the pickle guess: a safetensors header length may start with the byte 0x80.
        Ok(h) if crate::formats::npy::looks_like_safetensors(&h) => {
            crate::formats::npy::SAFETENSORS_MESSAGE.to_string()
        }
        Ok(h) if h.first() == Some(&0x80) => {
            "it looks like a Python pickle, which skelzero never unpickles".to_string()
        }
        Ok(h) if crate::formats::numbers::looks_binary(&h) => "it holds binary data".to_string(),
        Ok(_) => "the file name does not match any known dataset".to_string(),
    };
    ReadError::file(
        path,
        format!("unknown format: {hint} (expected {KNOWN_FORMATS})"),
    )
}

fn existing_dir(path: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| path.join(n)).find(|p| p.is_dir())
}
