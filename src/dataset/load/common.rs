//! What the loaders share: listing and reading files in parallel, sample metadata, dropping absent bodies, and
//! class-name files.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::SampleMeta;
use crate::formats::ReadError;
use crate::skeleton::Sequence;

/// Whether a file name marks a label file.
pub(super) fn is_label_name(name: &str) -> bool {
    name.to_ascii_lowercase().contains("label")
}

/// The files (not folders) of `dir`, sorted by name.
pub(super) fn list_files(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| ReadError::io(dir, e))? {
        let entry = entry.map_err(|e| ReadError::io(dir, e))?;
        let p = entry.path();
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs `read` on every file in parallel; the results keep the order of `files`, and the first error (in that
/// order) is returned.
pub(super) fn read_all<T: Send>(
    files: &[PathBuf],
    read: impl Fn(&Path) -> Result<T, ReadError> + Sync,
) -> Result<Vec<T>, ReadError> {
    let results: Vec<Result<T, ReadError>> = files.par_iter().map(|f| read(f)).collect();
    results.into_iter().collect()
}

/// Class names from a TSV with a header line; the last column is the name (`idx0\tname`, `id\tname`,
/// `idx0\tntu_code\tname`).
pub fn read_class_names(path: &Path) -> Result<Vec<String>, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| ReadError::file(path, "not UTF-8 text"))?;
    parse_class_names(&text, path)
}

/// [`read_class_names`] on a text in memory; `path` names it in errors.
pub fn parse_class_names(text: &str, path: &Path) -> Result<Vec<String>, ReadError> {
    let mut names = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let name = line.rsplit('\t').next().unwrap_or("").trim();
        if name.is_empty() || !line.contains('\t') {
            return Err(ReadError::line(
                path,
                i + 1,
                "expected tab-separated columns ending with the class name",
            ));
        }
        names.push(name.to_string());
    }
    if names.is_empty() {
        return Err(ReadError::file(
            path,
            "no class names (expected a header line, then one class per line)",
        ));
    }
    Ok(names)
}

pub(super) fn meta(id: String, label: usize, video: String, source: &Path) -> SampleMeta {
    SampleMeta {
        id,
        label,
        subject: None,
        camera: None,
        setup: None,
        repetition: None,
        video,
        source: source.to_path_buf(),
        frames: None,
    }
}

pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn seq_error(path: &Path, e: impl std::fmt::Display) -> ReadError {
    ReadError::file(path, e.to_string())
}

/// Drops a second body that is all zeros, so a one-person sample has one body.
pub(super) fn without_absent_bodies(seq: Sequence, path: &Path) -> Result<Sequence, ReadError> {
    if seq.bodies() < 2 || (0..seq.frames()).any(|f| seq.body_present(f, 1)) {
        return Ok(seq);
    }
    let data: Vec<f32> = (0..seq.frames())
        .flat_map(|f| seq.body_frame(f, 0).to_vec())
        .collect();
    let mut out =
        Sequence::new(seq.layout_id(), seq.frames(), 1, data).map_err(|e| seq_error(path, e))?;
    out.fps = seq.fps;
    Ok(out)
}
