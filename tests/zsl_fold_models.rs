//! A run's kept validation fold models (`validation.safetensors`) reproduce the selection's own figures: the trained
//! InfoCPL branch set measured on them gives each fold's validation ZSL top-1 and their mean as recorded in the
//! run's evaluation, so a branch set measured there is measured as the run's epoch was chosen.
#![allow(clippy::unwrap_used)]

use skelzero::experiment::fold_models::FoldModels;
use skelzero::experiment::run::{RunConfig, SplitInfo, load_run, save_run};
use skelzero::experiment::select::{SelectionConfig, fit_and_evaluate};
use skelzero::pipeline::branch_validation::BranchValidation;
use skelzero::zsl::branch_set::BranchSet;
use skelzero::zsl::infocpl::InfoCplConfig;
use skelzero::zsl::trainer::TrainConfig;
use skelzero::zsl::{Dims, MethodConfig};

mod zsl_synth;
use zsl_synth::{C, SEEN, synth};

#[test]
fn kept_fold_models_reproduce_the_selection_figures() {
    let s = synth();
    let p = s.protocol();
    let cfg = MethodConfig::InfoCpl(InfoCplConfig {
        topk: vec![1, 2],
        hidden: [16, 8],
        warmup_epochs: 1,
        ..InfoCplConfig::default()
    });
    let tc = TrainConfig {
        epochs: 4,
        batch_size: 32,
        lr: 1e-2,
        ..Default::default()
    };
    let mut sel = SelectionConfig::for_split(SEEN, C - SEEN);
    sel.lrs = vec![1e-2];
    assert!(
        fit_and_evaluate(&cfg, &tc, &sel, &p)
            .unwrap()
            .fold_models
            .is_none()
    );
    sel.keep_fold_models = true;
    let fitted = fit_and_evaluate(&cfg, &tc, &sel, &p).unwrap();
    let e = &fitted.evaluation;
    let fm = fitted.fold_models.clone().unwrap();
    assert_eq!(fm.folds.len(), e.val_folds.len());
    assert_eq!((fm.epoch, fm.lr), (e.epoch, e.lr));
    assert_eq!(fm.train_samples, s.train_labels.len());

    let dir = tempfile::tempdir().unwrap();
    let dims = Dims {
        visual: s.train.visual_dim(),
        text: s.classes.dim(),
    };
    let split = SplitInfo {
        name: "synth".into(),
        class_names: (0..C).map(|c| format!("class {c}")).collect(),
        seen: s.seen.clone(),
        unseen: s.unseen.clone(),
    };
    save_run(
        dir.path(),
        &RunConfig::new(cfg, dims, split),
        &fitted.varmap,
        &s.classes,
    )
    .unwrap();
    fm.save(dir.path()).unwrap();
    let run = load_run(dir.path()).unwrap();
    let fm = FoldModels::load(dir.path()).unwrap().unwrap();
    let mut v = BranchValidation::new(&run, fm, &s.train, &s.train_labels).unwrap();
    let f = v
        .score(&run.classes, &BranchSet::trained(&[1, 2]), &mut |_, _| true)
        .unwrap();
    for (i, (got, want)) in f.per_fold.iter().zip(&e.val_folds).enumerate() {
        assert!(
            (got - want.zsl_top1).abs() < 1e-12,
            "fold {i}: {got} against the selection's {}",
            want.zsl_top1
        );
    }
    assert!((f.zsl - e.val_zsl_top1).abs() < 1e-12, "{f:?} {e:?}");
}
