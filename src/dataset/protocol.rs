//! Zero-shot protocols: which classes are seen or unseen, and which samples train and test.
//!
//! A [`Partition`] comes from a [`SplitArgs`] (`--split NAME | --unseen LIST | --split-file PATH`, resolved in
//! [`super::split_args`]) and a [`Dataset`]. Named protocols:
//!
//! - MSR Action3D 15/5, `msr1` / `msr2` / `msr3` (unseen 1-based {2,7,12,15,19}, {3,8,10,14,17}, {1,6,11,13,20}):
//!   training = seen classes of subjects 1,3,5,7,9; ZSL test = unseen classes of subjects 2,4,6,8,10; GZSL test adds
//!   the seen classes of subjects 2,4,6,8,10.
//! - PKU-MMD interaction subset 6/2 over 1-based classes {12,14,16,18,21,24,26,27}, `pku-inter1` / `-2` / `-3`
//!   (unseen {12,24}, {16,26}, {14,27}): training = seen classes of the official cross-subject training videos;
//!   ZSL test = every instance of the unseen classes; GZSL test adds seen-class instances of the cross-subject
//!   validation videos. The other 43 classes are left out. The video lists come in [`ProtocolInputs`].
//! - Every published split of [`super::splits`] (NTU60/NTU120/PKU-MMD). Here training = seen-class samples of the
//!   cross-subject training side (NTU: the standard training subjects; PKU-MMD: the cross-subject training videos
//!   when given, else every seen sample), ZSL test = every unseen-class sample, GZSL test adds the seen-class samples
//!   of the other side. The papers differ slightly: SynSE and PURLS train on seen-class features and test on all
//!   unseen-class samples, as here; SMIE and InfoCPL (`split.py`) cut both from the cross-subject arrays, so their
//!   ZSL test holds only the unseen samples of the cross-subject *test* side.
//! - `synth-demo`: the built-in synthetic demo (see [`super::synthetic`]).
//!
//! Custom splits: `--unseen 3,7,9` (1-based class ids) or `--split-file` (see [`SplitFile`]). They use the
//! dataset's default sample sides: MSR odd/even subjects (with the MSR ZSL scope), NTU cross-subject subjects,
//! PKU-MMD cross-subject videos, synthetic and UTKinect odd/even subjects, anything else every sample for training.

use std::collections::{BTreeSet, HashSet};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

pub use super::split_args::{SplitArgs, SplitFile};
use super::splits::{normalize_split_name, published_split, published_splits};
use super::{Dataset, DatasetKind};
use crate::formats::ReadError;

/// NTU RGB+D 60 cross-subject training subjects (Shahroudy et al. 2016).
pub const NTU60_XSUB_TRAIN: &[u32] = &[
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38,
];

/// NTU RGB+D 120 cross-subject training subjects (Liu et al. 2019).
pub const NTU120_XSUB_TRAIN: &[u32] = &[
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45, 46, 47, 49, 50,
    52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95,
    97, 98, 100, 103,
];

/// MSR Action3D training subjects of the 15/5 protocol (the others test).
pub const MSR_TRAIN_SUBJECTS: &[u32] = &[1, 3, 5, 7, 9];

/// The named MSR Action3D 15/5 splits: name and 1-based unseen classes.
pub const MSR_SPLITS: [(&str, [usize; 5]); 3] = [
    ("msr1", [2, 7, 12, 15, 19]),
    ("msr2", [3, 8, 10, 14, 17]),
    ("msr3", [1, 6, 11, 13, 20]),
];

/// The 1-based PKU-MMD interaction classes of the 6/2 protocol.
pub const PKU_INTERACTION_CLASSES: [usize; 8] = [12, 14, 16, 18, 21, 24, 26, 27];

/// The named PKU-MMD interaction 6/2 splits: name and 1-based unseen classes.
pub const PKU_INTERACTION_SPLITS: [(&str, [usize; 2]); 3] = [
    ("pku-inter1", [12, 24]),
    ("pku-inter2", [16, 26]),
    ("pku-inter3", [14, 27]),
];

/// PKU-MMD's official cross-subject video lists (ids such as `0002-L`, matching [`super::SampleMeta::video`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PkuVideoSplit {
    pub train: HashSet<String>,
    pub test: HashSet<String>,
}

/// Data some protocols need beyond the dataset itself.
#[derive(Clone, Debug, Default)]
pub struct ProtocolInputs {
    /// PKU-MMD cross-subject training / validation videos.
    pub pku_cross_subject: Option<PkuVideoSplit>,
}

impl ProtocolInputs {
    /// What `dataset`'s protocols need from beside its files: for PKU-MMD, the official `cross-subject.txt` in the
    /// dataset root (or the folder above a `skeleton/` folder). Absent lists are not an error here; the protocols
    /// that need them say so.
    pub fn for_dataset(dataset: &Dataset) -> Result<Self, ReadError> {
        if dataset.kind != DatasetKind::Pku {
            return Ok(Self::default());
        }
        let candidates = [Some(dataset.root.as_path()), dataset.root.parent()];
        let Some(path) = candidates
            .into_iter()
            .flatten()
            .map(|dir| dir.join("cross-subject.txt"))
            .find(|p| p.is_file())
        else {
            return Ok(Self::default());
        };
        let lists = crate::formats::pku_mmd::read_split_lists(&path)?;
        Ok(Self {
            pku_cross_subject: Some(PkuVideoSplit {
                train: lists.train.into_iter().collect(),
                test: lists.validation.into_iter().collect(),
            }),
        })
    }
}

/// Seen and unseen classes (0-based, ascending) and the samples (indices into [`Dataset::samples`], ascending) of
/// each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub name: String,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
    pub train: Vec<usize>,
    pub zsl_test: Vec<usize>,
    /// The ZSL test samples plus held-out samples of the seen classes.
    pub gzsl_test: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("unknown split `{0}` (`skelzero splits` lists the named splits and protocols)")]
    Unknown(String),
    #[error("split `{split}` is defined on {expected} classes, but the dataset has {got}")]
    ClassCount {
        split: String,
        expected: usize,
        got: usize,
    },
    #[error("split `{split}` is for {expected:?} data, but the dataset is {got:?}")]
    WrongDataset {
        split: String,
        expected: DatasetKind,
        got: DatasetKind,
    },
    #[error(
        "class id {id} is out of range: the dataset has classes 1..={num_classes} (ids are 1-based)"
    )]
    ClassOutOfRange { id: usize, num_classes: usize },
    #[error("class {0} is listed as both seen and unseen")]
    SeenAndUnseen(usize),
    #[error("class {0} is listed twice")]
    DuplicateClass(usize),
    /// A class error in a command-line option (`--unseen`).
    #[error("{flag}: {error}")]
    Flag {
        flag: &'static str,
        error: Box<SplitError>,
    },
    #[error("a split needs at least one seen and one unseen class")]
    Degenerate,
    #[error("sample `{0}` has no subject id, which this protocol needs")]
    MissingSubject(String),
    #[error("protocol `{0}` needs the PKU-MMD cross-subject video lists (cross-subject.txt)")]
    MissingVideoLists(String),
    #[error(
        "no split chosen and none is the default for {0:?} data: give --split, --unseen or --split-file"
    )]
    NoDefault(DatasetKind),
    #[error(transparent)]
    File(#[from] ReadError),
}

/// Which samples are on the training side and which on the test side.
#[derive(Clone, Debug)]
enum Sides {
    /// Every sample trains; no seen-class test samples.
    AllTrain,
    /// Subjects in `train` train; the others test.
    Subjects { train: HashSet<u32> },
    /// Odd subjects train, even subjects test.
    OddSubjects,
    /// Videos in `train` train, videos in `test` test, the others neither.
    Videos(PkuVideoSplit),
}

/// Whether the ZSL test takes every unseen-class sample or only those of the test side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ZslScope {
    All,
    TestSide,
}

/// A protocol before it meets a dataset: classes (0-based), sample sides and ZSL scope.
#[derive(Clone, Debug)]
pub(super) struct Protocol {
    name: String,
    seen: Vec<usize>,
    unseen: Vec<usize>,
    sides: Sides,
    zsl: ZslScope,
}

impl Protocol {
    pub(super) fn partition(&self, dataset: &Dataset) -> Result<Partition, SplitError> {
        let seen: HashSet<usize> = self.seen.iter().copied().collect();
        let unseen: HashSet<usize> = self.unseen.iter().copied().collect();
        let (mut train, mut zsl_test, mut seen_test) = (Vec::new(), Vec::new(), Vec::new());
        for (i, s) in dataset.samples.iter().enumerate() {
            let (is_train, is_test) = match &self.sides {
                Sides::AllTrain => (true, false),
                Sides::Subjects { train } => {
                    let subject = s
                        .meta
                        .subject
                        .ok_or_else(|| SplitError::MissingSubject(s.meta.id.clone()))?;
                    let t = train.contains(&subject);
                    (t, !t)
                }
                Sides::OddSubjects => {
                    let subject = s
                        .meta
                        .subject
                        .ok_or_else(|| SplitError::MissingSubject(s.meta.id.clone()))?;
                    (subject % 2 == 1, subject % 2 == 0)
                }
                Sides::Videos(v) => (
                    v.train.contains(&s.meta.video),
                    v.test.contains(&s.meta.video),
                ),
            };
            let label = s.meta.label;
            if seen.contains(&label) {
                if is_train {
                    train.push(i);
                } else if is_test {
                    seen_test.push(i);
                }
            } else if unseen.contains(&label) && (self.zsl == ZslScope::All || is_test) {
                zsl_test.push(i);
            }
        }
        let mut gzsl_test: Vec<usize> = zsl_test.iter().chain(&seen_test).copied().collect();
        gzsl_test.sort_unstable();
        Ok(Partition {
            name: self.name.clone(),
            seen: self.seen.clone(),
            unseen: self.unseen.clone(),
            train,
            zsl_test,
            gzsl_test,
        })
    }
}

fn zero_based(ids_1based: &[usize], num_classes: usize) -> Result<Vec<usize>, SplitError> {
    let mut out = Vec::with_capacity(ids_1based.len());
    for &id in ids_1based {
        if id == 0 || id > num_classes {
            return Err(SplitError::ClassOutOfRange { id, num_classes });
        }
        out.push(id - 1);
    }
    out.sort_unstable();
    if let Some(w) = out.windows(2).find(|w| w[0] == w[1]) {
        return Err(SplitError::DuplicateClass(w[0] + 1));
    }
    Ok(out)
}

fn complement(classes: &[usize], num_classes: usize) -> Vec<usize> {
    (0..num_classes).filter(|c| !classes.contains(c)).collect()
}

/// The training side and ZSL scope a custom split uses on a dataset of this kind.
fn default_sides(kind: DatasetKind, inputs: &ProtocolInputs) -> (Sides, ZslScope) {
    let subjects = |list: &[u32]| Sides::Subjects {
        train: list.iter().copied().collect(),
    };
    match kind {
        DatasetKind::Msr => (subjects(MSR_TRAIN_SUBJECTS), ZslScope::TestSide),
        DatasetKind::Ntu60 => (subjects(NTU60_XSUB_TRAIN), ZslScope::All),
        DatasetKind::Ntu120 => (subjects(NTU120_XSUB_TRAIN), ZslScope::All),
        DatasetKind::Pku => match &inputs.pku_cross_subject {
            Some(v) => (Sides::Videos(v.clone()), ZslScope::All),
            None => (Sides::AllTrain, ZslScope::All),
        },
        DatasetKind::Synthetic | DatasetKind::Utkinect => (Sides::OddSubjects, ZslScope::All),
        DatasetKind::Custom => (Sides::AllTrain, ZslScope::All),
    }
}

/// A named split or protocol as listed by `skelzero splits`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedSplit {
    pub name: String,
    pub kind: DatasetKind,
    pub num_classes: usize,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
    /// One line on where the split comes from and how samples are chosen.
    pub description: String,
}

/// Every named split: the MSR and PKU-MMD protocols, the synthetic demo, then the published splits.
pub fn named_splits() -> Vec<NamedSplit> {
    let mut out = Vec::new();
    for (name, unseen) in MSR_SPLITS {
        let unseen: Vec<usize> = unseen.iter().map(|c| c - 1).collect();
        out.push(NamedSplit {
            name: name.into(),
            kind: DatasetKind::Msr,
            num_classes: 20,
            seen: complement(&unseen, 20),
            unseen,
            description: "MSR Action3D 15/5: train subjects 1,3,5,7,9; test subjects 2,4,6,8,10"
                .into(),
        });
    }
    for (name, unseen) in PKU_INTERACTION_SPLITS {
        let unseen: Vec<usize> = unseen.iter().map(|c| c - 1).collect();
        let seen = PKU_INTERACTION_CLASSES
            .iter()
            .map(|c| c - 1)
            .filter(|c| !unseen.contains(c))
            .collect();
        out.push(NamedSplit {
            name: name.into(),
            kind: DatasetKind::Pku,
            num_classes: 51,
            seen,
            unseen,
            description:
                "PKU-MMD interactions 6/2: train cross-subject training videos; ZSL test all unseen instances".into(),
        });
    }
    let demo = super::synthetic::demo_split();
    out.push(NamedSplit {
        name: demo.name.clone(),
        kind: DatasetKind::Synthetic,
        num_classes: demo.seen.len() + demo.unseen.len(),
        seen: demo.seen.clone(),
        unseen: demo.unseen.clone(),
        description: "built-in synthetic demo: train odd subjects, test even subjects".into(),
    });
    for s in published_splits() {
        let note = if s.record.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.record.note)
        };
        out.push(NamedSplit {
            name: s.name.clone(),
            kind: s.kind,
            num_classes: s.num_classes,
            seen: s.seen.clone(),
            unseen: s.unseen.clone(),
            description: format!(
                "{} {} {}{note}",
                s.record.protocol, s.record.dataset, s.record.split
            ),
        });
    }
    out
}

fn check_classes(name: &str, expected: usize, dataset: &Dataset) -> Result<(), SplitError> {
    if dataset.num_classes() != expected {
        return Err(SplitError::ClassCount {
            split: name.into(),
            expected,
            got: dataset.num_classes(),
        });
    }
    Ok(())
}

fn check_kind(name: &str, expected: DatasetKind, dataset: &Dataset) -> Result<(), SplitError> {
    // A user's own arrays (Custom) may hold any dataset; the class count check catches real mismatches.
    if dataset.kind != expected && dataset.kind != DatasetKind::Custom {
        return Err(SplitError::WrongDataset {
            split: name.into(),
            expected,
            got: dataset.kind,
        });
    }
    Ok(())
}

pub(super) fn named_protocol(
    name: &str,
    dataset: &Dataset,
    inputs: &ProtocolInputs,
) -> Result<Protocol, SplitError> {
    let wanted = normalize_split_name(name);
    if let Some((name, unseen)) = MSR_SPLITS.iter().find(|(n, _)| *n == wanted) {
        check_kind(name, DatasetKind::Msr, dataset)?;
        check_classes(name, 20, dataset)?;
        let unseen = zero_based(unseen, 20)?;
        return Ok(Protocol {
            name: (*name).into(),
            seen: complement(&unseen, 20),
            unseen,
            sides: Sides::Subjects {
                train: MSR_TRAIN_SUBJECTS.iter().copied().collect(),
            },
            zsl: ZslScope::TestSide,
        });
    }
    if let Some((name, unseen)) = PKU_INTERACTION_SPLITS.iter().find(|(n, _)| *n == wanted) {
        check_kind(name, DatasetKind::Pku, dataset)?;
        check_classes(name, 51, dataset)?;
        let videos = inputs
            .pku_cross_subject
            .clone()
            .ok_or_else(|| SplitError::MissingVideoLists((*name).into()))?;
        let unseen = zero_based(unseen, 51)?;
        let seen = zero_based(&PKU_INTERACTION_CLASSES, 51)?
            .into_iter()
            .filter(|c| !unseen.contains(c))
            .collect();
        return Ok(Protocol {
            name: (*name).into(),
            seen,
            unseen,
            sides: Sides::Videos(videos),
            zsl: ZslScope::All,
        });
    }
    let demo = super::synthetic::demo_split();
    if normalize_split_name(&demo.name) == wanted {
        check_kind(&demo.name, DatasetKind::Synthetic, dataset)?;
        check_classes(&demo.name, demo.seen.len() + demo.unseen.len(), dataset)?;
        let (sides, zsl) = default_sides(DatasetKind::Synthetic, inputs);
        return Ok(Protocol {
            name: demo.name,
            seen: demo.seen,
            unseen: demo.unseen,
            sides,
            zsl,
        });
    }
    let split = published_split(name).ok_or_else(|| SplitError::Unknown(name.into()))?;
    check_kind(&split.name, split.kind, dataset)?;
    check_classes(&split.name, split.num_classes, dataset)?;
    let (sides, zsl) = default_sides(split.kind, inputs);
    Ok(Protocol {
        name: split.name.clone(),
        seen: split.seen.clone(),
        unseen: split.unseen.clone(),
        sides,
        zsl,
    })
}

/// A custom split's protocol: classes resolved by [`custom_classes`], sides from `train_subjects` or the dataset's
/// usual ones.
pub(super) fn custom_protocol(
    name: String,
    (seen, unseen): (Vec<usize>, Vec<usize>),
    train_subjects: Option<&[u32]>,
    dataset: &Dataset,
    inputs: &ProtocolInputs,
) -> Protocol {
    let (sides, zsl) = match train_subjects {
        Some(list) => (
            Sides::Subjects {
                train: list.iter().copied().collect(),
            },
            ZslScope::All,
        ),
        None => default_sides(dataset.kind, inputs),
    };
    Protocol {
        name,
        seen,
        unseen,
        sides,
        zsl,
    }
}

/// Which list of a custom split an error is about: `unseen` or `seen`.
pub type SplitField = &'static str;

/// Seen and unseen classes (0-based, ascending) of a custom split over `num_classes` classes from 1-based ids:
/// `seen` defaults to every class not unseen. An error names the list it is about.
pub fn custom_classes(
    unseen_1based: &[usize],
    seen_1based: Option<&[usize]>,
    num_classes: usize,
) -> Result<(Vec<usize>, Vec<usize>), (SplitField, SplitError)> {
    let unseen = zero_based(unseen_1based, num_classes).map_err(|e| ("unseen", e))?;
    let seen = match seen_1based {
        Some(s) => zero_based(s, num_classes).map_err(|e| ("seen", e))?,
        None => complement(&unseen, num_classes),
    };
    if let Some(&c) = seen.iter().find(|c| unseen.contains(c)) {
        return Err(("seen", SplitError::SeenAndUnseen(c + 1)));
    }
    if unseen.is_empty() {
        return Err(("unseen", SplitError::Degenerate));
    }
    if seen.is_empty() {
        let field = if seen_1based.is_some() {
            "seen"
        } else {
            "unseen"
        };
        return Err((field, SplitError::Degenerate));
    }
    Ok((seen, unseen))
}

/// The split used when a command gets no split option.
pub fn default_split_name(kind: DatasetKind) -> Option<&'static str> {
    match kind {
        DatasetKind::Msr => Some("msr1"),
        DatasetKind::Pku => Some("pku-inter1"),
        DatasetKind::Ntu60 => Some("synse-ntu60-55-5"),
        DatasetKind::Ntu120 => Some("synse-ntu120-110-10"),
        DatasetKind::Synthetic => Some(super::synthetic::DEMO_SPLIT_NAME),
        DatasetKind::Utkinect | DatasetKind::Custom => None,
    }
}

impl Partition {
    /// A validation split for model selection: `n_pseudo_unseen` of the seen classes (drawn with `seed`) act as
    /// unseen. Training keeps the other seen classes' training samples except every fifth per class, which joins the
    /// pseudo-unseen training samples in the GZSL test; the ZSL test is the pseudo-unseen training samples. No test
    /// sample of the real split is used.
    pub fn validation(
        &self,
        dataset: &Dataset,
        n_pseudo_unseen: usize,
        seed: u64,
    ) -> Result<Partition, SplitError> {
        if n_pseudo_unseen == 0 || n_pseudo_unseen >= self.seen.len() {
            return Err(SplitError::Degenerate);
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut shuffled = self.seen.clone();
        shuffled.shuffle(&mut rng);
        let pseudo: BTreeSet<usize> = shuffled[..n_pseudo_unseen].iter().copied().collect();
        let seen: Vec<usize> = self
            .seen
            .iter()
            .copied()
            .filter(|c| !pseudo.contains(c))
            .collect();
        let mut per_class_count = vec![0usize; dataset.num_classes()];
        let (mut train, mut zsl_test, mut held_out) = (Vec::new(), Vec::new(), Vec::new());
        for &i in &self.train {
            let Some(sample) = dataset.samples.get(i) else {
                continue;
            };
            let label = sample.meta.label;
            if pseudo.contains(&label) {
                zsl_test.push(i);
            } else if let Some(count) = per_class_count.get_mut(label) {
                *count += 1;
                if *count % 5 == 0 {
                    held_out.push(i);
                } else {
                    train.push(i);
                }
            }
        }
        let mut gzsl_test: Vec<usize> = zsl_test.iter().chain(&held_out).copied().collect();
        gzsl_test.sort_unstable();
        Ok(Partition {
            name: format!("{}-val{n_pseudo_unseen}-seed{seed}", self.name),
            seen,
            unseen: pseudo.into_iter().collect(),
            train,
            zsl_test,
            gzsl_test,
        })
    }
}
