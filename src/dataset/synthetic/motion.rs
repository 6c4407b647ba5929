//! The synthetic actions' motion: joint angles over time per action, and forward kinematics from a rest pose to
//! joint positions.

use std::f32::consts::{PI, TAU};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::{Action, ArmMotion, LegMotion, SynthConfig};
use crate::skeleton::LayoutId;
use crate::skeleton::sequence::{KINECT_FPS, Sequence};

type Mat3 = [[f32; 3]; 3];
type Vec3 = [f32; 3];

const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

fn apply(m: &Mat3, v: Vec3) -> Vec3 {
    std::array::from_fn(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

/// Rotation about x: positive angles swing a downward bone forward (toward -z).
fn rot_x(deg: f32) -> Mat3 {
    let (s, c) = deg.to_radians().sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
}

/// Rotation about y: positive angles turn +x toward -z (the right shoulder forward).
fn rot_y(deg: f32) -> Mat3 {
    let (s, c) = deg.to_radians().sin_cos();
    [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
}

/// Rotation about z: positive angles swing a downward bone toward +x (the right arm outward).
fn rot_z(deg: f32) -> Mat3 {
    let (s, c) = deg.to_radians().sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// Parent of each joint in the kinematic tree (hand tips and thumbs hang from the hands).
const PARENT: [usize; 25] = [
    0, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 7, 11, 11,
];

/// Joints in an order where every parent comes before its children.
const ORDER: [usize; 25] = [
    0, 1, 20, 2, 3, 4, 5, 6, 7, 21, 22, 8, 9, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19,
];

/// Rest offsets from the parent, metres, for an average adult (x right, y up, z back).
const REST: [Vec3; 25] = [
    [0.0, 0.0, 0.0],
    [0.0, 0.25, 0.0],
    [0.0, 0.07, 0.0],
    [0.0, 0.13, 0.0],
    [-0.17, -0.04, 0.0],
    [0.0, -0.27, 0.0],
    [0.0, -0.24, 0.0],
    [0.0, -0.07, 0.0],
    [0.17, -0.04, 0.0],
    [0.0, -0.27, 0.0],
    [0.0, -0.24, 0.0],
    [0.0, -0.07, 0.0],
    [-0.09, -0.06, 0.0],
    [0.0, -0.42, 0.0],
    [0.0, -0.40, 0.0],
    [0.0, -0.06, -0.10],
    [0.09, -0.06, 0.0],
    [0.0, -0.42, 0.0],
    [0.0, -0.40, 0.0],
    [0.0, -0.06, -0.10],
    [0.0, 0.24, 0.0],
    [0.0, -0.07, 0.0],
    [0.02, -0.03, -0.03],
    [0.0, -0.07, 0.0],
    [-0.02, -0.03, -0.03],
];

/// Joints whose bone (from the parent) a rotation at that index turns; see [`Pose::local`].
const L_SPINE: usize = 1;
const L_L_UPPER_ARM: usize = 5;
const L_L_FOREARM: usize = 6;
const L_R_UPPER_ARM: usize = 9;
const L_R_FOREARM: usize = 10;
const L_L_THIGH: usize = 13;
const L_L_SHIN: usize = 14;
const L_L_FOOT: usize = 15;
const L_R_THIGH: usize = 17;
const L_R_SHIN: usize = 18;
const L_R_FOOT: usize = 19;

/// One frame's joint angles: `local[j]` turns the bone from `PARENT[j]` to `j` and everything below it, relative
/// to the parent bone; `root` moves the pelvis (body frame; its height is the lift of the lowest foot off the floor)
/// and `yaw` turns the whole body (degrees).
struct Pose {
    local: [Mat3; 25],
    root: Vec3,
    yaw: f32,
}

impl Pose {
    fn rest() -> Self {
        let mut local = [IDENTITY; 25];
        // Arms hang slightly away from the body.
        local[L_L_UPPER_ARM] = rot_z(-8.0);
        local[L_R_UPPER_ARM] = rot_z(8.0);
        Self {
            local,
            root: [0.0; 3],
            yaw: 0.0,
        }
    }

    /// Turns bone `j` by `m` on top of what it has.
    fn turn(&mut self, j: usize, m: Mat3) {
        self.local[j] = mul(&m, &self.local[j]);
    }
}

/// Per-sample motion parameters.
struct Style {
    amp: f32,
    /// Scales how many repetitions fit in the sequence.
    reps: f32,
    phase: f32,
}

/// 0 -> 1 -> 0 over `t` in [0, 1], with 15 % ramps, so repeated motions start and end at rest.
fn envelope(t: f32) -> f32 {
    let r = (t / 0.15).min((1.0 - t) / 0.15).clamp(0.0, 1.0);
    r * r * (3.0 - 2.0 * r)
}

/// 0 -> 1 -> 0 once per cycle.
fn cycle(t: f32, cycles: f32) -> f32 {
    0.5 - 0.5 * (TAU * cycles * t).cos()
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Both thighs flex by `thigh` degrees; the shins lean forward by half that and the feet stay flat. The pelvis
/// moves back to keep the feet under it (ground contact in [`Body::joints`] takes care of the height).
fn crouch(pose: &mut Pose, thigh: f32) {
    for (t, s, f) in [
        (L_L_THIGH, L_L_SHIN, L_L_FOOT),
        (L_R_THIGH, L_R_SHIN, L_R_FOOT),
    ] {
        pose.turn(t, rot_x(thigh));
        pose.turn(s, rot_x(-1.5 * thigh));
        pose.turn(f, rot_x(0.5 * thigh));
    }
    pose.root[2] += 0.42 * thigh.to_radians().sin() - 0.40 * (0.5 * thigh).to_radians().sin();
    // Lean forward to keep balance.
    pose.turn(L_SPINE, rot_x(-0.5 * thigh));
}

fn wave(pose: &mut Pose, t: f32, st: &Style, side: f32) {
    let up = envelope(t);
    let (upper, fore) = arm(side);
    let swing = 25.0 * st.amp * (TAU * 3.0 * st.reps * t + st.phase).sin();
    pose.turn(upper, rot_z(side * 100.0 * up));
    pose.turn(fore, rot_z(side * up * (75.0 + swing)));
}

fn punch(pose: &mut Pose, t: f32, st: &Style, side: f32) {
    let guard = envelope(t);
    let k = cycle(t, (3.0 * st.reps).round().max(1.0)).powf(0.6) * guard;
    let (hit_u, hit_f, other_u, other_f) = if side > 0.0 {
        (L_R_UPPER_ARM, L_R_FOREARM, L_L_UPPER_ARM, L_L_FOREARM)
    } else {
        (L_L_UPPER_ARM, L_L_FOREARM, L_R_UPPER_ARM, L_R_FOREARM)
    };
    pose.turn(L_SPINE, rot_y(side * 12.0 * k * st.amp));
    pose.turn(hit_u, rot_x(40.0 * guard + 50.0 * k));
    pose.turn(hit_f, rot_x(110.0 * guard * (1.0 - k)));
    pose.turn(other_u, rot_x(40.0 * guard));
    pose.turn(other_f, rot_x(110.0 * guard));
}

fn kick(pose: &mut Pose, t: f32, st: &Style, side: f32, arms_free: bool) {
    let k = cycle(t, (2.0 * st.reps).round().max(1.0));
    let (thigh, shin) = leg(side);
    pose.turn(thigh, rot_x(75.0 * st.amp * k));
    // The knee is bent halfway through the swing and straight at the top.
    pose.turn(shin, rot_x(-70.0 * 4.0 * k * (1.0 - k)));
    if arms_free {
        balance_arms(pose, 20.0 * envelope(t));
    }
}

/// Both arms lift out a little for balance while a leg moves (only when the arms have nothing else to do).
fn balance_arms(pose: &mut Pose, deg: f32) {
    pose.turn(L_L_UPPER_ARM, rot_z(-deg));
    pose.turn(L_R_UPPER_ARM, rot_z(deg));
}

/// The upper arm and forearm of one side (`side` > 0: right).
fn arm(side: f32) -> (usize, usize) {
    if side > 0.0 {
        (L_R_UPPER_ARM, L_R_FOREARM)
    } else {
        (L_L_UPPER_ARM, L_L_FOREARM)
    }
}

/// The thigh and shin of one side (`side` > 0: right).
fn leg(side: f32) -> (usize, usize) {
    if side > 0.0 {
        (L_R_THIGH, L_R_SHIN)
    } else {
        (L_L_THIGH, L_L_SHIN)
    }
}

/// Whole repetitions in a sequence: `base` scaled by the sample's tempo of repetition, at least one.
fn reps(base: f32, st: &Style) -> f32 {
    (base * st.reps).round().max(1.0)
}

/// Both straight arms lift forward and up above the head, and back down.
fn raise_both(pose: &mut Pose, t: f32, st: &Style) {
    let k = cycle(t, reps(1.0, st));
    for j in [L_L_UPPER_ARM, L_R_UPPER_ARM] {
        pose.turn(j, rot_x(165.0 * st.amp.min(1.05) * k));
    }
}

/// Both hands clap together in front of the chest, several times.
fn clap(pose: &mut Pose, t: f32, st: &Style) {
    let base = envelope(t);
    let close = 0.5 + 0.5 * (TAU * 4.0 * st.reps * t + st.phase).sin();
    let gamma = base * (8.0 + 12.0 * close);
    pose.turn(L_R_UPPER_ARM, mul(&rot_y(gamma), &rot_x(75.0 * base)));
    pose.turn(L_L_UPPER_ARM, mul(&rot_y(-gamma), &rot_x(75.0 * base)));
    pose.turn(L_R_FOREARM, rot_x(25.0 * base));
    pose.turn(L_L_FOREARM, rot_x(25.0 * base));
}

/// Both knees bend into a squat and straighten, once or twice.
fn squat(pose: &mut Pose, t: f32, st: &Style, arms_free: bool) {
    let k = cycle(t, reps(1.0, st));
    crouch(pose, 80.0 * st.amp.min(1.1) * k);
    if arms_free {
        // The arms come forward for balance.
        for j in [L_L_UPPER_ARM, L_R_UPPER_ARM] {
            pose.turn(j, rot_x(70.0 * k));
        }
    }
}

/// The thigh rises to horizontal with the shin hanging down, and lowers again.
fn raise_knee(pose: &mut Pose, t: f32, st: &Style, side: f32, arms_free: bool) {
    let k = cycle(t, reps(1.5, st));
    let (thigh, shin) = leg(side);
    pose.turn(thigh, rot_x(95.0 * st.amp.min(1.05) * k));
    pose.turn(shin, rot_x(-100.0 * k));
    if arms_free {
        balance_arms(pose, 15.0 * envelope(t));
    }
}

/// The leg swings out to the side with the weight shifting over the other foot, and comes back.
fn step_aside(pose: &mut Pose, t: f32, st: &Style, side: f32) {
    let k = cycle(t, reps(1.5, st));
    let (thigh, shin) = leg(side);
    pose.turn(thigh, rot_z(side * 32.0 * st.amp * k));
    pose.turn(shin, rot_x(-15.0 * (PI * k).sin()));
    pose.root[0] -= side * 0.06 * k;
    pose.turn(L_SPINE, rot_z(-side * 5.0 * k));
}

/// The left side is `-1`, the right `+1` (the actor's own sides: left joints are NTU 5-8 and 13-16, 1-based).
const LEFT: f32 = -1.0;
const RIGHT: f32 = 1.0;

fn pose_at(action: Action, t: f32, st: &Style) -> Pose {
    let mut p = Pose::rest();
    // Breathing sway, so even still parts move a little.
    p.root[0] += 0.01 * (TAU * 0.7 * t + st.phase).sin();
    match action {
        Action::Combo(arm, leg) => {
            // The legs first (a squat leans the spine, and the arms ride on it), then the arms.
            let arms_free = arm == ArmMotion::Still;
            match leg {
                LegMotion::Still => {}
                LegMotion::Kick => kick(&mut p, t, st, LEFT, arms_free),
                LegMotion::Knee => raise_knee(&mut p, t, st, RIGHT, arms_free),
                LegMotion::Squat => squat(&mut p, t, st, arms_free),
                LegMotion::Step => step_aside(&mut p, t, st, LEFT),
            }
            match arm {
                ArmMotion::Still => {}
                ArmMotion::Wave => wave(&mut p, t, st, RIGHT),
                ArmMotion::Punch => punch(&mut p, t, st, RIGHT),
                ArmMotion::Raise => raise_both(&mut p, t, st),
                ArmMotion::Clap => clap(&mut p, t, st),
            }
        }
        Action::ShakeHands => shake_hands(&mut p, t, st),
        Action::Push => {
            // Both hands come up to the chest and shove forward once, mid-sequence.
            let e = envelope(t);
            let shove = smoothstep((t - 0.35) / 0.15) * smoothstep((0.8 - t) / 0.15);
            for (upper, fore) in [arm(1.0), arm(-1.0)] {
                p.turn(upper, rot_x(e * (45.0 + 35.0 * shove)));
                p.turn(fore, rot_x(e * 100.0 * (1.0 - shove)));
            }
            p.turn(L_SPINE, rot_x(-10.0 * shove));
            p.root[2] -= 0.12 * shove;
        }
    }
    p
}

/// Right hand held out toward the partner, pumping up and down.
fn shake_hands(p: &mut Pose, t: f32, st: &Style) {
    let e = envelope(t);
    let pump = 10.0 * (TAU * reps(3.0, st) * t).sin() * e;
    p.turn(
        L_R_UPPER_ARM,
        mul(&rot_y(-20.0 * e), &rot_x(45.0 * e + pump)),
    );
    p.turn(L_R_FOREARM, rot_x(35.0 * e + 0.5 * pump));
}

/// The second person of an interaction: shakes the hand back, or is pushed and steps back (its own +z is behind
/// it) with the arms flung out.
fn partner_pose(action: Action, t: f32, st: &Style) -> Pose {
    let mut p = Pose::rest();
    p.root[0] += 0.015 * (TAU * 0.5 * t + 1.0).sin();
    match action {
        Action::ShakeHands => shake_hands(&mut p, t, st),
        Action::Push => {
            let back = smoothstep((t - 0.45) / 0.25);
            let stumble = (PI * back).sin();
            p.root[2] += 0.35 * back;
            p.turn(L_SPINE, rot_x(15.0 * stumble));
            p.turn(L_L_UPPER_ARM, rot_z(-45.0 * stumble));
            p.turn(L_R_UPPER_ARM, rot_z(45.0 * stumble));
            p.turn(L_L_THIGH, rot_x(-20.0 * stumble));
        }
        _ => {}
    }
    p
}

/// A person's proportions and placement.
#[derive(Clone, Debug)]
struct Body {
    offsets: [Vec3; 25],
    /// Pelvis height when standing.
    hip_height: f32,
    position: Vec3,
    facing: f32,
    tempo: f32,
}

impl Body {
    fn random(rng: &mut StdRng) -> Self {
        let height = rng.random_range(0.88..1.12_f32);
        let arm = height * rng.random_range(0.94..1.06_f32);
        let leg = height * rng.random_range(0.94..1.06_f32);
        let torso = height * rng.random_range(0.94..1.06_f32);
        let width = height * rng.random_range(0.92..1.08_f32);
        let mut offsets = REST;
        for (j, o) in offsets.iter_mut().enumerate() {
            let s = match j {
                5..=7 | 9..=11 | 21..=24 => arm,
                13..=15 | 17..=19 => leg,
                4 | 8 | 12 | 16 => width,
                _ => torso,
            };
            *o = o.map(|v| v * s);
        }
        let hip_height = -(offsets[12][1] + offsets[13][1] + offsets[14][1] + offsets[15][1]);
        Self {
            offsets,
            hip_height,
            position: [rng.random_range(-0.3..0.3), 0.0, rng.random_range(2.6..3.4)],
            facing: rng.random_range(-30.0..30.0),
            tempo: rng.random_range(0.8..1.25),
        }
    }

    /// Joint positions (camera frame) for one pose.
    fn joints(&self, pose: &Pose) -> [Vec3; 25] {
        let mut global = [IDENTITY; 25];
        let mut local_pos = [[0.0f32; 3]; 25];
        local_pos[0] = [pose.root[0], self.hip_height, pose.root[2]];
        global[0] = IDENTITY;
        for &j in &ORDER[1..] {
            let p = PARENT[j];
            global[j] = mul(&global[p], &pose.local[j]);
            let d = apply(&global[j], self.offsets[j]);
            local_pos[j] = std::array::from_fn(|k| local_pos[p][k] + d[k]);
        }
        // Ground contact: the lowest foot joint rests on the floor, lifted by the pose's root height.
        let lowest = [14, 15, 18, 19]
            .iter()
            .map(|&j| local_pos[j][1])
            .fold(f32::INFINITY, f32::min);
        for p in &mut local_pos {
            p[1] += pose.root[1] - lowest;
        }
        // Turn about the pelvis: the body's yaw plus its facing; then place it (yaw turns +x toward -z).
        let turn = rot_y(pose.yaw + self.facing);
        let pelvis = local_pos[0];
        std::array::from_fn(|j| {
            let rel = std::array::from_fn(|k| local_pos[j][k] - pelvis[k]);
            let r = apply(&turn, rel);
            let moved = apply(&rot_y(self.facing), [pelvis[0], 0.0, pelvis[2]]);
            [
                self.position[0] + moved[0] + r[0],
                pelvis[1] + r[1],
                self.position[2] + moved[2] + r[2],
            ]
        })
    }
}

/// splitmix64: independent seeds from (seed, a, b).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One sequence of `action` by a subject; `sample` picks the repetition's own randomness.
pub fn generate_sequence(action: Action, subject: u32, sample: u64, cfg: &SynthConfig) -> Sequence {
    let mut subject_rng = StdRng::seed_from_u64(mix(cfg.seed, 1 + u64::from(subject), 0));
    let body = Body::random(&mut subject_rng);
    let mut rng = StdRng::seed_from_u64(mix(cfg.seed, 1000 + action.label() as u64, sample));
    let tempo = body.tempo * rng.random_range(0.9..1.1_f32);
    let frames = ((action.base_frames() * tempo).round() as usize).max(20);
    let style = Style {
        amp: rng.random_range(0.85..1.15),
        reps: rng.random_range(0.8..1.25),
        phase: rng.random_range(0.0..TAU),
    };
    // The viewpoint varies per sample as well as per subject.
    let mut body = body;
    body.facing += rng.random_range(-15.0..15.0_f32);
    let partner = if action.two_person() {
        // Face to face, each turned partly toward the camera, at arm's length.
        let mut b = Body::random(&mut StdRng::seed_from_u64(mix(
            cfg.seed,
            5000 + u64::from(subject),
            sample,
        )));
        let turn = rng.random_range(55.0..75.0_f32);
        body.position[0] -= 0.45;
        body.facing = -turn;
        b.position = [body.position[0] + 0.9, 0.0, body.position[2]];
        b.facing = turn;
        Some(b)
    } else {
        cfg.second_person.then(|| {
            let mut b = body.clone();
            b.position[0] += 0.9;
            b.facing = rng.random_range(-30.0..0.0);
            b
        })
    };
    let bodies = if partner.is_some() { 2 } else { 1 };
    // A NaN or negative noise level means no noise.
    let noise = Normal::new(0.0, cfg.noise).ok().filter(|_| cfg.noise > 0.0);
    let mut data = Vec::with_capacity(frames * bodies * 25 * 3);
    for f in 0..frames {
        let t = f as f32 / (frames - 1) as f32;
        let actor = body.joints(&pose_at(action, t, &style));
        let idle = partner
            .as_ref()
            .map(|b| b.joints(&partner_pose(action, t, &style)));
        for joints in std::iter::once(actor).chain(idle) {
            for xyz in joints {
                for v in xyz {
                    let jitter = noise.as_ref().map_or(0.0, |n| n.sample(&mut rng));
                    data.push(v + jitter);
                }
            }
        }
    }
    // Finite by construction and sized frames * bodies * 25 * 3.
    let mut seq = match Sequence::new(LayoutId::Ntu25, frames, bodies, data) {
        Ok(seq) => seq,
        Err(e) => unreachable!("synthetic sequence is well-formed: {e}"),
    };
    seq.fps = KINECT_FPS;
    seq
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(a: Vec3, b: Vec3) -> f32 {
        (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>().sqrt()
    }

    #[test]
    fn bones_keep_their_length_through_the_motion() {
        let cfg = SynthConfig {
            noise: 0.0,
            ..Default::default()
        };
        for action in Action::ALL {
            let seq = generate_sequence(action, 2, 0, &cfg);
            for f in [0, seq.frames() / 3, seq.frames() - 1] {
                for (j, &p) in PARENT.iter().enumerate().skip(1) {
                    let l0 = dist(seq.joint(0, 0, j), seq.joint(0, 0, p));
                    let lf = dist(seq.joint(f, 0, j), seq.joint(f, 0, p));
                    assert!((l0 - lf).abs() < 1e-4, "{action:?} joint {j} frame {f}");
                }
            }
        }
    }

    #[test]
    fn moving_parts_match_the_action() {
        let cfg = SynthConfig {
            noise: 0.0,
            ..Default::default()
        };
        // Path length of a joint relative to the pelvis.
        let travel = |seq: &Sequence, j: usize| -> f32 {
            (1..seq.frames())
                .map(|f| {
                    let rel = |f: usize| {
                        let (a, b) = (seq.joint(f, 0, j), seq.joint(f, 0, 0));
                        [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
                    };
                    dist(rel(f), rel(f - 1))
                })
                .sum()
        };
        let right_hand = 11;
        let left_hand = 7;
        let left_foot = 15;
        let right_foot = 19;
        let combo = |a, l| Action::Combo(a, l);
        let s = generate_sequence(combo(ArmMotion::Wave, LegMotion::Still), 1, 0, &cfg);
        assert!(travel(&s, right_hand) > 5.0 * travel(&s, left_hand));
        // The wave lifts the hand above the head.
        let mid = s.frames() / 2;
        assert!(s.joint(mid, 0, right_hand)[1] > s.joint(mid, 0, 3)[1]);
        let s = generate_sequence(combo(ArmMotion::Still, LegMotion::Kick), 1, 0, &cfg);
        assert!(travel(&s, left_foot) > 5.0 * travel(&s, right_foot));
        // The squat lowers the pelvis by a good part of the leg length.
        let s = generate_sequence(combo(ArmMotion::Clap, LegMotion::Squat), 1, 0, &cfg);
        let ys: Vec<f32> = (0..s.frames()).map(|f| s.joint(f, 0, 0)[1]).collect();
        let (lo, hi) = ys
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &y| (l.min(y), h.max(y)));
        assert!(hi - lo > 0.3, "{lo} {hi}");
        // Both feet stay flat on the floor through the squat, and the pelvis stays above them (balanced).
        for f in 0..s.frames() {
            for foot in [left_foot, right_foot] {
                assert!(s.joint(f, 0, foot)[1].abs() < 0.03, "frame {f}");
            }
            let (pelvis, feet) = (s.joint(f, 0, 0), s.joint(f, 0, left_foot));
            let horizontal = ((pelvis[0] - feet[0]).powi(2) + (pelvis[2] - feet[2]).powi(2)).sqrt();
            assert!(horizontal < 0.3, "frame {f}: {horizontal}");
        }
        // A combination moves its arm's and its leg's joints on the named sides far more than the mirrored ones:
        // the player's left joints (NTU 5-8, 13-16) for a left motion.
        for (action, moving, still) in [
            (
                combo(ArmMotion::Wave, LegMotion::Kick),
                right_hand,
                left_hand,
            ),
            (
                combo(ArmMotion::Wave, LegMotion::Kick),
                left_foot,
                right_foot,
            ),
            (
                combo(ArmMotion::Wave, LegMotion::Step),
                right_hand,
                left_hand,
            ),
            (
                combo(ArmMotion::Punch, LegMotion::Step),
                left_foot,
                right_foot,
            ),
            (
                combo(ArmMotion::Clap, LegMotion::Knee),
                right_foot,
                left_foot,
            ),
            (
                combo(ArmMotion::Raise, LegMotion::Knee),
                right_foot,
                left_foot,
            ),
        ] {
            let s = generate_sequence(action, 3, 1, &cfg);
            assert!(
                travel(&s, moving) > 3.0 * travel(&s, still),
                "{action:?}: {} vs {}",
                travel(&s, moving),
                travel(&s, still)
            );
        }
        // Both-arm motions move both hands alike.
        let s = generate_sequence(combo(ArmMotion::Raise, LegMotion::Step), 2, 0, &cfg);
        let (r, l) = (travel(&s, right_hand), travel(&s, left_hand));
        assert!(r > 1.0 && l > 1.0 && r < 1.5 * l && l < 1.5 * r, "{r} {l}");
        // The interactions have a partner who moves too; a one-person class has none.
        for action in [Action::ShakeHands, Action::Push] {
            let s = generate_sequence(action, 4, 0, &cfg);
            assert_eq!(s.bodies(), 2);
            let partner_hand = (1..s.frames())
                .map(|f| dist(s.joint(f, 1, right_hand), s.joint(f - 1, 1, right_hand)))
                .sum::<f32>();
            assert!(partner_hand > 0.2, "{action:?}: {partner_hand}");
        }
        assert_eq!(
            generate_sequence(combo(ArmMotion::Raise, LegMotion::Still), 1, 0, &cfg).bodies(),
            1
        );
    }
}
