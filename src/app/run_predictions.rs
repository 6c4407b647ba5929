//! A trained run's scores on its split's GZSL test set as the explorer's [`Predictions`], with what the analysis
//! views read: the pooled test features (t-SNE), and STAR's body-part or InfoCPL's branch components of the score.
//! `skelzero eval --predictions` writes it as the run's `predictions.json`.

use crate::zsl::features::SplitFeatures;
use crate::zsl::run::LoadedRun;
use crate::zsl::{ComponentKind, Result, ZslError};

use super::predictions::Predictions;
use crate::eval::analysis::{BranchScores, FeatureExport, PartScores};

const BATCH: usize = 256;

/// Scores every test sample against the seen then the unseen classes. Sample ids are `test-00000`, ... in the
/// feature file's order; `gamma` is the run's validation-chosen calibration.
pub fn predictions_from_run(run: &LoadedRun, f: &SplitFeatures) -> Result<Predictions> {
    let mut all = f.seen.clone();
    all.extend_from_slice(&f.unseen);
    let classes = run.classes.select(&all)?;
    let n = f.test.len();
    let c = all.len();
    let rows: Vec<usize> = (0..n).collect();
    let mut scores = Vec::with_capacity(n * c);
    let mut components: Vec<f32> = Vec::new();
    let mut meta = None;
    for chunk in rows.chunks(BATCH) {
        let batch = f.test.select(chunk)?;
        scores.extend(
            run.method
                .scores(&batch, &classes)?
                .flatten_all()?
                .to_vec1::<f32>()?,
        );
        if let Some(sc) = run.method.score_components(&batch, &classes)? {
            components.extend(sc.scores.flatten_all()?.to_vec1::<f32>()?);
            meta = Some((sc.kind, sc.names));
        }
    }
    let pooled = f.test.pooled.flatten_all()?.to_vec1::<f32>()?;
    let dim = f.test.pooled.dim(1)?;
    let mut p = Predictions {
        method: format!(
            "{} ({})",
            run.config.method.kind().title(),
            run.dir.display()
        ),
        sample_ids: (0..n).map(|i| format!("test-{i:05}")).collect(),
        labels: f.test_labels.clone(),
        unseen: (0..c).map(|j| j >= f.seen.len()).collect(),
        classes: all,
        scores,
        class_names: run.config.split.class_names.clone(),
        gamma: run.config.gamma as f32,
        features: Some(FeatureExport {
            dim,
            samples: pooled,
            classes: Vec::new(),
        }),
        ..Predictions::default()
    };
    match meta {
        Some((ComponentKind::BodyParts { joints }, names)) => {
            p.star = Some(PartScores {
                parts: names,
                joints,
                scores: components,
            })
        }
        Some((ComponentKind::Branches, names)) => {
            p.infocpl = Some(BranchScores {
                branches: names,
                scores: components,
            })
        }
        None => {}
    }
    p.validate("run")
        .map_err(|e| ZslError::Invalid(e.to_string()))?;
    Ok(p)
}
