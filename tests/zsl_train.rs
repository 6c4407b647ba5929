//! Training on a synthetic zero-shot problem where visual features are a fixed linear image of the class text:
//! every method must transfer to unseen classes, and a saved run must reload to identical scores.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use skelzero::experiment::run::{RunConfig, SplitInfo, load_run, save_run};
use skelzero::experiment::select::{SelectionConfig, fit_and_evaluate};
use skelzero::zsl::trainer::{TrainConfig, score_matrix};
use skelzero::zsl::{Dims, MethodConfig, MethodKind};

mod zsl_synth;
use zsl_synth::{C, CV, D, Synth, synth};

fn small_config(kind: MethodKind) -> MethodConfig {
    match MethodConfig::default_for(kind) {
        MethodConfig::Smie(mut c) => {
            c.hidden = [64, 32];
            MethodConfig::Smie(c)
        }
        MethodConfig::InfoCpl(mut c) => {
            c.hidden = [64, 32];
            c.topk = vec![1, 2];
            c.warmup_epochs = 2;
            MethodConfig::InfoCpl(c)
        }
        MethodConfig::Star(mut c) => {
            c.parts = 2;
            c.prompts = 8;
            c.dim = 16;
            c.hidden = 32;
            c.logit_scale = 10.0;
            MethodConfig::Star(c)
        }
        other => other,
    }
}

fn fit(kind: MethodKind, s: &Synth) -> skelzero::experiment::select::Fitted {
    let p = s.protocol();
    let tc = TrainConfig {
        epochs: 30,
        batch_size: 32,
        lr: 2e-2,
        ..Default::default()
    };
    let mut sel = SelectionConfig::for_split(zsl_synth::SEEN, zsl_synth::C - zsl_synth::SEEN);
    sel.lrs = vec![2e-3, 2e-2];
    fit_and_evaluate(&small_config(kind), &tc, &sel, &p).unwrap()
}

#[test]
fn every_method_transfers_to_unseen_classes() {
    let s = synth();
    for kind in MethodKind::ALL {
        let f = fit(kind, &s);
        let e = &f.evaluation;
        eprintln!(
            "{kind}: zsl {:.3} gzsl s {:.3} u {:.3} h {:.3} gamma {:.3} epoch {} val {:.3} oracle {:.3}",
            e.zsl_top1,
            e.gzsl.s,
            e.gzsl.u,
            e.gzsl.h,
            e.gzsl.gamma,
            e.epoch,
            e.val_zsl_top1,
            e.oracle_zsl_top1
        );
        // Chance is 1/5; require twice that.
        assert!(e.zsl_top1 > 0.4, "{kind}: ZSL top-1 {}", e.zsl_top1);
        assert!(e.oracle_zsl_top1 >= e.zsl_top1);
    }
}

#[test]
fn saved_run_reloads_to_identical_scores_and_rejects_bad_weights() {
    let s = synth();
    let f = fit(MethodKind::Smie, &s);
    let dir = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        method: small_config(MethodKind::Smie),
        train: TrainConfig::default(),
        dims: Dims {
            visual: CV,
            text: D,
        },
        split: SplitInfo {
            name: "synthetic".into(),
            class_names: (0..C).map(|c| format!("class {c}")).collect(),
            seen: (0..zsl_synth::SEEN).collect(),
            unseen: (zsl_synth::SEEN..zsl_synth::C).collect(),
        },
        gamma: f.evaluation.gzsl.gamma,
        epoch: f.evaluation.epoch,
        features: None,
        evaluation: Some(f.evaluation.clone()),
    };
    save_run(dir.path(), &cfg, &f.varmap, &s.classes).unwrap();
    let run = load_run(dir.path()).unwrap();
    assert_eq!(run.config, cfg);
    let a = score_matrix(f.method.as_ref(), &s.test, &s.classes, 64).unwrap();
    let b = score_matrix(run.method.as_ref(), &s.test, &run.classes, 64).unwrap();
    assert_eq!(a, b);
    // A config that disagrees with the weights is refused with the file named.
    let mut bad = cfg.clone();
    bad.method = MethodConfig::default_for(MethodKind::Smie);
    let text = toml::to_string(&bad).unwrap();
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    let err = load_run(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("weights.safetensors") && err.contains("estimator.l"),
        "{err}"
    );
}
