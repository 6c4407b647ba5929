//! The joins between layers: encoder features of a split, class texts to class embeddings.

#![allow(clippy::unwrap_used)]

use candle_core::Device;
use candle_nn::VarMap;
use skelzero::dataset::protocol::{ProtocolInputs, SplitArgs};
use skelzero::dataset::synthetic::{self, SynthConfig};
use skelzero::nn::encoder::{Encoder, EncoderConfig, EncoderKind};
use skelzero::pipeline::{
    FeatureOptions, TextEmbedder, class_embeddings_from_texts, split_features_from_dataset,
};

/// A deterministic stand-in for a sentence encoder: a normalised bag of character trigrams. The pipeline only
/// needs "same text, same vector"; the real encoders have their own tests.
struct Trigrams(usize);

impl TextEmbedder for Trigrams {
    fn id(&self) -> String {
        "trigrams".into()
    }
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; self.0];
                for w in t.as_bytes().windows(3) {
                    let h = w
                        .iter()
                        .fold(7usize, |h, &b| h.wrapping_mul(31) + b as usize);
                    v[h % self.0] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
}

#[test]
fn split_features_hold_only_seen_training_samples_and_every_view() {
    let ds = synthetic::generate_dataset(&SynthConfig {
        per_class: 3,
        ..SynthConfig::default()
    });
    let part = SplitArgs::named(synthetic::DEMO_SPLIT_NAME)
        .partition(&ds, &ProtocolInputs::for_dataset(&ds).unwrap())
        .unwrap();
    let vm = VarMap::new();
    let enc = Encoder::new(
        &EncoderConfig::default_for(EncoderKind::Stgcn),
        0,
        &vm,
        &Device::Cpu,
    )
    .unwrap();
    let mut calls = 0;
    let f =
        split_features_from_dataset(&enc, &ds, &part, &FeatureOptions::default(), &mut |d, t| {
            calls += 1;
            assert!(d <= t);
            true
        })
        .unwrap();
    assert!(calls >= 2);
    assert!(f.train_labels.iter().all(|l| part.seen.contains(l)));
    assert!(f.test_labels.iter().any(|l| part.unseen.contains(l)));
    assert_eq!(f.test_labels.len(), part.gzsl_test.len());
    let n = f.train_labels.len();
    assert_eq!(f.train.pooled.dims(), [n, 256]);
    assert_eq!(f.train.masked.as_ref().unwrap().dims(), [n, 256]);
    let map = f.train.map.as_ref().unwrap();
    assert_eq!((map.dims()[0], map.dims()[2], map.dims()[3]), (n, 25, 256));
    // Masking the motion keyframes changes what the encoder sees.
    let diff = (&f.train.pooled - f.train.masked.as_ref().unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff > 1e-6, "masked view equals the full view");

    // Cancelling stops with an error.
    let err =
        split_features_from_dataset(&enc, &ds, &part, &FeatureOptions::default(), &mut |_, _| {
            false
        });
    assert!(err.is_err());
}

#[test]
fn class_texts_become_class_embeddings_with_even_codebooks() {
    let mut texts = synthetic::synthetic_texts();
    let c = texts.num_classes();
    // Uneven codebooks are filled up by repetition.
    let phrases = texts
        .phrases
        .get_or_insert_with(|| vec![vec!["x".into()]; c]);
    phrases[0].truncate(1);
    let k = phrases.iter().map(Vec::len).max().unwrap();
    let ce = class_embeddings_from_texts(&texts, &mut Trigrams(64)).unwrap();
    assert_eq!(ce.names.dims(), [c, 64]);
    assert_eq!(ce.sentences.dims(), [c, 64]);
    assert_eq!(ce.phrases.as_ref().unwrap().dims(), [c, k, 64]);
    if texts.parts.is_some() {
        assert_eq!(ce.parts.as_ref().unwrap().dims(), [c, 6, 64]);
    }
    let p0 = ce
        .phrases
        .as_ref()
        .unwrap()
        .get(0)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert!(
        p0.iter().all(|row| row == &p0[0]),
        "class 0's single phrase fills its codebook"
    );

    // A mismatched set of part descriptions is refused, naming the counts.
    let mut bad = texts.clone();
    bad.parts = Some(vec![Default::default(); c + 1]);
    let err = class_embeddings_from_texts(&bad, &mut Trigrams(64)).unwrap_err();
    assert!(
        err.to_string().contains(&format!("for {c} classes")),
        "{err}"
    );
}
