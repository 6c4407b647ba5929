//! A small constructed dataset (six actions, one of them by two people) and constructed predictions for it: test
//! fixtures for the explorer's views (with [`super::fixture_analysis`], every analysis view has data), independent of
//! the trained built-in demo.

use std::path::PathBuf;

use crate::dataset::{Dataset, DatasetKind, Sample, SampleMeta};
use crate::skeleton::{LayoutId, Sequence};

use super::predictions::Predictions;

pub const FIXTURE_CLASSES: [&str; 6] = ["wave", "jump", "punch", "kick", "clap", "handshake"];
/// Classes 3..6 are unseen in the fixture split.
pub const FIXTURE_UNSEEN: [bool; 6] = [false, false, false, true, true, true];
const FRAMES: usize = 60;
const PER_CLASS: usize = 4;

/// Limb direction from "arms down": `out` raises sideways (radians), `forward` raises towards the person's front.
/// The person faces -z (the Kinect sensor); their left side is at -x.
fn limb(side: f32, out: f32, forward: f32) -> [f32; 3] {
    let (so, co) = out.sin_cos();
    let (sf, cf) = forward.sin_cos();
    [side * so, -co * cf, -co * sf]
}

fn add(a: [f32; 3], d: [f32; 3], len: f32) -> [f32; 3] {
    [a[0] + d[0] * len, a[1] + d[1] * len, a[2] + d[2] * len]
}

/// Joint angles of one frame: (out, forward) for upper arm, forearm, thigh, shin on the left and right.
struct Angles {
    arm: [[(f32, f32); 2]; 2],
    leg: [[(f32, f32); 2]; 2],
    lift: f32,
}

fn angles(class: usize, t: f32, hand: usize) -> Angles {
    use std::f32::consts::TAU;
    let rest_arm = [(0.15, 0.0), (0.2, 0.15)];
    let rest_leg = [(0.05, 0.0), (0.05, 0.0)];
    let mut a = Angles {
        arm: [rest_arm, rest_arm],
        leg: [rest_leg, rest_leg],
        lift: 0.0,
    };
    let s = (TAU * t).sin();
    match class {
        0 => a.arm[1] = [(1.5, 0.0), (2.7 + 0.45 * (TAU * 2.0 * t).sin(), 0.0)],
        1 => {
            let up = (TAU * t).sin().max(0.0);
            a.lift = 0.3 * up;
            a.arm = [[(0.6 + up, 0.0), (0.9 + up, 0.0)]; 2];
            let bend = 0.6 * (1.0 - up);
            a.leg = [[(0.05, bend), (0.05, -bend * 0.3)]; 2];
        }
        2 => {
            let p = s.max(0.0);
            let q = (-s).max(0.0);
            a.arm = [
                [(0.2, 0.4 + 1.1 * q), (0.2, 1.4 + 0.2 * q)],
                [(0.2, 0.4 + 1.1 * p), (0.2, 1.4 + 0.2 * p)],
            ];
        }
        3 => {
            let k = s.max(0.0);
            a.leg[hand] = [(0.05, 1.2 * k), (0.05, 1.2 * k * k)];
            a.arm = [[(0.5, 0.2), (0.6, 0.6)]; 2];
        }
        4 => {
            let open = 0.25 + 0.25 * (TAU * 2.0 * t).cos();
            a.arm = [[(0.2, 1.0), (-0.3 + open, 1.45)]; 2];
        }
        _ => {
            a.arm[1] = [(0.1, 0.8 + 0.15 * s), (0.1, 1.2 + 0.15 * s)];
        }
    }
    a
}

/// NTU25 joint positions of one person at time `t` (0..1), standing at `root` and turned by `yaw`.
fn pose(class: usize, t: f32, scale: f32, root: [f32; 3], yaw: f32, hand: usize) -> [[f32; 3]; 25] {
    let a = angles(class, t, hand);
    let mut j = [[0.0f32; 3]; 25];
    let y0 = 0.95 + a.lift;
    j[0] = [0.0, y0, 0.0];
    j[1] = [0.0, y0 + 0.25, 0.0];
    j[20] = [0.0, y0 + 0.5, 0.0];
    j[2] = [0.0, y0 + 0.58, 0.0];
    j[3] = [0.0, y0 + 0.72, -0.02];
    // Arms: left (side -1) joints 4..8, 21, 22; right (side +1) 8..12, 23, 24.
    for (k, side) in [(0usize, -1.0f32), (1, 1.0)] {
        let base = 4 + 4 * k;
        let [(uo, uf), (fo, ff)] = a.arm[k];
        j[base] = [side * 0.2, y0 + 0.48, 0.0];
        j[base + 1] = add(j[base], limb(side, uo, uf), 0.28);
        let fore = limb(side, fo, ff);
        j[base + 2] = add(j[base + 1], fore, 0.25);
        j[base + 3] = add(j[base + 2], fore, 0.08);
        j[21 + 2 * k] = add(j[base + 3], fore, 0.06);
        j[22 + 2 * k] = add(j[base + 2], [side * 0.03, 0.0, -0.03], 1.0);
        // Legs: left 12..16, right 16..20.
        let hip = 12 + 4 * k;
        let [(to, tf), (so, sf)] = a.leg[k];
        j[hip] = [side * 0.1, y0 - 0.05, 0.0];
        j[hip + 1] = add(j[hip], limb(side, to, tf), 0.45);
        j[hip + 2] = add(j[hip + 1], limb(side, so, sf), 0.42);
        j[hip + 3] = add(j[hip + 2], [0.0, -0.04, -0.12], 1.0);
    }
    let (sy, cy) = yaw.sin_cos();
    j.map(|p| {
        let (x, y, z) = (p[0] * scale, p[1] * scale, p[2] * scale);
        [
            root[0] + cy * x + sy * z,
            root[1] + y,
            root[2] - sy * x + cy * z,
        ]
    })
}

/// The fixture dataset: `PER_CLASS` samples of each class by different "subjects" (size and tempo vary).
pub fn fixture_dataset() -> Dataset {
    let mut samples = Vec::new();
    for (class, name) in FIXTURE_CLASSES.iter().enumerate() {
        for rep in 0..PER_CLASS {
            let subject = rep as u32 + 1;
            let scale = 0.9 + 0.06 * rep as f32;
            let tempo = 1.0 + 0.25 * rep as f32;
            let two = class == 5;
            let bodies = if two { 2 } else { 1 };
            let mut data = Vec::with_capacity(FRAMES * bodies * 25 * 3);
            for f in 0..FRAMES {
                let t = (f as f32 / FRAMES as f32 * tempo).fract();
                let people: Vec<[[f32; 3]; 25]> = if two {
                    vec![
                        pose(class, t, scale, [-0.45, -0.8, 3.0], -1.3, 1),
                        pose(class, t, 0.95, [0.45, -0.8, 3.05], 1.3, 1),
                    ]
                } else {
                    vec![pose(
                        class,
                        t,
                        scale,
                        [0.0, -0.8, 3.0],
                        0.2 * rep as f32 - 0.3,
                        rep % 2,
                    )]
                };
                for p in &people {
                    data.extend(p.iter().flatten());
                }
            }
            let id = format!("fixture-{name}-{subject}");
            let Ok(seq) = Sequence::new(LayoutId::Ntu25, FRAMES, bodies, data) else {
                continue;
            };
            samples.push(Sample {
                meta: SampleMeta {
                    id: id.clone(),
                    label: class,
                    subject: Some(subject),
                    camera: Some(1 + (rep as u32 % 3)),
                    setup: None,
                    repetition: None,
                    video: id,
                    source: PathBuf::from("fixture"),
                    frames: None,
                },
                seq,
            });
        }
    }
    Dataset {
        kind: DatasetKind::Synthetic,
        root: PathBuf::from("fixture"),
        classes: FIXTURE_CLASSES.iter().map(|s| (*s).to_owned()).collect(),
        samples,
        skipped: Vec::new(),
    }
}

/// Constructed scores for the fixture: mostly right, with fixed mistakes (the last subject's kick is taken for a
/// punch, its clap for a handshake), so every view has something to show.
pub fn fixture_predictions(dataset: &Dataset) -> Predictions {
    let c = dataset.classes.len();
    let mut scores = Vec::with_capacity(dataset.samples.len() * c);
    for (i, s) in dataset.samples.iter().enumerate() {
        let label = s.meta.label;
        let last = s.meta.subject == Some(PER_CLASS as u32);
        let wrong = match label {
            3 if last => Some(4),
            4 if last => Some(5),
            1 if last => Some(4),
            _ => None,
        };
        for k in 0..c {
            // A deterministic spread so top-k lists differ between samples.
            let jitter = ((i * 7 + k * 13) % 10) as f32 * 0.02;
            let score = if Some(k) == wrong {
                0.8
            } else if k == label {
                0.6 + jitter
            } else {
                0.1 + jitter
            };
            scores.push(score);
        }
    }
    Predictions {
        method: "fixture (constructed scores)".into(),
        sample_ids: dataset.samples.iter().map(|s| s.meta.id.clone()).collect(),
        labels: dataset.samples.iter().map(|s| s.meta.label).collect(),
        classes: (0..c).collect(),
        unseen: FIXTURE_UNSEEN.to_vec(),
        scores,
        ..Predictions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_is_valid_and_has_a_two_person_class() {
        let d = fixture_dataset();
        assert_eq!(d.samples.len(), FIXTURE_CLASSES.len() * PER_CLASS);
        assert!(d.samples.iter().any(|s| s.seq.bodies() == 2));
        let p = fixture_predictions(&d);
        p.validate("fixture").unwrap();
        let m = p.metrics();
        assert!(m.zsl_accuracy > 0.7 && m.zsl_accuracy < 1.0, "{m:?}");
        assert!(m.seen_accuracy < 1.0);
    }
}
