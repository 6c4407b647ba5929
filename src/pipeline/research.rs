//! What the explorer's research views compute from a run's stored scores and features, GUI-free: each sample's
//! margin, per-class accuracy, nearest samples in feature space, and the agreement of two runs on the same samples.
//! Every figure here is on the run's scored samples (the test split); none is used to choose anything.

use std::collections::HashMap;

use super::predictions::{Predictions, Setting};

/// "ZSL" or "GZSL", as the views and `--dump-state` name a setting.
pub fn setting_name(s: Setting) -> &'static str {
    match s {
        Setting::Zsl => "ZSL",
        Setting::Gzsl => "GZSL",
    }
}

/// The setting a sample is judged in: ZSL (unseen classes only) for an unseen-class sample, GZSL (all classes,
/// gamma subtracted from seen-class scores) for a seen-class one; `None` when the run does not score its class.
pub fn sample_setting(p: &Predictions, row: usize) -> Option<Setting> {
    p.class_unseen(*p.labels.get(row)?)
        .map(|unseen| if unseen { Setting::Zsl } else { Setting::Gzsl })
}

/// The true class's score minus the best other class's score for sample `row` in `setting` (calibrated as
/// [`Predictions::top_k`]: gamma subtracted from seen-class scores in GZSL). Positive exactly when the prediction
/// is right (ties aside); `None` when the true class is not a candidate in `setting` or is the only one.
pub fn margin(p: &Predictions, row: usize, setting: Setting) -> Option<f32> {
    let label = *p.labels.get(row)?;
    let scores = p.row(row);
    let (mut truth, mut other) = (None, f32::NEG_INFINITY);
    for (col, (&class, &s)) in p.classes.iter().zip(scores).enumerate() {
        let unseen = p.unseen[col];
        if setting == Setting::Zsl && !unseen {
            continue;
        }
        let s = if setting == Setting::Gzsl && !unseen {
            s - p.gamma
        } else {
            s
        };
        if class == label {
            truth = Some(s);
        } else {
            other = other.max(s);
        }
    }
    truth.filter(|_| other.is_finite()).map(|t| t - other)
}

/// One class's accuracy in one setting.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassAccuracy {
    /// Dataset class index.
    pub class: usize,
    pub unseen: bool,
    /// Scored samples of this class.
    pub samples: usize,
    pub correct: usize,
}

impl ClassAccuracy {
    pub fn accuracy(&self) -> f32 {
        if self.samples == 0 {
            0.0
        } else {
            self.correct as f32 / self.samples as f32
        }
    }
}

/// Per-class accuracy on the run's scored samples: in ZSL the unseen classes (their samples choosing among unseen
/// classes), in GZSL every class (its samples choosing among all classes). In the order of the run's columns.
pub fn class_accuracy(p: &Predictions, setting: Setting) -> Vec<ClassAccuracy> {
    let mut out: Vec<ClassAccuracy> = p
        .classes
        .iter()
        .zip(&p.unseen)
        .filter(|&(_, &u)| setting == Setting::Gzsl || u)
        .map(|(&class, &unseen)| ClassAccuracy {
            class,
            unseen,
            samples: 0,
            correct: 0,
        })
        .collect();
    let slot: HashMap<usize, usize> = out.iter().enumerate().map(|(i, c)| (c.class, i)).collect();
    for row in 0..p.num_samples() {
        let label = p.labels[row];
        let Some(&i) = slot.get(&label) else {
            continue;
        };
        out[i].samples += 1;
        out[i].correct += usize::from(p.predicted(row, setting) == Some(label));
    }
    out
}

/// The `k` samples nearest to sample `row` by cosine similarity of the run's features (row-major `n x dim`), most
/// similar first, as (prediction row, similarity); `row` itself is left out.
pub fn nearest(samples: &[f32], dim: usize, row: usize, k: usize) -> Vec<(usize, f32)> {
    if dim == 0 || samples.len() < (row + 1) * dim {
        return Vec::new();
    }
    nearest_to(
        &samples[row * dim..(row + 1) * dim],
        samples,
        dim,
        Some(row),
        k,
    )
}

/// The `k` points of `points` (row-major `n x dim`) nearest to `query` by cosine similarity, most similar first
/// (ties by index), as (point row, similarity); `skip` is left out. E.g. a test sample's nearest training samples.
pub fn nearest_to(
    query: &[f32],
    points: &[f32],
    dim: usize,
    skip: Option<usize>,
    k: usize,
) -> Vec<(usize, f32)> {
    if dim == 0 || query.len() != dim {
        return Vec::new();
    }
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    let qn = norm(query);
    let mut sims: Vec<(usize, f32)> = points
        .chunks_exact(dim)
        .enumerate()
        .filter(|&(r, _)| Some(r) != skip)
        .map(|(r, v)| {
            let dot: f32 = query.iter().zip(v).map(|(a, b)| a * b).sum();
            (r, dot / (qn * norm(v)))
        })
        .collect();
    sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    sims.truncate(k);
    sims
}

/// Two runs' predictions on the samples both scored, each sample judged in its own setting
/// ([`sample_setting`] of run A).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Agreement {
    /// Samples both runs scored.
    pub common: usize,
    /// Indexed `[B wrong][A wrong]`: `[[both right, only B right], [only A right, both wrong]]`.
    pub matrix: [[usize; 2]; 2],
    /// The samples where the two predictions differ: (sample id, A's class, B's class), in A's row order.
    pub disagree: Vec<(String, usize, usize)>,
}

pub fn agreement(a: &Predictions, b: &Predictions) -> Agreement {
    let rows_b: HashMap<&str, usize> = b
        .sample_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut out = Agreement::default();
    for (ra, id) in a.sample_ids.iter().enumerate() {
        let (Some(&rb), Some(setting)) = (rows_b.get(id.as_str()), sample_setting(a, ra)) else {
            continue;
        };
        let (Some(pa), Some(pb)) = (a.predicted(ra, setting), b.predicted(rb, setting)) else {
            continue;
        };
        let label = a.labels[ra];
        out.common += 1;
        out.matrix[usize::from(pb != label)][usize::from(pa != label)] += 1;
        if pa != pb {
            out.disagree.push((id.clone(), pa, pb));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::fixture::{fixture_dataset, fixture_predictions};

    #[test]
    fn the_margin_is_positive_exactly_when_the_prediction_is_right() {
        let d = fixture_dataset();
        let p = fixture_predictions(&d);
        let (mut right, mut wrong) = (0, 0);
        for row in 0..p.num_samples() {
            let setting = sample_setting(&p, row).unwrap();
            let m = margin(&p, row, setting).unwrap();
            let correct = p.predicted(row, setting) == Some(p.labels[row]);
            assert_eq!(m > 0.0, correct, "row {row}: margin {m}");
            if correct { right += 1 } else { wrong += 1 }
        }
        // The fixture has both (the test would say nothing otherwise).
        assert!(right > 0 && wrong > 0, "{right} right, {wrong} wrong");
        // A seen-class sample has no ZSL margin: its class is not a ZSL candidate.
        let seen = (0..p.num_samples())
            .find(|&r| sample_setting(&p, r) == Some(Setting::Gzsl))
            .unwrap();
        assert_eq!(margin(&p, seen, Setting::Zsl), None);
    }

    #[test]
    fn per_class_accuracy_adds_up_to_the_run_metrics() {
        let d = fixture_dataset();
        let p = fixture_predictions(&d);
        let m = p.metrics();
        let zsl = class_accuracy(&p, Setting::Zsl);
        assert!(zsl.iter().all(|c| c.unseen));
        let (hits, n) = zsl
            .iter()
            .fold((0, 0), |(h, n), c| (h + c.correct, n + c.samples));
        assert_eq!(n, m.unseen_samples);
        assert!((hits as f32 / n as f32 - m.zsl_accuracy).abs() < 1e-6);
        let gzsl = class_accuracy(&p, Setting::Gzsl);
        assert_eq!(gzsl.len(), p.num_classes());
        let seen: usize = gzsl.iter().filter(|c| !c.unseen).map(|c| c.correct).sum();
        assert!((seen as f32 / m.seen_samples as f32 - m.seen_accuracy).abs() < 1e-6);
    }

    #[test]
    fn nearest_samples_by_cosine() {
        // Row 0 points along x; row 2 is closest to it, row 1 opposite.
        let f = [1.0, 0.0, -1.0, 0.1, 2.0, 0.5, 0.0, 1.0];
        let n = nearest(&f, 2, 0, 2);
        assert_eq!(n.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 3]);
        assert!(n[0].1 > 0.9 && n[0].1 <= 1.0);
        assert!(nearest(&f, 2, 9, 2).is_empty());
    }

    #[test]
    fn agreement_of_a_run_with_itself_and_with_a_changed_copy() {
        let d = fixture_dataset();
        let a = fixture_predictions(&d);
        let same = agreement(&a, &a);
        assert_eq!(same.common, a.num_samples());
        assert!(same.disagree.is_empty());
        assert_eq!(same.matrix[0][1] + same.matrix[1][0], 0);
        // B: every unseen-class sample's true class pushed to the top.
        let mut b = a.clone();
        let c = b.num_classes();
        for row in 0..b.num_samples() {
            if sample_setting(&b, row) == Some(Setting::Zsl) {
                let col = b.classes.iter().position(|&k| k == b.labels[row]).unwrap();
                b.scores[row * c + col] = 100.0;
            }
        }
        let changed = agreement(&a, &b);
        let wrong_unseen = (0..a.num_samples())
            .filter(|&r| {
                sample_setting(&a, r) == Some(Setting::Zsl)
                    && a.predicted(r, Setting::Zsl) != Some(a.labels[r])
            })
            .count();
        assert!(wrong_unseen > 0);
        assert_eq!(changed.matrix[1][0], 0, "B is never worse");
        assert_eq!(changed.matrix[0][1], wrong_unseen);
        assert_eq!(changed.disagree.len(), wrong_unseen);
    }
}
