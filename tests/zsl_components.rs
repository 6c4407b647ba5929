//! STAR's body-part and InfoCPL's branch components add up to the method's score, and `skelzero eval
//! --predictions` writes them with the test features into a `predictions.json` the explorer loads.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod zsl_synth;

use candle_core::Device;
use skelzero::pipeline::predictions::Predictions;
use skelzero::zsl::{ComponentKind, Dims, MethodConfig, MethodKind};
mod cli;
use cli::{skelzero, succeeded};

fn dims() -> Dims {
    Dims {
        visual: zsl_synth::CV,
        text: zsl_synth::D,
    }
}

fn config(kind: MethodKind) -> MethodConfig {
    match MethodConfig::default_for(kind) {
        MethodConfig::InfoCpl(mut c) => {
            c.hidden = [16, 8];
            c.topk = vec![1, 2];
            MethodConfig::InfoCpl(c)
        }
        MethodConfig::Star(mut c) => {
            c.parts = 2;
            c.prompts = 8;
            c.dim = 16;
            c.hidden = 16;
            MethodConfig::Star(c)
        }
        other => other,
    }
}

#[test]
fn components_add_up_to_the_score() {
    let s = zsl_synth::synth();
    let batch = s.test.select(&(0..10).collect::<Vec<_>>()).unwrap();
    for (kind, mean) in [(MethodKind::Star, false), (MethodKind::InfoCpl, true)] {
        let (method, _vars) = config(kind)
            .build_trainable(dims(), &Device::Cpu, 3)
            .unwrap();
        let scores = method.scores(&batch, &s.classes).unwrap();
        let comp = method
            .as_component_scores()
            .expect("components")
            .score_components(&batch, &s.classes)
            .unwrap();
        let k = comp.scores.dim(2).unwrap();
        assert_eq!(comp.names.len(), k);
        let summed = comp.scores.sum(2).unwrap();
        let summed = if mean {
            (summed / k as f64).unwrap()
        } else {
            summed
        };
        let diff = (summed - &scores)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            diff < 1e-4,
            "{kind:?}: components differ from the score by {diff}"
        );
        match comp.kind {
            ComponentKind::BodyParts { joints } => {
                assert_eq!(kind, MethodKind::Star);
                assert_eq!(joints.len(), 2);
                assert_eq!(comp.names, ["upper", "lower"]);
            }
            ComponentKind::Branches => {
                assert_eq!(kind, MethodKind::InfoCpl);
                assert_eq!(comp.names, ["top-1", "top-2"]);
            }
        }
    }
    let (devise, _vars) = config(MethodKind::Devise)
        .build_trainable(dims(), &Device::Cpu, 3)
        .unwrap();
    assert!(devise.as_component_scores().is_none());
}

#[test]
fn eval_writes_predictions_with_part_scores() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n_test =
        zsl_synth::write_split(&d.join("split1.safetensors"), &d.join("texts.safetensors"));
    let cfg = d.join("star.toml");
    std::fs::write(
        &cfg,
        "method = \"star\"\nparts = 2\nprompts = 8\ndim = 16\nhidden = 16\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        succeeded(skelzero().args(args).current_dir(d));
    };
    run(&[
        "train",
        "--method",
        "star",
        "--method-config",
        "star.toml",
        "--split",
        "split1",
        "--epochs",
        "2",
        "--lr",
        "1e-2",
        "--features",
        "split1.safetensors",
        "--texts",
        "texts.safetensors",
        "--out",
        "run",
    ]);
    run(&["eval", "--run", "run", "--predictions"]);
    let p = Predictions::load(&d.join("run")).unwrap();
    assert_eq!(p.num_samples(), n_test);
    assert_eq!(p.num_classes(), zsl_synth::C);
    let star = p.star.as_ref().expect("STAR part scores");
    assert_eq!(star.parts, ["upper", "lower"]);
    // Parts add up to each stored score.
    for (row, col) in [(0, 0), (3, 17), (n_test - 1, 5)] {
        let sum: f32 = star.of(row, col, p.num_classes()).iter().sum();
        assert!((sum - p.row(row)[col]).abs() < 1e-4);
    }
    // STAR exports its semantic space: summed part features and projected class names, 8-d (`prompts`), unit length.
    let features = p.features.as_ref().expect("features");
    assert_eq!(features.dim, 8);
    assert_eq!(features.classes.len(), zsl_synth::C * 8);
    assert!(features.space.contains("STAR"), "{}", features.space);
    let norm: f32 = features.sample(0).iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    // Its scores are the cosines of these points: the nearest class point is the GZSL prediction (gamma 0).
    let nearest = |row: usize| {
        (0..p.num_classes())
            .map(|col| {
                let c = &features.classes[col * 8..(col + 1) * 8];
                (
                    col,
                    features
                        .sample(row)
                        .iter()
                        .zip(c)
                        .map(|(a, b)| a * b)
                        .sum::<f32>(),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(col, _)| p.classes[col])
    };
    let argmax = |row: usize| {
        (0..p.num_classes())
            .max_by(|&a, &b| p.row(row)[a].total_cmp(&p.row(row)[b]))
            .map(|col| p.classes[col])
    };
    for row in [0, 7, n_test - 1] {
        assert_eq!(nearest(row), argmax(row));
    }
}
