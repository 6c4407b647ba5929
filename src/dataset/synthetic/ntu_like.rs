//! NTU-sized synthetic data for scale tests: sample names, body counts and frame lengths shaped like NTU RGB+D 60
//! or 120, motions from the synthetic action generator ([`generate_sequence`]).
//!
//! - **Classes**: 60 or 120. NTU has more classes than the generator has actions, so class `c` (0-based) is
//!   action `ALL[c % n]` followed by action `ALL[(c / n + c) % n]` (`n` actions): a distinct ordered pair for every
//!   class up to `n * n`, the same action twice for the first `n` classes.
//! - **Bodies**: two for NTU's mutual actions (A050-A060, A106-A120), turned 60 degrees toward each other, the
//!   partner performing the pair in the other order; one otherwise.
//! - **Names**: `SsssCcccPpppRrrrAaaa` within NTU's ranges (setups 1-17 / 1-32, cameras 1-3, subjects 1-40 / 1-106,
//!   replications 1-2). The action varies fastest, then the (setup, subject) pair, then camera and replication, so
//!   any prefix is class-balanced and spans many subjects. Names on the official missing-skeleton list are
//!   skipped, so the loader keeps every file written.
//! - **Frame lengths**: log-normal, `exp(N(4.585, 0.38))`, clamped to 32..=300 frames: the log-mean and spread of
//!   the five real NTU samples in `shared/data/ntu-rgbd-samples` (54, 99, 103, 104 and 158 frames; geometric mean
//!   98) and the 300-frame cap of the NTU pipelines (CTR-GCN's `max_frame`). The published per-sequence lengths of
//!   the full set were not available here; this is an estimate from five files, stated as such.
//! - **Camera**: Kinect v2 coordinates (y up, z away from the camera, the subject about 3.2 m away); camera 1, 2, 3
//!   see the subject turned by -45, 0 and 45 degrees, as NTU's three cameras do.
//!
//! A sample's content depends only on `(seed, name)`, never on how many others are generated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use serde::{Deserialize, Serialize};

use super::{Action, SynthConfig, generate_sequence};
use crate::dataset::load::ntu_missing_skeletons;
use crate::formats::ntu_skeleton::NtuName;
use crate::skeleton::{LayoutId, Sequence};

/// Which NTU dataset to mimic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
pub enum NtuLike {
    Ntu60,
    Ntu120,
}

/// Log-normal frame lengths, clamped (see the module docs for the source).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameLengths {
    pub log_mean: f64,
    pub log_sd: f64,
    pub min: usize,
    pub max: usize,
}

/// The frame-length distribution every NTU-like sample is drawn from.
pub const NTU_FRAME_LENGTHS: FrameLengths = FrameLengths {
    log_mean: 4.585,
    log_sd: 0.38,
    min: 32,
    max: 300,
};

/// (setup, subject) pairs per class and camera/replication: 170 leaves room above NTU's 158/159 for the skipped
/// missing-list names.
const PAIRS: u32 = 170;

#[derive(Debug, thiserror::Error)]
pub enum NtuLikeError {
    #[error("--count {count} is outside 1..={max}, the number of sequences in {like:?}")]
    Count {
        count: usize,
        max: usize,
        like: NtuLike,
    },
}

impl NtuLike {
    pub fn classes(self) -> u32 {
        match self {
            Self::Ntu60 => 60,
            Self::Ntu120 => 120,
        }
    }

    /// Sequences in the real dataset.
    pub fn full_size(self) -> usize {
        match self {
            Self::Ntu60 => 56_880,
            Self::Ntu120 => 114_480,
        }
    }

    fn setups(self) -> u32 {
        match self {
            Self::Ntu60 => 17,
            Self::Ntu120 => 32,
        }
    }

    fn subjects(self) -> u32 {
        match self {
            Self::Ntu60 => 40,
            Self::Ntu120 => 106,
        }
    }
}

/// NTU's two-person (mutual) actions, 1-based.
pub fn is_mutual_action(action: u32) -> bool {
    (50..=60).contains(&action) || (106..=120).contains(&action)
}

/// The first `count` sample names (see the module docs for the order).
pub fn ntu_like_names(like: NtuLike, count: usize) -> Result<Vec<NtuName>, NtuLikeError> {
    if count == 0 || count > like.full_size() {
        return Err(NtuLikeError::Count {
            count,
            max: like.full_size(),
            like,
        });
    }
    let missing = ntu_missing_skeletons();
    let classes = like.classes();
    let capacity = classes * PAIRS * 6;
    let mut names = Vec::with_capacity(count);
    for i in 0..capacity {
        let r = i / classes;
        let (k, q) = (r % PAIRS, r / PAIRS);
        let subject = k % like.subjects() + 1;
        // Distinct cycles of the same subject land in distinct setups (5 * cycle mod setups differ for cycle < 5).
        let setup = (subject - 1 + 5 * (k / like.subjects())) % like.setups() + 1;
        let name = NtuName {
            setup,
            camera: q % 3 + 1,
            subject,
            repetition: q / 3 + 1,
            action: i % classes + 1,
        };
        if !missing.contains(name.code().as_str()) {
            names.push(name);
            if names.len() == count {
                break;
            }
        }
    }
    Ok(names)
}

/// A 64-bit mix of two values (splitmix64's finaliser), so nearby names get unrelated streams.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn name_key(name: &NtuName) -> u64 {
    [
        name.setup,
        name.camera,
        name.subject,
        name.repetition,
        name.action,
    ]
    .iter()
    .fold(0u64, |acc, &v| acc * 1000 + u64::from(v))
}

/// The body ids written for a sample's two bodies (Kinect's ids are large integers).
pub fn ntu_like_body_ids(name: &NtuName, seed: u64) -> [u64; 2] {
    let base = 72_057_594_037_900_000 + mix(seed, name_key(name)) % 100_000;
    [base, base + 1]
}

type Pose = [[f32; 3]; 25];

fn poses(seq: &Sequence) -> Vec<Pose> {
    (0..seq.frames())
        .map(|f| std::array::from_fn(|j| seq.joint(f, 0, j)))
        .collect()
}

/// Linear resampling to `frames` frames, keeping the first and last.
fn resample(src: &[Pose], frames: usize) -> Vec<Pose> {
    let last = src.len().saturating_sub(1);
    (0..frames)
        .map(|f| {
            let t = if frames > 1 {
                f as f32 * last as f32 / (frames - 1) as f32
            } else {
                0.0
            };
            let (i, w) = (t.floor() as usize, t.fract());
            let j = (i + 1).min(last);
            std::array::from_fn(|k| {
                std::array::from_fn(|a| src[i][k][a] * (1.0 - w) + src[j][k][a] * w)
            })
        })
        .collect()
}

/// One subject performing `first` then `second`, resampled to `frames`.
fn performance(
    first: Action,
    second: Action,
    subject: u32,
    key: u64,
    cfg: &SynthConfig,
    frames: usize,
) -> Vec<Pose> {
    let mut both = poses(&generate_sequence(first, subject, 2 * key, cfg));
    both.extend(poses(&generate_sequence(second, subject, 2 * key + 1, cfg)));
    resample(&both, frames)
}

/// Turns every pose about the vertical axis through the first frame's pelvis by `deg`, then moves that pelvis to
/// `(at[0], its height + at[1], at[2])`.
fn place(poses: &mut [Pose], deg: f32, at: [f32; 3]) {
    let Some(pivot) = poses.first().map(|p| p[0]) else {
        return;
    };
    let (s, c) = deg.to_radians().sin_cos();
    for p in poses.iter_mut().flat_map(|pose| pose.iter_mut()) {
        let (x, z) = (p[0] - pivot[0], p[2] - pivot[2]);
        *p = [at[0] + c * x + s * z, p[1] + at[1], at[2] - s * x + c * z];
    }
}

/// The sequence of sample `name` (NTU25, Kinect v2 camera coordinates, one or two bodies).
pub fn ntu_like_sequence(like: NtuLike, name: &NtuName, seed: u64) -> Sequence {
    let key = name_key(name);
    let mut rng = StdRng::seed_from_u64(mix(seed, key));
    let lengths = NTU_FRAME_LENGTHS;
    let frames = match LogNormal::new(lengths.log_mean, lengths.log_sd) {
        Ok(d) => (d.sample(&mut rng).round() as usize).clamp(lengths.min, lengths.max),
        Err(_) => lengths.min,
    };
    let n = Action::ALL.len();
    let c = name.action.saturating_sub(1) as usize;
    let (first, second) = (Action::ALL[c % n], Action::ALL[(c / n + c) % n]);
    let cfg = SynthConfig {
        seed,
        subjects: like.subjects(),
        ..SynthConfig::default()
    };
    let camera_deg = 45.0 * (name.camera as f32 - 2.0);
    // Kinect v2 looks at the subject from about 3.2 m, its optical centre about 0.9 m above the floor.
    let to_camera = [
        rng.random_range(-0.3..0.3),
        -0.9,
        3.2 + rng.random_range(-0.3..0.3),
    ];
    let mut actor = performance(first, second, name.subject, key, &cfg, frames);
    let mut bodies = if is_mutual_action(name.action) {
        let partner_subject = name.subject % like.subjects() + 1;
        let mut partner = performance(
            second,
            first,
            partner_subject,
            key ^ (1 << 40),
            &cfg,
            frames,
        );
        let at = |dx: f32| [to_camera[0] + dx, to_camera[1], to_camera[2]];
        place(&mut actor, camera_deg - 60.0, at(-0.5));
        place(&mut partner, camera_deg + 60.0, at(0.5));
        vec![actor, partner]
    } else {
        place(&mut actor, camera_deg, to_camera);
        vec![actor]
    };
    let n_bodies = bodies.len();
    let mut data = Vec::with_capacity(frames * n_bodies * 75);
    for f in 0..frames {
        for body in &mut bodies {
            data.extend(body[f].iter().flatten());
        }
    }
    match Sequence::new(LayoutId::Ntu25, frames, n_bodies, data) {
        Ok(seq) => seq,
        // Finite by construction (the generator's poses, rotated and moved) and sized frames * bodies * 75.
        Err(e) => unreachable!("NTU-like sequence is well-formed: {e}"),
    }
}
