//! UTKinect-Action3D: `joints_sXX_eXX.txt` (one line per frame: the Kinect frame id, then 20 joints x xyz in Kinect v1
//! SDK order, [`LayoutId::KinectV1`]) and `actionLabel.txt`, which cuts each recording into action segments by frame
//! id:
//!
//! ```text
//! s01_e01
//! walk: 252 390
//! sitDown: 572 686
//! ```

use std::path::Path;

use super::ReadError;
use super::numbers::{Lines, is_blank, parse_int, parse_table, read_bytes, shorten, tokens};
use crate::skeleton::{LayoutId, Sequence};

/// The ten classes in label order.
pub const CLASS_NAMES: [&str; 10] = [
    "walk",
    "sitDown",
    "standUp",
    "pickUp",
    "carry",
    "throw",
    "push",
    "pull",
    "waveHands",
    "clapHands",
];

const JOINTS: usize = 20;

/// A joints file: the sequence and the Kinect frame id of each of its frames.
#[derive(Debug)]
pub struct Joints {
    pub frame_ids: Vec<u64>,
    pub seq: Sequence,
}

/// The `(subject, repetition)` of a `joints_sXX_eXX` stem or an `sXX_eXX` label heading.
pub fn parse_name(stem: &str) -> Option<(u32, u32)> {
    let s = stem.strip_prefix("joints_").unwrap_or(stem);
    let (subject, rep) = s.split_once('_')?;
    let num = |p: &str, letter: char| -> Option<u32> {
        let d = p.strip_prefix(letter)?;
        (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.parse().ok())?
    };
    Some((num(subject, 's')?, num(rep, 'e')?))
}

/// Reads a joints file.
pub fn read_joints(path: &Path) -> Result<Joints, ReadError> {
    let bytes = read_bytes(path)?;
    parse_joints(&bytes, path)
}

/// Parses the bytes of a joints file.
pub fn parse_joints(bytes: &[u8], path: &Path) -> Result<Joints, ReadError> {
    super::numbers::check_text(bytes, path, "a UTKinect joints text file")?;
    let width = 1 + JOINTS * 3;
    let table = parse_table(bytes, width, path)?;
    let frames = table.len() / width;
    let mut frame_ids = Vec::with_capacity(frames);
    let mut data = Vec::with_capacity(frames * JOINTS * 3);
    for (i, row) in table.chunks_exact(width).enumerate() {
        let id = row[0];
        if id < 0.0 || id.fract() != 0.0 {
            return Err(ReadError::line(
                path,
                i + 1,
                format!("field 1 (frame id) is not a non-negative integer: {id}"),
            ));
        }
        frame_ids.push(id as u64);
        data.extend_from_slice(&row[1..]);
    }
    let seq = Sequence::new(LayoutId::KinectV1, frames, 1, data)
        .map_err(|e| ReadError::file(path, e.to_string()))?;
    Ok(Joints { frame_ids, seq })
}

/// One segment of `actionLabel.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSegment {
    /// 0-based index into [`CLASS_NAMES`].
    pub label: usize,
    /// First and last Kinect frame id (inclusive); `None` when the file says `NaN` (the action was not recorded).
    pub frames: Option<(u64, u64)>,
    /// The line of the file, for messages.
    pub line: usize,
}

/// The segments of one recording (`s01_e01`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelBlock {
    pub subject: u32,
    pub repetition: u32,
    pub segments: Vec<LabelSegment>,
}

/// Reads `actionLabel.txt`.
pub fn read_labels(path: &Path) -> Result<Vec<LabelBlock>, ReadError> {
    let bytes = read_bytes(path)?;
    parse_labels(&bytes, path)
}

/// Parses the bytes of `actionLabel.txt`.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<LabelBlock>, ReadError> {
    let mut blocks: Vec<LabelBlock> = Vec::new();
    let mut lines = Lines::new(bytes);
    while let Some(line) = lines.next() {
        let n = lines.line_no();
        if is_blank(line) {
            continue;
        }
        let text =
            std::str::from_utf8(line).map_err(|_| ReadError::line(path, n, "not UTF-8 text"))?;
        let Some((class, range)) = text.split_once(':') else {
            let (subject, repetition) = parse_name(text.trim()).ok_or_else(|| {
                ReadError::line(
                    path,
                    n,
                    format!(
                        "expected `sXX_eXX` or `action: start end`, got `{}`",
                        shorten(line)
                    ),
                )
            })?;
            blocks.push(LabelBlock {
                subject,
                repetition,
                segments: Vec::new(),
            });
            continue;
        };
        let label = CLASS_NAMES
            .iter()
            .position(|c| c.eq_ignore_ascii_case(class.trim()))
            .ok_or_else(|| {
                ReadError::line(
                    path,
                    n,
                    format!(
                        "unknown action `{}` (expected one of {CLASS_NAMES:?})",
                        class.trim()
                    ),
                )
            })?;
        let fields: Vec<&[u8]> = tokens(range.as_bytes()).collect();
        let frames = match fields.as_slice() {
            [a, b] if a.eq_ignore_ascii_case(b"nan") && b.eq_ignore_ascii_case(b"nan") => None,
            [a, b] => {
                let (Some(a), Some(b)) = (parse_int::<u64>(a), parse_int::<u64>(b)) else {
                    return Err(ReadError::line(
                        path,
                        n,
                        "start and end must be frame ids (integers) or NaN",
                    ));
                };
                if a > b {
                    return Err(ReadError::line(
                        path,
                        n,
                        format!("segment start {a} is after its end {b}"),
                    ));
                }
                Some((a, b))
            }
            _ => {
                return Err(ReadError::line(
                    path,
                    n,
                    format!("expected `action: start end`, got {} numbers", fields.len()),
                ));
            }
        };
        let Some(block) = blocks.last_mut() else {
            return Err(ReadError::line(
                path,
                n,
                "a segment before any `sXX_eXX` heading",
            ));
        };
        block.segments.push(LabelSegment {
            label,
            frames,
            line: n,
        });
    }
    if blocks.is_empty() {
        return Err(ReadError::file(
            path,
            "no `sXX_eXX` recording in the label file",
        ));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names() {
        let text = b"s01_e01\nwalk: 252 390\ncarry: NaN NaN\ns01_e02\nclapHands: 5 9\n";
        let blocks = parse_labels(text, Path::new("actionLabel.txt")).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0].segments[0],
            LabelSegment {
                label: 0,
                frames: Some((252, 390)),
                line: 2
            }
        );
        assert_eq!(blocks[0].segments[1].frames, None);
        assert_eq!((blocks[1].subject, blocks[1].repetition), (1, 2));
        let err = parse_labels(b"s01_e01\nfly: 1 2\n", Path::new("a"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("a, line 2: unknown action `fly`"), "{err}");
        assert_eq!(parse_name("joints_s10_e02"), Some((10, 2)));
    }
}
