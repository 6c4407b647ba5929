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

pub use motion::generate_sequence;

/// The synthetic action classes, in label order. Most are one body part (right or left arm, right or left leg, head,
/// torso) doing one motion (wave, punch, raise, circle, kick, raise the knee, step aside, nod, shake, bend, twist), so
/// a class left unseen is a new combination of a part and a motion both seen in other classes; a few use the whole
/// body, and two are two-person interactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    WaveRightHand,
    WaveLeftHand,
    PunchRight,
    PunchLeft,
    RaiseRightArm,
    RaiseLeftArm,
    CircleRightArm,
    CircleLeftArm,
    KickRightLeg,
    KickLeftLeg,
    RaiseRightKnee,
    RaiseLeftKnee,
    StepRight,
    StepLeft,
    NodHead,
    ShakeHead,
    Bow,
    TwistTorso,
    RaiseBothArms,
    ClapHands,
    Squat,
    Jump,
    ShakeHands,
    Push,
}

impl Action {
    pub const ALL: [Action; 24] = [
        Self::WaveRightHand,
        Self::WaveLeftHand,
        Self::PunchRight,
        Self::PunchLeft,
        Self::RaiseRightArm,
        Self::RaiseLeftArm,
        Self::CircleRightArm,
        Self::CircleLeftArm,
        Self::KickRightLeg,
        Self::KickLeftLeg,
        Self::RaiseRightKnee,
        Self::RaiseLeftKnee,
        Self::StepRight,
        Self::StepLeft,
        Self::NodHead,
        Self::ShakeHead,
        Self::Bow,
        Self::TwistTorso,
        Self::RaiseBothArms,
        Self::ClapHands,
        Self::Squat,
        Self::Jump,
        Self::ShakeHands,
        Self::Push,
    ];

    pub fn label(self) -> usize {
        self as usize
    }

    /// Whether a second person takes part (the two-person interactions).
    pub fn two_person(self) -> bool {
        matches!(self, Self::ShakeHands | Self::Push)
    }

    /// Frames of one performance at tempo 1 (30 fps).
    fn base_frames(self) -> f32 {
        match self {
            Self::NodHead
            | Self::ShakeHead
            | Self::ClapHands
            | Self::PunchRight
            | Self::PunchLeft => 60.0,
            Self::Bow | Self::Squat | Self::StepRight | Self::StepLeft | Self::Push => 80.0,
            _ => 70.0,
        }
    }
}

/// Name of the demo's seen/unseen split.
pub const DEMO_SPLIT_NAME: &str = "synth-demo";

/// The demo's unseen classes, each a new combination of a body part and a motion that are both seen: the left hand
/// waves (the right hand waves, the left arm punches, raises and circles), the right arm circles (the left arm
/// circles, the right one waves, punches and raises), the left leg kicks (the right leg kicks, the left knee rises,
/// the left leg steps aside), the head shakes (the head nods, the torso twists left and right).
pub const DEMO_UNSEEN: [Action; 4] = [
    Action::WaveLeftHand,
    Action::CircleRightArm,
    Action::KickLeftLeg,
    Action::ShakeHead,
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
            per_class: 16,
            subjects: 8,
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
        assert_eq!(texts.names[0], "wave right hand");
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
        assert_eq!(d.unseen, [1, 6, 9, 15]);
        assert_eq!(d.seen.len() + d.unseen.len(), Action::ALL.len());
    }
}
