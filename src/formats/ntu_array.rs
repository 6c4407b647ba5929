//! NTU-style arrays as the SMIE / CTR-GCN / AimCLR pipelines write them: a float32 `.npy` of shape
//! `(N, 3, T, 25, M)` (M = 1 or 2 bodies, zero-padded in time) with a label file, and single `(T, 25, 3)` joint arrays.
//!
//! Label files: an `.npy` of integers (shape `(N,)`, or one-hot `(N, C)`), or a text file with one **0-based**
//! label per line (as the `.npy` label files store them). Pickled label files (`*.pkl`) are refused.

use std::path::Path;

use super::ReadError;
use super::npy::{self, NpyArray};
use crate::skeleton::{LayoutId, Sequence};

/// Splits an `(N, 3, T, V, M)` array into one sequence per sample. Trailing all-zero frames (time padding) are cut,
/// and an all-zero second body is dropped. A sample that is all zeros gives `None`.
pub fn sequences_from_batch(
    arr: &NpyArray<f32>,
    path: &Path,
) -> Result<Vec<Option<Sequence>>, ReadError> {
    let &[n, c, t, v, m] = arr.shape.as_slice() else {
        return Err(ReadError::field(
            path,
            "shape",
            format!("expected (N, 3, T, 25, M), got {:?}", arr.shape),
        ));
    };
    if c != 3 || !(1..=2).contains(&m) {
        return Err(ReadError::field(
            path,
            "shape",
            format!(
                "expected (N, 3, T, 25, M) with M = 1 or 2, got {:?}",
                arr.shape
            ),
        ));
    }
    let layout = layout_for_joints(v, path)?;
    let per_sample = c * t * v * m;
    let mut out = Vec::with_capacity(n);
    for s in 0..n {
        let x = &arr.data[s * per_sample..(s + 1) * per_sample];
        // x[ch][frame][joint][body]
        let at = |ch: usize, f: usize, j: usize, b: usize| x[((ch * t + f) * v + j) * m + b];
        let body_present =
            |f: usize, b: usize| (0..v).any(|j| (0..3).any(|ch| at(ch, f, j, b) != 0.0));
        let Some(last) = (0..t).rev().find(|&f| (0..m).any(|b| body_present(f, b))) else {
            out.push(None);
            continue;
        };
        let frames = last + 1;
        let bodies = if m == 2 && (0..frames).any(|f| body_present(f, 1)) {
            2
        } else {
            1
        };
        let mut data = Vec::with_capacity(frames * bodies * v * 3);
        for f in 0..frames {
            for b in 0..bodies {
                for j in 0..v {
                    data.extend_from_slice(&[at(0, f, j, b), at(1, f, j, b), at(2, f, j, b)]);
                }
            }
        }
        let seq = Sequence::new(layout, frames, bodies, data)
            .map_err(|e| ReadError::file(path, format!("sample {s}: {e}")))?;
        out.push(Some(seq));
    }
    Ok(out)
}

/// A `(T, V, 3)` joint array (or `(T, M, V, 3)` with M bodies) as one sequence.
pub fn sequence_from_joints(arr: NpyArray<f32>, path: &Path) -> Result<Sequence, ReadError> {
    let (frames, bodies, v) = match *arr.shape.as_slice() {
        [t, v, 3] => (t, 1, v),
        [t, m, v, 3] if (1..=2).contains(&m) => (t, m, v),
        _ => {
            return Err(ReadError::field(
                path,
                "shape",
                format!("expected (T, 25, 3) joints, got {:?}", arr.shape),
            ));
        }
    };
    let layout = layout_for_joints(v, path)?;
    if frames == 0 {
        return Err(ReadError::field(path, "shape", "the array has no frames"));
    }
    Sequence::new(layout, frames, bodies, arr.data)
        .map_err(|e| ReadError::file(path, e.to_string()))
}

/// 25 joints: NTU/Kinect v2; 20: Kinect v1 SDK order.
fn layout_for_joints(v: usize, path: &Path) -> Result<LayoutId, ReadError> {
    match v {
        25 => Ok(LayoutId::Ntu25),
        20 => Ok(LayoutId::KinectV1),
        _ => Err(ReadError::field(
            path,
            "shape",
            format!("{v} joints per body; expected 25 (or 20)"),
        )),
    }
}

/// Reads a label file for an array of `n` samples (see the module docs for the accepted forms).
pub fn read_labels(path: &Path, n: usize) -> Result<Vec<usize>, ReadError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let labels: Vec<i64> = match ext.as_str() {
        "pkl" | "pickle" => {
            return Err(ReadError::file(
                path,
                "this is a Python pickle; skelzero never unpickles files (save the labels with numpy.save as an \
                 integer array, or as text with one 0-based label per line)",
            ));
        }
        "npy" => {
            let a = npy::read_i64(path)?;
            match *a.shape.as_slice() {
                [_] => a.data,
                [rows, cols] if cols > 0 => one_hot_to_labels(&a.data, rows, cols, path)?,
                _ => {
                    return Err(ReadError::field(
                        path,
                        "shape",
                        format!(
                            "expected labels of shape (N,) or one-hot (N, C), got {:?}",
                            a.shape
                        ),
                    ));
                }
            }
        }
        _ => {
            let bytes = super::numbers::read_bytes(path)?;
            let mut out = Vec::new();
            let mut lines = super::numbers::Lines::new(&bytes);
            while let Some(line) = lines.next() {
                if super::numbers::is_blank(line) {
                    continue;
                }
                let v = super::numbers::parse_int::<i64>(line).ok_or_else(|| {
                    ReadError::line(
                        path,
                        lines.line_no(),
                        format!(
                            "expected one 0-based integer label, got `{}`",
                            super::numbers::shorten(line)
                        ),
                    )
                })?;
                out.push(v);
            }
            out
        }
    };
    if labels.len() != n {
        return Err(ReadError::file(
            path,
            format!("{} labels for {n} samples", labels.len()),
        ));
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let label = usize::try_from(l).map_err(|_| {
                ReadError::file(
                    path,
                    format!("label {i} is negative ({l}); labels are 0-based"),
                )
            })?;
            // A dataset without class names gets one class per label value up to the largest, so a corrupt
            // label would otherwise make a class list of billions of names.
            if label >= MAX_CLASSES {
                return Err(ReadError::file(
                    path,
                    format!(
                        "label {i} is {l}; a label file may name at most {MAX_CLASSES} classes"
                    ),
                ));
            }
            Ok(label)
        })
        .collect()
}

/// More classes than any skeleton dataset has (Kinetics-Skeleton: 400): a larger label is a corrupt file.
pub const MAX_CLASSES: usize = 65_536;

fn one_hot_to_labels(
    data: &[i64],
    rows: usize,
    cols: usize,
    path: &Path,
) -> Result<Vec<i64>, ReadError> {
    (0..rows)
        .map(|r| {
            let row = &data[r * cols..(r + 1) * cols];
            match row.iter().position(|&v| v == 1) {
                Some(c) if row.iter().filter(|&&v| v != 0).count() == 1 => Ok(c as i64),
                _ => Err(ReadError::file(
                    path,
                    format!("row {r} of the one-hot labels is not one-hot"),
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_trims_padding_and_absent_bodies() {
        // Two samples, T = 4, one body moving in sample 0 for 2 frames; sample 1 empty.
        let (n, c, t, v, m) = (2, 3, 4, 25, 2);
        let mut data = vec![0.0f32; n * c * t * v * m];
        for f in 0..2 {
            for j in 0..v {
                data[((f * v) + j) * m] = 1.0 + f as f32; // x of body 0, sample 0
            }
        }
        let arr = NpyArray {
            shape: vec![n, c, t, v, m],
            data,
        };
        let seqs = sequences_from_batch(&arr, Path::new("x.npy")).unwrap();
        let s0 = seqs[0].as_ref().unwrap();
        assert_eq!((s0.frames(), s0.bodies()), (2, 1));
        assert_eq!(s0.joint(1, 0, 3), [2.0, 0.0, 0.0]);
        assert!(seqs[1].is_none());
    }

    #[test]
    fn label_files() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("label.txt");
        std::fs::write(&txt, "3\n0\n\n5\n").unwrap();
        assert_eq!(read_labels(&txt, 3).unwrap(), [3, 0, 5]);
        assert!(
            read_labels(&txt, 4)
                .unwrap_err()
                .to_string()
                .contains("3 labels for 4 samples")
        );
        let hot = dir.path().join("y.npy");
        npy::write_i64(&hot, &[2, 3], &[0, 0, 1, 1, 0, 0]).unwrap();
        assert_eq!(read_labels(&hot, 2).unwrap(), [2, 0]);
        let pkl = dir.path().join("train_label.pkl");
        std::fs::write(&pkl, b"\x80\x04").unwrap();
        assert!(
            read_labels(&pkl, 1)
                .unwrap_err()
                .to_string()
                .contains("never unpickles")
        );
    }
}
