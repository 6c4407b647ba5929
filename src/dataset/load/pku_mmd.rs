//! PKU-MMD: long recordings with a label file each, cut into one sample per labelled action.

use std::path::{Path, PathBuf};

use super::common::{meta, read_all, read_class_names, stem, without_absent_bodies};
use crate::dataset::{Dataset, DatasetKind, Sample};
use crate::formats::{ReadError, pku_mmd};

pub(super) fn load_pku(
    root: PathBuf,
    files: &[PathBuf],
    label_dir: &Path,
    class_root: &Path,
) -> Result<Dataset, ReadError> {
    let classes = pku_class_names(class_root)?;
    let read = read_all(files, |p| {
        let label_path = label_dir.join(p.file_name().unwrap_or_default());
        if !label_path.is_file() {
            return Ok(None);
        }
        let seq = pku_mmd::read_skeleton(p)?;
        let segments = pku_mmd::read_labels(&label_path, Some(seq.frames()))?;
        if let Some(s) = segments.iter().find(|s| s.action as usize > classes.len()) {
            return Err(ReadError::line(
                &label_path,
                s.line,
                format!(
                    "action id {} is outside the {} classes",
                    s.action,
                    classes.len()
                ),
            ));
        }
        // Cut the segments here, in parallel, so the whole recording is dropped early.
        let cut: Result<Vec<_>, _> = segments
            .iter()
            .map(|s| without_absent_bodies(seq.slice_frames(s.start, s.end), p).map(|q| (*s, q)))
            .collect();
        cut.map(Some)
    })?;
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    for (path, segs) in files.iter().zip(read) {
        let video = stem(path);
        let Some(segs) = segs else {
            skipped.push(format!(
                "{}: no label file in {}",
                path.display(),
                label_dir.display()
            ));
            continue;
        };
        if segs.is_empty() {
            skipped.push(format!(
                "{}: the label file lists no segment",
                path.display()
            ));
        }
        for (k, (s, seq)) in segs.into_iter().enumerate() {
            let mut m = meta(
                format!("{video}#{k}"),
                s.action as usize - 1,
                video.clone(),
                path,
            );
            m.camera = pku_mmd::camera_from_name(&video);
            m.frames = Some((s.start, s.end));
            samples.push(Sample { meta: m, seq });
        }
    }
    Ok(Dataset {
        kind: DatasetKind::Pku,
        root,
        classes,
        samples,
        skipped,
    })
}

/// PKU-MMD class names from `classes.tsv` (or `text/classes.tsv`) in the dataset root, else the built-in list.
fn pku_class_names(root: &Path) -> Result<Vec<String>, ReadError> {
    for p in [
        root.join("classes.tsv"),
        root.join("text").join("classes.tsv"),
    ] {
        if p.is_file() {
            return read_class_names(&p);
        }
    }
    Ok(pku_mmd::CLASS_NAMES.iter().map(|s| s.to_string()).collect())
}
