//! UTKinect-Action3D `joints_sXX_eXX.txt` files, cut into samples by `actionLabel.txt`.

use std::path::{Path, PathBuf};

use super::common::{meta, read_all, stem};
use crate::dataset::{Dataset, DatasetKind, Sample};
use crate::formats::{ReadError, utkinect};

pub(super) fn find_utk_labels(root: &Path, skeleton_dir: &Path) -> Result<PathBuf, ReadError> {
    let candidates = [
        skeleton_dir.join("actionLabel.txt"),
        root.join("actionLabel.txt"),
        root.join("label").join("actionLabel.txt"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            ReadError::file(
                skeleton_dir,
                format!(
                    "UTKinect joints files need actionLabel.txt (looked for {})",
                    candidates[0].display()
                ),
            )
        })
}

pub(super) fn load_utk(
    root: PathBuf,
    files: &[PathBuf],
    label_path: &Path,
) -> Result<Dataset, ReadError> {
    let blocks = utkinect::read_labels(label_path)?;
    let read = read_all(files, utkinect::read_joints)?;
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    for (path, joints) in files.iter().zip(read) {
        let video = stem(path);
        let Some((subject, repetition)) = utkinect::parse_name(&video) else {
            continue;
        };
        let Some(block) = blocks
            .iter()
            .find(|b| (b.subject, b.repetition) == (subject, repetition))
        else {
            skipped.push(format!(
                "{}: no s{subject:02}_e{repetition:02} block in {}",
                path.display(),
                label_path.display()
            ));
            continue;
        };
        for (k, seg) in block.segments.iter().enumerate() {
            let name = utkinect::CLASS_NAMES[seg.label];
            let Some((a, b)) = seg.frames else {
                skipped.push(format!(
                    "{video}#{k} ({name}): the label file gives no frames (NaN)"
                ));
                continue;
            };
            let first = joints.frame_ids.iter().position(|&id| id >= a);
            let last = joints.frame_ids.iter().rposition(|&id| id <= b);
            let (Some(first), Some(last)) = (first, last) else {
                skipped.push(format!(
                    "{video}#{k} ({name}): no frame with an id in {a}..={b}"
                ));
                continue;
            };
            if first > last {
                skipped.push(format!(
                    "{video}#{k} ({name}): no frame with an id in {a}..={b}"
                ));
                continue;
            }
            let mut m = meta(format!("{video}#{k}"), seg.label, video.clone(), path);
            m.subject = Some(subject);
            m.repetition = Some(repetition);
            m.frames = Some((first, last + 1));
            samples.push(Sample {
                meta: m,
                seq: joints.seq.slice_frames(first, last + 1),
            });
        }
    }
    Ok(Dataset {
        kind: DatasetKind::Utkinect,
        root,
        classes: utkinect::CLASS_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        samples,
        skipped,
    })
}
