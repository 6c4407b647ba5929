//! PKU-MMD (phase 1 and 2): long skeleton recordings (`NNNN-V.txt`, one line of 150 numbers per frame: two bodies x
//! 25 joints x xyz, the second body all zeros when absent), label files of `action,start,end,confidence` lines, and
//! the official cross-subject / cross-view lists.

use std::path::Path;

use super::ReadError;
use super::numbers::{Lines, is_blank, parse_int, parse_table, read_bytes};
use crate::skeleton::{LayoutId, Sequence};

/// Numbers per frame: 2 bodies x 25 joints x 3.
pub const VALUES_PER_FRAME: usize = 150;

/// One labelled segment of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// 1-based action id, as in the file.
    pub action: u32,
    /// First frame (0-based skeleton line).
    pub start: usize,
    /// End frame, exclusive (`frames[start..end]`, as the common PKU-MMD preprocessing scripts slice it).
    pub end: usize,
    pub confidence: u32,
    /// The 1-based line of the label file, for messages.
    pub line: usize,
}

/// Reads a skeleton file as a two-body sequence.
pub fn read_skeleton(path: &Path) -> Result<Sequence, ReadError> {
    let bytes = read_bytes(path)?;
    parse_skeleton(&bytes, path)
}

/// Parses the bytes of a skeleton file.
pub fn parse_skeleton(bytes: &[u8], path: &Path) -> Result<Sequence, ReadError> {
    super::numbers::check_text(bytes, path, "a PKU-MMD skeleton text file")?;
    let data = parse_table(bytes, VALUES_PER_FRAME, path)?;
    let frames = data.len() / VALUES_PER_FRAME;
    Sequence::new(LayoutId::Ntu25, frames, 2, data)
        .map_err(|e| ReadError::file(path, e.to_string()))
}

/// Reads a label file. Blank lines are ignored; a segment must lie inside `0..=frames` when `frames` is given.
pub fn read_labels(path: &Path, frames: Option<usize>) -> Result<Vec<Segment>, ReadError> {
    let bytes = read_bytes(path)?;
    parse_labels(&bytes, path, frames)
}

/// Parses the bytes of a label file.
pub fn parse_labels(
    bytes: &[u8],
    path: &Path,
    frames: Option<usize>,
) -> Result<Vec<Segment>, ReadError> {
    if super::numbers::looks_binary(bytes) {
        return Err(ReadError::file(
            path,
            "binary data, not a PKU-MMD label file",
        ));
    }
    let mut lines = Lines::new(bytes);
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if is_blank(line) {
            continue;
        }
        let n = lines.line_no();
        let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
        if fields.len() != 4 {
            return Err(ReadError::line(
                path,
                n,
                format!(
                    "expected 4 comma-separated fields (action,start,end,confidence), got {}",
                    fields.len()
                ),
            ));
        }
        let num = |k: usize, what: &str| -> Result<usize, ReadError> {
            parse_int::<usize>(fields[k]).ok_or_else(|| {
                ReadError::line(
                    path,
                    n,
                    format!(
                        "{what} (field {}) is not a non-negative integer: `{}`",
                        k + 1,
                        super::numbers::shorten(fields[k])
                    ),
                )
            })
        };
        let action = num(0, "action id")?;
        let (start, end) = (num(1, "start frame")?, num(2, "end frame")?);
        let confidence = num(3, "confidence")?;
        if !(1..=u32::MAX as usize).contains(&action) {
            return Err(ReadError::line(path, n, "action ids are 1-based; got 0"));
        }
        if start >= end {
            return Err(ReadError::line(
                path,
                n,
                format!("segment start {start} is not before its end {end}"),
            ));
        }
        if let Some(total) = frames
            && end > total
        {
            return Err(ReadError::line(
                path,
                n,
                format!("segment {start}..{end} ends after the recording's {total} frames"),
            ));
        }
        out.push(Segment {
            action: action as u32,
            start,
            end,
            confidence: confidence as u32,
            line: n,
        });
    }
    Ok(out)
}

/// The camera of a recording from its `-L`/`-M`/`-R` suffix: 1, 2, 3.
pub fn camera_from_name(stem: &str) -> Option<u32> {
    match stem.rsplit_once('-')?.1 {
        "L" => Some(1),
        "M" => Some(2),
        "R" => Some(3),
        _ => None,
    }
}

/// True for PKU-MMD recording names such as `0291-M` (phase 1) or `A01N01-L` (phase 2).
pub fn is_recording_name(stem: &str) -> bool {
    camera_from_name(stem).is_some()
        && stem.len() <= 16
        && stem
            .rsplit_once('-')
            .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An official split list: the recordings for training and for validation/testing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitLists {
    pub train: Vec<String>,
    pub validation: Vec<String>,
}

impl SplitLists {
    pub fn is_train(&self, video: &str) -> bool {
        self.train.iter().any(|v| v == video)
    }

    pub fn is_validation(&self, video: &str) -> bool {
        self.validation.iter().any(|v| v == video)
    }
}

/// Reads `cross-subject.txt` / `cross-view.txt`: a `Training videos:` line and a `Validataion videos:` (sic; the
/// correct spelling is accepted too) line, each followed by comma-separated recording ids.
pub fn read_split_lists(path: &Path) -> Result<SplitLists, ReadError> {
    parse_split_lists(&read_bytes(path)?, path)
}

/// [`read_split_lists`] on bytes in memory; `path` names them in errors.
pub fn parse_split_lists(bytes: &[u8], path: &Path) -> Result<SplitLists, ReadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ReadError::file(path, "not UTF-8 text"))?;
    let mut lists = SplitLists::default();
    let mut current: Option<&mut Vec<String>> = None;
    for (i, line) in text.lines().enumerate() {
        let lower = line.trim().to_ascii_lowercase();
        let rest = if let Some(r) = lower.strip_prefix("training videos:") {
            current = Some(&mut lists.train);
            r.to_string()
        } else if let Some(r) = lower
            .strip_prefix("validataion videos:")
            .or_else(|| lower.strip_prefix("validation videos:"))
        {
            current = Some(&mut lists.validation);
            r.to_string()
        } else {
            line.to_string()
        };
        let ids = rest
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_uppercase);
        let ids: Vec<String> = ids.collect();
        if ids.is_empty() {
            continue;
        }
        let Some(list) = current.as_deref_mut() else {
            return Err(ReadError::line(
                path,
                i + 1,
                "recording ids before any 'Training videos:' or 'Validataion videos:' heading",
            ));
        };
        if let Some(bad) = ids.iter().find(|id| !is_recording_name(id)) {
            return Err(ReadError::line(
                path,
                i + 1,
                format!("`{bad}` is not a recording id like 0002-L"),
            ));
        }
        list.extend(ids);
    }
    if lists.train.is_empty() || lists.validation.is_empty() {
        return Err(ReadError::file(
            path,
            "expected both a 'Training videos:' and a 'Validataion videos:' list",
        ));
    }
    Ok(lists)
}

/// PKU-MMD's 51 actions in label order (for datasets without a `classes.tsv`).
pub const CLASS_NAMES: [&str; 51] = [
    "bow",
    "brushing hair",
    "brushing teeth",
    "check time (from watch)",
    "cheer up",
    "clapping",
    "cross hands in front (say stop)",
    "drink water",
    "drop",
    "eat meal/snack",
    "falling",
    "giving something to other person",
    "hand waving",
    "handshaking",
    "hopping (one foot jumping)",
    "hugging other person",
    "jump up",
    "kicking other person",
    "kicking something",
    "make a phone call/answer phone",
    "pat on back of other person",
    "pickup",
    "playing with phone/tablet",
    "point finger at the other person",
    "pointing to something with finger",
    "punching/slapping other person",
    "pushing other person",
    "put on a hat/cap",
    "put something inside pocket",
    "reading",
    "rub two hands together",
    "salute",
    "sitting down",
    "standing up",
    "take off a hat/cap",
    "take off glasses",
    "take off jacket",
    "take out something from pocket",
    "taking a selfie",
    "tear up paper",
    "throw",
    "touch back (backache)",
    "touch chest (stomachache/heart pain)",
    "touch head (headache)",
    "touch neck (neckache)",
    "typing on a keyboard",
    "use a fan (with hand or paper)/feeling warm",
    "wear jacket",
    "wear on glasses",
    "wipe face",
    "writing",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_check() {
        let p = Path::new("l.txt");
        let segs = parse_labels(b"26,217,295,2\r\n\n18,381,412,0\n\n", p, Some(500)).unwrap();
        assert_eq!(segs.len(), 2);
        assert_eq!(
            segs[0],
            Segment {
                action: 26,
                start: 217,
                end: 295,
                confidence: 2,
                line: 1
            }
        );
        assert_eq!(segs[1].line, 3);
        let err = |b: &[u8]| parse_labels(b, p, Some(300)).unwrap_err().to_string();
        assert_eq!(
            err(b"1,2,3\n"),
            "l.txt, line 1: expected 4 comma-separated fields (action,start,end,confidence), got 3"
        );
        assert_eq!(
            err(b"1,2,3,1\n1,x,3,1\n"),
            "l.txt, line 2: start frame (field 2) is not a non-negative integer: `x`"
        );
        assert_eq!(
            err(b"1,5,3,1"),
            "l.txt, line 1: segment start 5 is not before its end 3"
        );
        assert_eq!(
            err(b"1,5,301,1"),
            "l.txt, line 1: segment 5..301 ends after the recording's 300 frames"
        );
        assert_eq!(
            err(b"0,5,30,1"),
            "l.txt, line 1: action ids are 1-based; got 0"
        );
    }

    #[test]
    fn names() {
        assert_eq!(camera_from_name("0291-M"), Some(2));
        assert_eq!(camera_from_name("A01N01-R"), Some(3));
        assert!(is_recording_name("0002-L"));
        assert!(!is_recording_name("notes"));
        assert!(!is_recording_name("a-b-X"));
    }
}
