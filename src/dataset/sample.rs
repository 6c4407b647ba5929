//! Labelled samples and the dataset that holds them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::skeleton::Sequence;

/// The dataset family samples come from: it decides the class names, the published splits and the file naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    Ntu60,
    Ntu120,
    Pku,
    Msr,
    Utkinect,
    Synthetic,
    /// Anything else (a user's own arrays and labels).
    Custom,
}

impl DatasetKind {
    /// The datasets of a few hundred to a few thousand samples (MSR Action3D, PKU-MMD's interactions, UTKinect, the
    /// synthetic set), where a benchmark can afford fold encoders and its jobs are small enough to run side by side.
    pub fn is_small(self) -> bool {
        matches!(
            self,
            Self::Msr | Self::Pku | Self::Utkinect | Self::Synthetic
        )
    }
}

/// Where a sample came from and what it shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleMeta {
    /// Stable human-readable id: the file stem, plus `#k` for the k-th labelled segment of a long recording.
    pub id: String,
    /// 0-based class index into [`Dataset::classes`].
    pub label: usize,
    pub subject: Option<u32>,
    /// Camera (NTU) or view (PKU-MMD `L`/`M`/`R` as 1/2/3).
    pub camera: Option<u32>,
    pub setup: Option<u32>,
    pub repetition: Option<u32>,
    /// The recording the sample was cut from (PKU-MMD sequence id such as `0291-M`, or the file stem).
    pub video: String,
    pub source: PathBuf,
    /// Frame range `[start, end)` in the source recording, for segments of long recordings.
    pub frames: Option<(usize, usize)>,
}

/// One labelled skeleton sequence.
#[derive(Clone, Debug)]
pub struct Sample {
    pub meta: SampleMeta,
    pub seq: Sequence,
}

/// Samples read from one folder or file.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub root: PathBuf,
    /// Class names indexed by label.
    pub classes: Vec<String>,
    pub samples: Vec<Sample>,
    /// What was left out while reading (empty recordings, samples on a missing-skeleton list), one line each.
    pub skipped: Vec<String>,
}

impl Dataset {
    /// Each sample's row, by its id (feature files and predictions name samples by id).
    pub fn rows_by_id(&self) -> std::collections::HashMap<&str, usize> {
        self.samples
            .iter()
            .enumerate()
            .map(|(i, s)| (s.meta.id.as_str(), i))
            .collect()
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Number of samples of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for s in &self.samples {
            if let Some(c) = counts.get_mut(s.meta.label) {
                *c += 1;
            }
        }
        counts
    }
}

/// The subject a sample id names: `_sNN_` in the synthetic set's ids (`synth_a01_s03_e01`), `PNNN` in NTU's
/// (`S001C001P003R001A001`); `None` for ids that name none.
pub fn subject_from_id(id: &str) -> Option<u32> {
    let digits = |rest: &str| -> Option<u32> {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    if let Some(rest) = id.strip_prefix("synth_") {
        return rest
            .split('_')
            .find_map(|part| part.strip_prefix('s').and_then(digits));
    }
    let p = id.find('P')?;
    let rest = &id[p + 1..];
    (rest.len() >= 3 && rest[..3].bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits(&rest[..3]))
        .flatten()
}

#[cfg(test)]
mod subject_tests {
    use super::subject_from_id;

    #[test]
    fn subjects_are_read_from_synthetic_and_ntu_ids() {
        assert_eq!(subject_from_id("synth_a01_s03_e01"), Some(3));
        assert_eq!(subject_from_id("synth_a24_s12_e02"), Some(12));
        assert_eq!(subject_from_id("S001C001P003R001A001"), Some(3));
        assert_eq!(subject_from_id("a01_s01_e01_skeleton"), None);
        assert_eq!(subject_from_id("synth_a01"), None);
    }
}
