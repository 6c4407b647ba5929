//! A trained run's scores on its split's GZSL test set as the explorer's [`Predictions`], with what the analysis
//! views read: the samples and class texts in the method's joint space (or the pooled test features) for the t-SNE,
//! and STAR's body-part or InfoCPL's branch components of the score. `skelzero eval --predictions` writes it as the
//! run's `predictions.json`.

use super::analysis::method_analysis;
use super::predictions::Predictions;
use crate::eval::GzslLayout;
use crate::experiment::run::LoadedRun;
use crate::zsl::features::SplitFeatures;
use crate::zsl::{FeatureBatch, Result, ZslError};

const BATCH: usize = 256;

/// Scores every test sample against the seen then the unseen classes. Sample ids are the feature file's (see
/// [`SplitFeatures::test_ids_or_fallback`] for files without them); `gamma` is the run's validation-chosen
/// calibration.
pub fn predictions_from_run(run: &LoadedRun, f: &SplitFeatures) -> Result<Predictions> {
    let mut method = format!(
        "{} ({})",
        run.config.method.kind().title(),
        run.dir.display()
    );
    // A saved InfoCPL branch set is part of the run's label, with the figure it was chosen on.
    if let (Some(path), Some(info)) = (&run.branch_set, run.method.as_infocpl()) {
        let topk = info.trained_topk();
        let names: Vec<String> = info
            .branch_set()
            .enabled()
            .map(|b| crate::zsl::branch_set::BranchSet::name(b, &topk))
            .collect();
        let basis = crate::zsl::branch_set::BranchSet::chosen_on(path)?;
        method.push_str(&format!(
            " · saved branch set {} (chosen on {})",
            names.join(", "),
            basis.name()
        ));
    }
    if let Some(saved) = &run.saved_gamma {
        method.push_str(&format!(" · {}", saved.label()));
    }
    let layout = GzslLayout::new(&f.seen, &f.unseen);
    let p = scored_predictions(
        run,
        &f.test,
        layout,
        method,
        f.test_ids_or_fallback(),
        f.test_labels.clone(),
    )?;
    p.validate("run")
        .map_err(|e| ZslError::Invalid(e.to_string()))?;
    Ok(p)
}

/// `feats` (one row per sample of `sample_ids` / `labels`) scored by the run against the classes of `layout`, with
/// the method's analysis (joint-space features, STAR parts, InfoCPL branches) and the run's class names and gamma.
/// Not yet validated: the caller names the source in [`Predictions::validate`]'s errors.
pub fn scored_predictions(
    run: &LoadedRun,
    feats: &FeatureBatch,
    layout: GzslLayout,
    method: String,
    sample_ids: Vec<String>,
    labels: Vec<usize>,
) -> Result<Predictions> {
    let a = method_analysis(
        run.method.as_ref(),
        feats,
        &run.classes.select(layout.classes())?,
        BATCH,
        &mut |_, _| true,
    )?;
    Ok(Predictions {
        method,
        sample_ids,
        labels,
        unseen: layout.unseen_mask(),
        classes: layout.into_classes(),
        scores: a.scores,
        class_names: run.config.split.class_names.clone(),
        gamma: run.config.gamma as f32,
        features: Some(a.features),
        star: a.star,
        infocpl: a.infocpl,
    })
}
