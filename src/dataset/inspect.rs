//! A summary of a loaded dataset, for `skelzero inspect` (as text or JSON).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Dataset, DatasetKind};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassCount {
    /// 0-based label.
    pub label: usize,
    pub name: String,
    pub instances: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrameStats {
    pub min: usize,
    pub median: usize,
    pub max: usize,
    pub total: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub root: String,
    pub format: DatasetKind,
    /// Distinct recordings the samples come from.
    pub sequences: usize,
    /// Labelled samples (segments of recordings for PKU-MMD and UTKinect).
    pub instances: usize,
    pub classes: usize,
    /// Classes with at least one instance.
    pub classes_present: usize,
    pub per_class: Vec<ClassCount>,
    pub frames: Option<FrameStats>,
    /// Samples by number of bodies present in at least one frame (index 0: none, 1: one, 2: two).
    pub samples_by_bodies: [usize; 3],
    /// Joints per body, by layout name.
    pub joints: Vec<(String, usize)>,
    pub subjects: Vec<u32>,
    pub cameras: Vec<u32>,
    /// Frames where no body is present.
    pub missing_frames: usize,
    /// Samples with at least one missing frame.
    pub samples_with_missing_frames: usize,
    /// Frames where a present body has some joints exactly at (0, 0, 0) (untracked joints).
    pub invalid_frames: usize,
    pub skipped: Vec<String>,
}

/// Summarises a dataset.
pub fn summary_from_dataset(ds: &Dataset) -> Summary {
    let counts = ds.class_counts();
    let per_class: Vec<ClassCount> = ds
        .classes
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(label, (name, &instances))| ClassCount {
            label,
            name: name.clone(),
            instances,
        })
        .collect();
    let mut lengths: Vec<usize> = ds.samples.iter().map(|s| s.seq.frames()).collect();
    lengths.sort_unstable();
    let frames = (!lengths.is_empty()).then(|| FrameStats {
        min: lengths[0],
        median: lengths[lengths.len() / 2],
        max: lengths[lengths.len() - 1],
        total: lengths.iter().sum(),
    });
    let mut samples_by_bodies = [0; 3];
    let mut missing_frames = 0;
    let mut samples_with_missing_frames = 0;
    let mut invalid_frames = 0;
    let mut joints: Vec<(String, usize)> = Vec::new();
    for s in &ds.samples {
        let seq = &s.seq;
        let present = (0..seq.bodies())
            .filter(|&b| (0..seq.frames()).any(|f| seq.body_present(f, b)))
            .count();
        samples_by_bodies[present.min(2)] += 1;
        let missing = (0..seq.frames()).filter(|&f| seq.frame_empty(f)).count();
        missing_frames += missing;
        samples_with_missing_frames += usize::from(missing > 0);
        invalid_frames += (0..seq.frames())
            .filter(|&f| {
                (0..seq.bodies()).any(|b| {
                    let body = seq.body_frame(f, b);
                    body.iter().any(|&v| v != 0.0)
                        && body.chunks_exact(3).any(|j| j.iter().all(|&v| v == 0.0))
                })
            })
            .count();
        let name = seq.layout().name.to_string();
        if !joints.iter().any(|(n, _)| *n == name) {
            joints.push((name, seq.joints()));
        }
    }
    let sequences = ds
        .samples
        .iter()
        .map(|s| s.meta.video.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    let subjects = ds
        .samples
        .iter()
        .filter_map(|s| s.meta.subject)
        .collect::<BTreeSet<_>>();
    let cameras = ds
        .samples
        .iter()
        .filter_map(|s| s.meta.camera)
        .collect::<BTreeSet<_>>();
    Summary {
        root: ds.root.display().to_string(),
        format: ds.kind,
        sequences,
        instances: ds.samples.len(),
        classes: ds.classes.len(),
        classes_present: counts.iter().filter(|&&c| c > 0).count(),
        per_class,
        frames,
        samples_by_bodies,
        joints,
        subjects: subjects.into_iter().collect(),
        cameras: cameras.into_iter().collect(),
        missing_frames,
        samples_with_missing_frames,
        invalid_frames,
        skipped: ds.skipped.clone(),
    }
}

/// The summary as human-readable text.
pub fn text_from_summary(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", s.root);
    let _ = writeln!(out, "format:     {:?}", s.format);
    let _ = writeln!(out, "sequences:  {}", s.sequences);
    let _ = writeln!(out, "instances:  {}", s.instances);
    let _ = writeln!(
        out,
        "classes:    {} ({} with instances)",
        s.classes, s.classes_present
    );
    if let Some(f) = &s.frames {
        let _ = writeln!(
            out,
            "frames:     min {} / median {} / max {} ({} in all)",
            f.min, f.median, f.max, f.total
        );
    }
    let _ = writeln!(
        out,
        "bodies:     {} samples with one body, {} with two, {} with none",
        s.samples_by_bodies[1], s.samples_by_bodies[2], s.samples_by_bodies[0]
    );
    for (name, n) in &s.joints {
        let _ = writeln!(out, "joints:     {n} ({name})");
    }
    if !s.subjects.is_empty() {
        let _ = writeln!(out, "subjects:   {} {:?}", s.subjects.len(), s.subjects);
    }
    if !s.cameras.is_empty() {
        let _ = writeln!(out, "cameras:    {:?}", s.cameras);
    }
    let _ = writeln!(
        out,
        "missing:    {} frames with no body ({} samples); {} frames with untracked joints",
        s.missing_frames, s.samples_with_missing_frames, s.invalid_frames
    );
    let _ = writeln!(out, "per class:");
    for c in s.per_class.iter().filter(|c| c.instances > 0) {
        let _ = writeln!(out, "  {:4} {:5}  {}", c.label + 1, c.instances, c.name);
    }
    let empty = s.per_class.iter().filter(|c| c.instances == 0).count();
    if empty > 0 {
        let _ = writeln!(out, "  ({empty} classes without instances)");
    }
    let _ = writeln!(out, "skipped:    {}", s.skipped.len());
    for line in &s.skipped {
        let _ = writeln!(out, "  {line}");
    }
    out
}
