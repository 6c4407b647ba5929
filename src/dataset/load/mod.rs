//! Reading a dataset from a path: a dataset root (with `skeleton/`, `label/`, `text/` subfolders), a folder of
//! files, or one file. The format is detected from file names (and `.npy` shapes); files are parsed in parallel
//! and the samples come out in file-name order, so the result does not depend on thread timing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Dataset, DatasetKind, Sample, SampleMeta};
use crate::formats::ntu_skeleton::NtuName;
use crate::formats::{ReadError, msr_action3d, npy, ntu_array, ntu_skeleton, pku_mmd, utkinect};
use crate::skeleton::Sequence;

/// NTU RGB+D 120 class names (`idx0`, `ntu_code`, `name`); the first 60 are NTU RGB+D 60.
const NTU120_CLASSES: &str = include_str!("../../../assets/ntu120_classes.tsv");
/// The official list of NTU RGB+D 120 samples whose skeletons are missing (a superset of the NTU 60 list).
const NTU_MISSING: &str = include_str!("../../../assets/ntu120_missing_skeletons.txt");

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
            "txt" if msr_action3d::MsrName::parse(stem).is_some() => Some(Self::Msr),
            "txt" if stem.starts_with("joints_") && utkinect::parse_name(stem).is_some() => {
                Some(Self::UtkJoints)
            }
            "txt" if pku_mmd::is_recording_name(stem) => Some(Self::Pku),
            _ => None,
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

fn is_label_name(name: &str) -> bool {
    name.to_ascii_lowercase().contains("label")
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

/// NTU RGB+D 60 has actions 1..=60; 120 adds 61..=120.
fn ntu_kind_from_action(max_action: u32) -> DatasetKind {
    if max_action > 60 {
        DatasetKind::Ntu120
    } else {
        DatasetKind::Ntu60
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

/// The files (not folders) of `dir`, sorted by name.
fn list_files(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
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
fn read_all<T: Send>(
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

fn meta(id: String, label: usize, video: String, source: &Path) -> SampleMeta {
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

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn seq_error(path: &Path, e: impl std::fmt::Display) -> ReadError {
    ReadError::file(path, e.to_string())
}

/// Drops a second body that is all zeros, so a one-person sample has one body.
fn without_absent_bodies(seq: Sequence, path: &Path) -> Result<Sequence, ReadError> {
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

fn load_ntu(
    root: PathBuf,
    files: &[PathBuf],
    kind: Option<DatasetKind>,
    honour_missing_list: bool,
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
        ntu_skeleton::parse_allow_empty(&bytes, p)
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

fn load_pku(
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

fn load_msr(root: PathBuf, files: &[PathBuf], dataset_root: &Path) -> Result<Dataset, ReadError> {
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

fn find_utk_labels(root: &Path, skeleton_dir: &Path) -> Result<PathBuf, ReadError> {
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

fn load_utk(root: PathBuf, files: &[PathBuf], label_path: &Path) -> Result<Dataset, ReadError> {
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

/// One `.npy` data file read: a batch with labels, or a single joint array.
enum NpyRead {
    Batch {
        seqs: Vec<Option<Sequence>>,
        labels: Vec<usize>,
    },
    Single(Sequence),
}

fn load_npy_files(
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
