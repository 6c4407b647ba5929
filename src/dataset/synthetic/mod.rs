//! Procedural, labelled NTU25 actions for tests and the built-in demo: the classes, the demo split, the class
//! texts and the dataset; [`motion`] generates the sequences.
//!
//! Each action is a function from normalised time to joint angles; forward kinematics from a rest pose turns the
//! angles into joint positions, so bones keep their lengths and the motion looks right in a 3D player. Subjects
//! differ in bone lengths, tempo, amplitude, position and facing; samples add sensor-like jitter. Everything is
//! drawn from `StdRng`s seeded from `(seed, subject)` and `(seed, class, sample)`, so a dataset is reproducible and
//! each sample independent of how many others are generated.
//!
//! Coordinates follow Kinect: metres, y up, the person faces the camera (toward -z), their right side at +x; the
//! floor is at y = 0.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::texts::ClassTexts;
use super::{Dataset, DatasetKind, Sample, SampleMeta};
use crate::formats::ReadError;

mod motion;
pub mod ntu_like;
mod texts;

pub use motion::generate_sequence;
pub use texts::{class_name, composed_tsvs};

/// What the arms do in a [`Action::Combo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArmMotion {
    Still,
    /// The right hand waves above the head.
    Wave,
    /// The right fist punches forward from a guard.
    Punch,
    /// Both straight arms rise overhead.
    Raise,
    /// Both hands clap in front of the chest.
    Clap,
}

/// What the legs do in a [`Action::Combo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LegMotion {
    Still,
    /// The left leg kicks forward.
    Kick,
    /// The right knee rises to hip height.
    Knee,
    /// Both knees bend into a squat.
    Squat,
    /// The left leg steps out sideways.
    Step,
}

/// The synthetic action classes. Most are an arm motion and a leg motion performed together (either may be
/// still, not both), so a class left unseen is a new combination of an arm motion and a leg motion that both occur
/// in seen classes; two are two-person interactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    Combo(ArmMotion, LegMotion),
    ShakeHands,
    Push,
}

const ARMS: [ArmMotion; 5] = [
    ArmMotion::Still,
    ArmMotion::Wave,
    ArmMotion::Punch,
    ArmMotion::Raise,
    ArmMotion::Clap,
];
const LEGS: [LegMotion; 5] = [
    LegMotion::Still,
    LegMotion::Kick,
    LegMotion::Knee,
    LegMotion::Squat,
    LegMotion::Step,
];

const fn combo_at(i: usize) -> Action {
    // Arm-major over the 5 x 5 grid, skipping (still, still).
    let k = i + 1;
    Action::Combo(ARMS[k / 5], LEGS[k % 5])
}

impl Action {
    /// Every class in label order: the 24 arm x leg combinations (arm-major), then the two interactions.
    pub const ALL: [Action; 26] = {
        let mut all = [Action::ShakeHands; 26];
        let mut i = 0;
        while i < 24 {
            all[i] = combo_at(i);
            i += 1;
        }
        all[25] = Action::Push;
        all
    };

    pub fn label(self) -> usize {
        Self::ALL.iter().position(|&a| a == self).unwrap_or(0)
    }

    /// Whether a second person takes part (the two-person interactions).
    pub fn two_person(self) -> bool {
        matches!(self, Self::ShakeHands | Self::Push)
    }

    /// Frames of one performance at tempo 1 (30 fps).
    fn base_frames(self) -> f32 {
        match self {
            Self::Push => 80.0,
            _ => 70.0,
        }
    }
}

/// Name of the demo's seen/unseen split.
pub const DEMO_SPLIT_NAME: &str = "synth-demo";

/// The demo's unseen classes: six arm x leg combinations whose arm motion and leg motion each occur in at least
/// three seen classes (alone and with other partners), so recognising them means composing seen part-motions. No
/// two share both parts with a seen class, and every arm and leg motion stays seen alone.
pub const DEMO_UNSEEN: [Action; 6] = [
    Action::Combo(ArmMotion::Wave, LegMotion::Kick),
    Action::Combo(ArmMotion::Wave, LegMotion::Squat),
    Action::Combo(ArmMotion::Punch, LegMotion::Squat),
    Action::Combo(ArmMotion::Punch, LegMotion::Step),
    Action::Combo(ArmMotion::Raise, LegMotion::Step),
    Action::Combo(ArmMotion::Clap, LegMotion::Knee),
];

/// The demo's class split (0-based, ascending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSplit {
    pub name: String,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
}

pub fn demo_split() -> DemoSplit {
    let mut unseen: Vec<usize> = DEMO_UNSEEN.iter().map(|a| a.label()).collect();
    unseen.sort_unstable();
    let seen = (0..Action::ALL.len())
        .filter(|c| !unseen.contains(c))
        .collect();
    DemoSplit {
        name: DEMO_SPLIT_NAME.into(),
        seen,
        unseen,
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthConfig {
    pub seed: u64,
    /// Samples per class; sample `k` of a class is performed by subject `1 + k % subjects`.
    pub per_class: usize,
    pub subjects: u32,
    /// Standard deviation of the per-joint jitter, metres.
    pub noise: f32,
    /// Add a second, idle person beside the actor (the two-person interactions always have their partner).
    pub second_person: bool,
    /// Only these classes (all when empty).
    pub classes: Vec<Action>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            per_class: 20,
            subjects: 10,
            noise: 0.004,
            second_person: false,
            classes: Vec::new(),
        }
    }
}

/// A labelled synthetic dataset (kind [`DatasetKind::Synthetic`]).
pub fn generate_dataset(cfg: &SynthConfig) -> Dataset {
    let actions: Vec<Action> = if cfg.classes.is_empty() {
        Action::ALL.to_vec()
    } else {
        cfg.classes.clone()
    };
    let texts = synthetic_texts();
    let subjects = cfg.subjects.max(1);
    let mut samples = Vec::with_capacity(actions.len() * cfg.per_class);
    for (label, &action) in actions.iter().enumerate() {
        for k in 0..cfg.per_class {
            let subject = 1 + (k as u32) % subjects;
            let rep = k as u32 / subjects + 1;
            let seq = generate_sequence(action, subject, k as u64, cfg);
            let id = format!("synth_a{:02}_s{subject:02}_e{rep:02}", action.label() + 1);
            samples.push(Sample {
                meta: SampleMeta {
                    id: id.clone(),
                    label,
                    subject: Some(subject),
                    camera: None,
                    setup: None,
                    repetition: Some(rep),
                    video: id,
                    source: PathBuf::from("synthetic"),
                    frames: Some((0, seq.frames())),
                },
                seq,
            });
        }
    }
    Dataset {
        kind: DatasetKind::Synthetic,
        root: PathBuf::from("synthetic"),
        classes: actions
            .iter()
            .map(|a| texts.names.get(a.label()).cloned().unwrap_or_default())
            .collect(),
        samples,
        skipped: Vec::new(),
    }
}

const CLASSES_TSV: &str = include_str!("../../../assets/synthetic/classes.tsv");
const SENTENCE_TSV: &str = include_str!("../../../assets/synthetic/sentence.tsv");
const PARTS_TSV: &str = include_str!("../../../assets/synthetic/parts.tsv");
const PHRASES_TSV: &str = include_str!("../../../assets/synthetic/phrases.tsv");

/// Names, sentences, part descriptions and phrases of the synthetic classes (written for this project), in
/// [`Action::ALL`] order.
pub fn synthetic_texts() -> ClassTexts {
    match try_synthetic_texts() {
        Ok(texts) => texts,
        // The files are compiled in and checked by a test; this only fires on a broken build.
        Err(e) => unreachable!("assets/synthetic texts: {e}"),
    }
}

fn try_synthetic_texts() -> Result<ClassTexts, ReadError> {
    ClassTexts::from_tsv_strs(
        Path::new("assets/synthetic"),
        CLASSES_TSV,
        Some(SENTENCE_TSV),
        Some(PARTS_TSV),
        Some(PHRASES_TSV),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_cover_every_action() {
        let texts = try_synthetic_texts().unwrap();
        assert_eq!(texts.names.len(), Action::ALL.len());
        assert!(texts.phrases.as_ref().unwrap().iter().all(|p| p.len() >= 8));
        assert_eq!(texts.names[0], "kick with left leg");
        assert_eq!(texts.names[5], "wave right hand and kick with left leg");
    }

    #[test]
    fn generation_is_reproducible_and_seed_dependent() {
        let cfg = SynthConfig {
            per_class: 3,
            second_person: true,
            ..Default::default()
        };
        let a = generate_dataset(&cfg);
        let b = generate_dataset(&cfg);
        assert_eq!(a.samples.len(), Action::ALL.len() * 3);
        for (x, y) in a.samples.iter().zip(&b.samples) {
            assert_eq!(x.seq, y.seq);
            assert_eq!(x.meta, y.meta);
        }
        assert_eq!(a.samples[0].seq.bodies(), 2);
        assert!(a.samples[0].seq.body_present(0, 1));
        let c = generate_dataset(&SynthConfig { seed: 7, ..cfg });
        assert_ne!(a.samples[0].seq, c.samples[0].seq);
        // Sample k of a class is by subject 1 + k % subjects.
        assert_eq!(a.samples[2].meta.subject, Some(3));
    }

    #[test]
    fn demo_split_is_consistent() {
        let d = demo_split();
        assert_eq!(d.unseen, [5, 7, 12, 13, 18, 21]);
        assert_eq!(d.seen.len() + d.unseen.len(), Action::ALL.len());
    }

    /// The committed TSVs are the composition of the part-motion texts (`UPDATE_SYNTH_TEXTS=1` rewrites them).
    #[test]
    fn tsvs_match_the_composition() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/synthetic");
        for (file, want) in composed_tsvs() {
            let path = dir.join(file);
            if std::env::var_os("UPDATE_SYNTH_TEXTS").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            let got = std::fs::read_to_string(&path).unwrap();
            assert!(
                got == want,
                "{} differs from the composed texts",
                path.display()
            );
        }
    }

    /// Every unseen class's arm motion and leg motion each occur in at least three seen classes, one of them alone.
    #[test]
    fn unseen_classes_are_new_combinations_of_seen_part_motions() {
        let d = demo_split();
        let seen: Vec<Action> = d.seen.iter().map(|&c| Action::ALL[c]).collect();
        for &u in &DEMO_UNSEEN {
            let Action::Combo(arm, leg) = u else {
                panic!("{u:?} is not a combination")
            };
            assert!(arm != ArmMotion::Still && leg != LegMotion::Still, "{u:?}");
            let with_arm = seen
                .iter()
                .filter(|a| matches!(a, Action::Combo(x, _) if *x == arm));
            let with_leg = seen
                .iter()
                .filter(|a| matches!(a, Action::Combo(_, y) if *y == leg));
            assert!(with_arm.clone().count() >= 3, "{u:?}");
            assert!(with_leg.clone().count() >= 3, "{u:?}");
            assert!(seen.contains(&Action::Combo(arm, LegMotion::Still)));
            assert!(seen.contains(&Action::Combo(ArmMotion::Still, leg)));
        }
        // The same part-motion has the same part texts in every class.
        let texts = synthetic_texts();
        let parts = texts.parts.as_ref().unwrap();
        let kick = |c: usize| matches!(Action::ALL[c], Action::Combo(_, LegMotion::Kick));
        let kicks: Vec<usize> = (0..Action::ALL.len()).filter(|&c| kick(c)).collect();
        assert_eq!(kicks.len(), 5);
        assert!(kicks.iter().all(|&c| parts[c][3..] == parts[kicks[0]][3..]));
    }
}
