//! MSR Action3D `aAA_sSS_eEE_skeleton3D.txt` files.

use std::path::{Path, PathBuf};

use super::common::{meta, read_all, read_class_names, stem};
use crate::dataset::{Dataset, DatasetKind, Sample};
use crate::formats::{ReadError, msr_action3d};

pub(super) fn load_msr(
    root: PathBuf,
    files: &[PathBuf],
    dataset_root: &Path,
) -> Result<Dataset, ReadError> {
    let classes_path = dataset_root.join("text").join("classes.tsv");
    let classes = if classes_path.is_file() {
        read_class_names(&classes_path)?
    } else {
        msr_action3d::CLASS_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let read = read_all(files, msr_action3d::read)?;
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    for (path, seq) in files.iter().zip(read) {
        let id = stem(path);
        let Some(name) = msr_action3d::MsrName::parse(&id) else {
            continue;
        };
        if name.action == 0 || name.action as usize > classes.len() {
            return Err(ReadError::file(
                path,
                format!(
                    "action a{:02} is outside the {} classes",
                    name.action,
                    classes.len()
                ),
            ));
        }
        if (0..seq.frames()).all(|f| seq.frame_empty(f)) {
            skipped.push(format!(
                "{}: holds only empty frames ({} frames, every joint at 0,0,0)",
                path.display(),
                seq.frames()
            ));
            continue;
        }
        let video = id.strip_suffix("_skeleton3D").unwrap_or(&id).to_string();
        let mut m = meta(video.clone(), name.action as usize - 1, video, path);
        m.subject = Some(name.subject);
        m.repetition = Some(name.repetition);
        samples.push(Sample { meta: m, seq });
    }
    Ok(Dataset {
        kind: DatasetKind::Msr,
        root,
        classes,
        samples,
        skipped,
    })
}
