//! Analysis exports for the test fixture ([`super::fixture`]), constructed from the skeletons themselves so the t-SNE, STAR and
//! InfoCPL views have something truthful to show without a trained run: motion-statistics features (each joint's
//! mean position and spread about the body centre), class points at each class's mean feature, STAR-style part
//! scores from each part's share of the motion weighted by the class's typical share, and InfoCPL-style branch
//! scores as the run's scores blended with the part agreement.

use crate::dataset::Dataset;
use crate::skeleton::{LayoutId, PartScheme, Sequence};

use super::predictions::Predictions;
use crate::pipeline::analysis::{BranchScores, FeatureExport, PartScores};

/// Each joint's mean offset from the layout centre and its standard deviation over time (first body), 6 per joint.
pub fn motion_features_from_sequence(seq: &Sequence, joints: usize) -> Vec<f32> {
    let layout = seq.layout();
    let frames = seq.frames().max(1);
    let mut feat = vec![0f32; joints * 6];
    for j in 0..joints.min(seq.joints()) {
        let (mut sum, mut sq) = ([0f32; 3], [0f32; 3]);
        for f in 0..seq.frames() {
            let c = seq.joint(f, 0, layout.center);
            let p = seq.joint(f, 0, j);
            for a in 0..3 {
                let d = p[a] - c[a];
                sum[a] += d;
                sq[a] += d * d;
            }
        }
        for a in 0..3 {
            let mean = sum[a] / frames as f32;
            feat[j * 6 + a] = mean;
            feat[j * 6 + 3 + a] = (sq[a] / frames as f32 - mean * mean).max(0.0).sqrt() * 4.0;
        }
    }
    feat
}

/// Mean frame-to-frame speed of each part's joints (first body), normalised to sum to 1.
fn part_motion(seq: &Sequence, parts: &[Vec<usize>]) -> Vec<f32> {
    let mut e: Vec<f32> = parts
        .iter()
        .map(|joints| {
            let mut total = 0.0;
            for f in 1..seq.frames() {
                for &j in joints {
                    let (a, b) = (seq.joint(f - 1, 0, j), seq.joint(f, 0, j));
                    total +=
                        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2))
                            .sqrt();
                }
            }
            total / joints.len().max(1) as f32
        })
        .collect();
    let sum: f32 = e.iter().sum::<f32>().max(1e-9);
    e.iter_mut().for_each(|v| *v /= sum);
    e
}

/// Adds constructed features, part scores and branch scores to `p` for the samples of `dataset` it scores.
pub fn with_fixture_analysis(mut p: Predictions, dataset: &Dataset) -> Predictions {
    let by_id = dataset.rows_by_id();
    let Some(rows) = p
        .sample_ids
        .iter()
        .map(|id| by_id.get(id.as_str()).copied())
        .collect::<Option<Vec<usize>>>()
    else {
        return p;
    };
    let joints = dataset.samples.first().map_or(0, |s| s.seq.joints());
    let dim = joints * 6;
    let (n, c) = (p.num_samples(), p.num_classes());
    let mut samples = Vec::with_capacity(n * dim);
    for &i in &rows {
        samples.extend(motion_features_from_sequence(
            &dataset.samples[i].seq,
            joints,
        ));
    }
    let mut classes = vec![0f32; c * dim];
    for (col, &class) in p.classes.iter().enumerate() {
        let members: Vec<usize> = (0..n).filter(|&r| p.labels[r] == class).collect();
        for &r in &members {
            for k in 0..dim {
                classes[col * dim + k] += samples[r * dim + k] / members.len() as f32;
            }
        }
    }
    let features = FeatureExport {
        dim,
        samples,
        classes,
        space: format!(
            "constructed motion statistics ({dim}-d, no trained run); class points: each class's mean feature"
        ),
    };

    let ntu = rows
        .iter()
        .all(|&i| dataset.samples[i].seq.layout_id() == LayoutId::Ntu25);
    let star = ntu.then(|| {
        let parts = PartScheme::Six.parts();
        let joints: Vec<Vec<usize>> = parts.iter().map(|q| q.joints.to_vec()).collect();
        let motion: Vec<Vec<f32>> = rows
            .iter()
            .map(|&i| part_motion(&dataset.samples[i].seq, &joints))
            .collect();
        let profile: Vec<Vec<f32>> = p
            .classes
            .iter()
            .map(|&class| {
                let members: Vec<&Vec<f32>> = (0..n)
                    .filter(|&r| p.labels[r] == class)
                    .map(|r| &motion[r])
                    .collect();
                (0..parts.len())
                    .map(|q| {
                        members.iter().map(|m| m[q]).sum::<f32>() / members.len().max(1) as f32
                    })
                    .collect()
            })
            .collect();
        let mut scores = Vec::with_capacity(n * c * parts.len());
        for m in &motion {
            for prof in &profile {
                scores.extend(m.iter().zip(prof).map(|(a, b)| (a * b).sqrt()));
            }
        }
        PartScores {
            parts: parts.iter().map(|q| q.name.to_owned()).collect(),
            joints,
            scores,
        }
    });
    let infocpl = star.as_ref().map(|s| {
        let branches = ["top-1", "top-5", "all phrases"];
        let mut scores = Vec::with_capacity(n * c * branches.len());
        for r in 0..n {
            for col in 0..c {
                let run = p.row(r)[col];
                let parts: f32 = s.of(r, col, c).iter().sum();
                for (b, _) in branches.iter().enumerate() {
                    let w = b as f32 / (branches.len() - 1) as f32;
                    scores.push((1.0 - w) * run + w * parts);
                }
            }
        }
        BranchScores {
            branches: branches.iter().map(|b| (*b).to_owned()).collect(),
            scores,
        }
    });
    p.features = Some(features);
    p.star = star;
    p.infocpl = infocpl;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_analysis_is_valid() {
        let d = crate::pipeline::fixture::fixture_dataset();
        let p = with_fixture_analysis(crate::pipeline::fixture::fixture_predictions(&d), &d);
        p.validate("fixture").unwrap();
        let f = p.features.as_ref().unwrap();
        assert_eq!(f.dim, 150);
        // Kicks move the feet more than waves do.
        let star = p.star.as_ref().unwrap();
        let foot = star.parts.iter().position(|n| n == "foot").unwrap();
        let kick = p.labels.iter().position(|&l| l == 3).unwrap();
        let wave = p.labels.iter().position(|&l| l == 0).unwrap();
        assert!(star.of(kick, 3, 6)[foot] > star.of(wave, 3, 6)[foot]);
        assert!(p.infocpl.is_some());
    }
}
