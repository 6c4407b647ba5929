//! MSR Action3D skeletons: `aAA_sSS_eEE_skeleton3D.txt`, 20 lines of `x y z confidence` per frame, joints in
//! MSR's own order ([`LayoutId::Msr20`]).

use std::path::Path;

use super::ReadError;
use super::numbers::{parse_table, read_bytes};
use crate::skeleton::{LayoutId, Sequence};

const JOINTS: usize = 20;

/// The fields of a file name such as `a13_s09_e02_skeleton3D.txt` (all 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrName {
    pub action: u32,
    pub subject: u32,
    pub repetition: u32,
}

impl MsrName {
    /// Parses `aAA_sSS_eEE` at the start of a file stem.
    pub fn parse(stem: &str) -> Option<Self> {
        let mut parts = stem.split('_');
        let mut field = |letter: char| -> Option<u32> {
            let p = parts.next()?;
            let digits = p.strip_prefix(letter)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        };
        Some(Self {
            action: field('a')?,
            subject: field('s')?,
            repetition: field('e')?,
        })
    }
}

/// Reads one file. A file whose frames are all zeros reads fine; the loader reports it as empty.
pub fn read(path: &Path) -> Result<Sequence, ReadError> {
    let bytes = read_bytes(path)?;
    parse(&bytes, path)
}

/// Parses the bytes of one file.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Sequence, ReadError> {
    super::numbers::check_text(bytes, path, "an MSR Action3D text file")?;
    let table = parse_table(bytes, 4, path)?;
    let lines = table.len() / 4;
    if lines % JOINTS != 0 {
        return Err(ReadError::file(
            path,
            format!(
                "{lines} joint lines is not a whole number of frames of {JOINTS} joints (wrong joint count or truncated file)"
            ),
        ));
    }
    let frames = lines / JOINTS;
    let data: Vec<f32> = table
        .chunks_exact(4)
        .flat_map(|r| [r[0], r[1], r[2]])
        .collect();
    // The fourth column is the Kinect v1 SDK's confidence (1 tracked, 0 inferred; a few files hold fractions).
    let confidence: Vec<f32> = table.chunks_exact(4).map(|r| r[3]).collect();
    if let Some(i) = confidence.iter().position(|c| !(0.0..=1.0).contains(c)) {
        return Err(ReadError::file(
            path,
            format!(
                "joint row {}: field 4 (confidence) is {}, expected a value in 0..1",
                i + 1,
                confidence[i]
            ),
        ));
    }
    let mut seq = Sequence::new(LayoutId::Msr20, frames, 1, data)
        .and_then(|s| s.with_confidence(confidence))
        .map_err(|e| ReadError::file(path, e.to_string()))?;
    seq.fps = FPS;
    Ok(seq)
}

/// MSR Action3D was recorded at 15 frames per second.
pub const FPS: f32 = 15.0;

/// The 20 class names in label order, for datasets without a `text/classes.tsv`.
pub const CLASS_NAMES: [&str; 20] = [
    "high arm wave",
    "horizontal arm wave",
    "hammer",
    "hand catch",
    "forward punch",
    "high throw",
    "draw x",
    "draw tick",
    "draw circle",
    "hand clap",
    "two hand wave",
    "side-boxing",
    "bend",
    "forward kick",
    "side kick",
    "jogging",
    "tennis swing",
    "tennis serve",
    "golf swing",
    "pick up & throw",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        let n = MsrName::parse("a13_s09_e02_skeleton3D").unwrap();
        assert_eq!((n.action, n.subject, n.repetition), (13, 9, 2));
        assert!(MsrName::parse("a13_s9x_e02").is_none());
        assert!(MsrName::parse("joints_s01_e01").is_none());
    }

    #[test]
    fn joint_count_is_checked() {
        let mut text = String::new();
        for j in 0..21 {
            text += &format!("{j} 1 2 1\n");
        }
        let err = parse(text.as_bytes(), Path::new("a01_s01_e01_skeleton3D.txt")).unwrap_err();
        assert!(
            err.to_string()
                .contains("21 joint lines is not a whole number of frames of 20"),
            "{err}"
        );
    }

    #[test]
    fn confidence_column_is_kept_and_checked() {
        let mut text = String::new();
        for j in 0..JOINTS {
            let c = if j == 2 { "0.000000" } else { "1.000000" };
            text += &format!("{j} 1 2 {c}\n");
        }
        let seq = parse(text.as_bytes(), Path::new("a01_s01_e01_skeleton3D.txt")).unwrap();
        assert!(seq.has_confidence());
        assert_eq!(seq.confidence(0, 0, 2), Some(0.0));
        assert_eq!(seq.confidence(0, 0, 3), Some(1.0));
        assert_eq!(seq.joint(0, 0, 3), [3.0, 1.0, 2.0]);
        let bad = text.replacen("0 1 2 1.000000", "0 1 2 7", 1);
        let err = parse(bad.as_bytes(), Path::new("a01_s01_e01_skeleton3D.txt")).unwrap_err();
        assert!(
            err.to_string()
                .contains("joint row 1: field 4 (confidence) is 7"),
            "{err}"
        );
    }
}
