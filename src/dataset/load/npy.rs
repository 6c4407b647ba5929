//! `.npy` arrays: `(N, 3, T, 25, M)` batches with a label file beside them, or one sample's joint array.

use std::path::{Path, PathBuf};

use super::common::{is_label_name, list_files, meta, read_all, stem, without_absent_bodies};
use super::ntu::{ntu_class_names, ntu_kind_from_action};
use crate::dataset::{Dataset, DatasetKind, Sample};
use crate::formats::ntu_skeleton::NtuName;
use crate::formats::{ReadError, msr_action3d, npy, ntu_array, pku_mmd, utkinect};
use crate::skeleton::Sequence;

/// One `.npy` data file read: a batch with labels, or a single joint array.
enum NpyRead {
    Batch {
        seqs: Vec<Option<Sequence>>,
        labels: Vec<usize>,
    },
    Single(Sequence),
}

pub(super) fn load_npy_files(
    root: PathBuf,
    files: &[PathBuf],
    kind: Option<DatasetKind>,
) -> Result<Dataset, ReadError> {
    let read = read_all(files, |p| {
        let arr = npy::read_f32(p)?;
        if arr.shape.len() == 5 {
            let label_path = batch_label_path(p)?;
            let seqs = ntu_array::sequences_from_batch(&arr, p)?;
            let labels = ntu_array::read_labels(&label_path, seqs.len())?;
            Ok(NpyRead::Batch { seqs, labels })
        } else {
            Ok(NpyRead::Single(ntu_array::sequence_from_joints(arr, p)?))
        }
    })?;
    // NTU names (S001C001P001R001A012_...) give classes; otherwise the labels are just numbers.
    let names: Vec<Option<NtuName>> = files.iter().map(|f| NtuName::parse(&stem(f))).collect();
    let max_label = read
        .iter()
        .zip(&names)
        .map(|(r, n)| match r {
            NpyRead::Batch { labels, .. } => labels.iter().max().map_or(0, |m| m + 1),
            NpyRead::Single(_) => n.map_or(1, |n| n.action as usize),
        })
        .max()
        .unwrap_or(0);
    let all_singles_named = read
        .iter()
        .zip(&names)
        .all(|(r, n)| matches!(r, NpyRead::Single(_)) && n.is_some());
    let kind = kind.unwrap_or(if all_singles_named {
        ntu_kind_from_action(max_label as u32)
    } else {
        DatasetKind::Custom
    });
    let classes = match kind {
        DatasetKind::Ntu60 | DatasetKind::Ntu120 => ntu_class_names(kind),
        DatasetKind::Pku => pku_mmd::CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        DatasetKind::Msr => msr_action3d::CLASS_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        DatasetKind::Utkinect => utkinect::CLASS_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        DatasetKind::Synthetic | DatasetKind::Custom => (0..max_label.max(1))
            .map(|i| format!("class {i}"))
            .collect(),
    };
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    for ((path, r), name) in files.iter().zip(read).zip(names) {
        let id = stem(path);
        match r {
            NpyRead::Single(seq) => {
                let label = name.map_or(0, |n| n.action as usize - 1);
                if label >= classes.len() {
                    return Err(ReadError::file(
                        path,
                        format!(
                            "class {} is outside the {} classes",
                            label + 1,
                            classes.len()
                        ),
                    ));
                }
                let mut m = meta(id.clone(), label, id, path);
                if let Some(n) = name {
                    m.subject = Some(n.subject);
                    m.camera = Some(n.camera);
                    m.setup = Some(n.setup);
                    m.repetition = Some(n.repetition);
                    m.video = n.code();
                }
                samples.push(Sample {
                    meta: m,
                    seq: without_absent_bodies(seq, path)?,
                });
            }
            NpyRead::Batch { seqs, labels } => {
                for (i, (seq, label)) in seqs.into_iter().zip(labels).enumerate() {
                    if label >= classes.len() {
                        return Err(ReadError::file(
                            path,
                            format!(
                                "sample {i} has label {label}, outside the {} classes of {kind:?}",
                                classes.len()
                            ),
                        ));
                    }
                    let Some(seq) = seq else {
                        skipped.push(format!("{}#{i}: all zeros", path.display()));
                        continue;
                    };
                    let sid = format!("{id}#{i}");
                    samples.push(Sample {
                        meta: meta(sid.clone(), label, sid, path),
                        seq,
                    });
                }
            }
        }
    }
    Ok(Dataset {
        kind,
        root,
        classes,
        samples,
        skipped,
    })
}

/// The label file of a `(N, 3, T, 25, M)` data file: `train_data_joint.npy` -> `train_label.{npy,txt}`,
/// `train_position.npy` -> `train_label.*`, `x.npy` -> `x_label.*`, or the only `*label*` file beside it.
fn batch_label_path(data: &Path) -> Result<PathBuf, ReadError> {
    let dir = data.parent().unwrap_or(Path::new("."));
    let s = stem(data);
    let mut stems = Vec::new();
    if let Some(i) = s.find("data") {
        stems.push(format!("{}label", &s[..i]));
        stems.push(format!("{}label{}", &s[..i], &s[i + 4..]));
    }
    stems.push(format!("{s}_label"));
    stems.push(format!("{s}_labels"));
    if let Some((head, _)) = s.split_once('_') {
        stems.push(format!("{head}_label"));
    }
    for st in &stems {
        for ext in ["npy", "txt", "pkl"] {
            let p = dir.join(format!("{st}.{ext}"));
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let others: Vec<PathBuf> = list_files(dir)?
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_label_name)
        })
        .collect();
    match others.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(ReadError::file(
            data,
            format!(
                "an (N, 3, T, 25, M) array needs a label file beside it (looked for {}.npy/.txt)",
                dir.join(stems.first().cloned().unwrap_or_default())
                    .display()
            ),
        )),
    }
}
