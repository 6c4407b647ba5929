//! A synthetic zero-shot problem shared by the training and CLI tests: visual features are a fixed linear image of
//! the class text plus noise, so a method that learns the visual-text map transfers to unseen classes.
#![allow(dead_code, clippy::unwrap_used)]

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use std::path::Path;

use skelzero::experiment::select::Protocol;
use skelzero::zsl::features::{SplitFeatures, save_class_embeddings};
use skelzero::zsl::{ClassEmbeddings, FeatureBatch};

pub const C: usize = 20;
/// Classes `0..SEEN` are seen, the rest unseen.
pub const SEEN: usize = 15;
pub const D: usize = 6;
pub const CV: usize = 12;
pub const PER: usize = 16;

pub struct Synth {
    pub classes: ClassEmbeddings,
    pub train: FeatureBatch,
    pub train_labels: Vec<usize>,
    pub test: FeatureBatch,
    pub test_labels: Vec<usize>,
    /// `0..SEEN`
    pub seen: Vec<usize>,
    /// `SEEN..C`
    pub unseen: Vec<usize>,
}

impl Synth {
    /// The fit-and-evaluate protocol of this problem: train on the seen classes, test on all.
    pub fn protocol(&self) -> Protocol<'_> {
        Protocol {
            classes: &self.classes,
            seen: &self.seen,
            unseen: &self.unseen,
            train: &self.train,
            train_labels: &self.train_labels,
            test: &self.test,
            test_labels: &self.test_labels,
            fold_train: None,
            augment: None,
        }
    }
}

fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

pub fn synth() -> Synth {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let g = Normal::new(0.0f32, 1.0).unwrap();
    let mut draw =
        |k: usize, s: f32| -> Vec<f32> { (0..k).map(|_| s * g.sample(&mut rng)).collect() };
    let mut texts = Vec::new();
    for _ in 0..C {
        let mut t = draw(D, 1.0);
        normalize(&mut t);
        texts.push(t);
    }
    let noisy = |t: &[f32], s: f32, draw: &mut dyn FnMut(usize, f32) -> Vec<f32>| {
        let mut v: Vec<f32> = t.iter().zip(draw(D, s)).map(|(a, b)| a + b).collect();
        normalize(&mut v);
        v
    };
    let a = draw(CV * D, 1.0);
    let mut names = Vec::new();
    let mut parts = Vec::new();
    let mut phrases = Vec::new();
    for t in &texts {
        names.extend(noisy(t, 0.1, &mut draw));
        for _ in 0..2 {
            parts.extend(noisy(t, 0.1, &mut draw));
        }
        for _ in 0..4 {
            phrases.extend(noisy(t, 0.2, &mut draw));
        }
    }
    let sentences: Vec<f32> = texts.concat();
    let dev = Device::Cpu;
    let classes = ClassEmbeddings {
        names: Tensor::from_vec(names, (C, D), &dev).unwrap(),
        sentences: Tensor::from_vec(sentences.clone(), (C, D), &dev).unwrap(),
        parts: Some(Tensor::from_vec(parts, (C, 2, D), &dev).unwrap()),
        phrases: Some(Tensor::from_vec(phrases, (C, 4, D), &dev).unwrap()),
        motion: Some(Tensor::from_vec(sentences, (C, D), &dev).unwrap()),
    };
    let mut make = |classes_of: &[usize]| {
        let (mut pooled, mut masked, mut map, mut labels) = (vec![], vec![], vec![], vec![]);
        for &c in classes_of {
            for _ in 0..PER {
                let noise = draw(CV, 0.3);
                let v: Vec<f32> = (0..CV)
                    .map(|i| (0..D).map(|j| a[i * D + j] * texts[c][j]).sum::<f32>() + noise[i])
                    .collect();
                masked.extend(v.iter().zip(draw(CV, 0.3)).map(|(x, n)| x + n));
                for _ in 0..2 * 25 {
                    map.extend(v.iter().zip(draw(CV, 0.3)).map(|(x, n)| x + n));
                }
                pooled.extend(v);
                labels.push(c);
            }
        }
        let n = labels.len();
        let fb = FeatureBatch {
            pooled: Tensor::from_vec(pooled, (n, CV), &dev).unwrap(),
            masked: Some(Tensor::from_vec(masked, (n, CV), &dev).unwrap()),
            map: Some(Tensor::from_vec(map, (n, 2, 25, CV), &dev).unwrap()),
        };
        (fb, labels)
    };
    let (train, train_labels) = make(&(0..SEEN).collect::<Vec<_>>());
    let (test, test_labels) = make(&(0..C).collect::<Vec<_>>());
    Synth {
        classes,
        train,
        train_labels,
        test,
        test_labels,
        seen: (0..SEEN).collect(),
        unseen: (SEEN..C).collect(),
    }
}

/// Writes the synthetic split as `skelzero train` reads it: the feature file `features` (seen classes `0..SEEN`)
/// and the class embeddings `texts`. Returns the number of test samples.
pub fn write_split(features: &Path, texts: &Path) -> usize {
    let s = synth();
    let n_test = s.test_labels.len();
    let f = SplitFeatures {
        train: s.train,
        train_labels: s.train_labels,
        test: s.test,
        test_labels: s.test_labels,
        seen: (0..SEEN).collect(),
        unseen: (SEEN..C).collect(),
        train_ids: None,
        test_ids: None,
    };
    if let Some(dir) = features.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    f.save(features).unwrap();
    save_class_embeddings(texts, &s.classes).unwrap();
    n_test
}
