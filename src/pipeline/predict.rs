//! Scoring a dataset with a trained pair: a pretrained skeleton encoder ([`EncoderModel`]) turns samples into
//! features, a zero-shot run ([`LoadedRun`]) scores them against its class embeddings, and the result is the
//! [`Predictions`] the explorer shows and `skelzero eval --predictions-out` writes.

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;

use super::features::{FeatureOptions, features_of_rows};
use super::predictions::Predictions;
use super::run_predictions::scored_predictions;
use super::{PipelineError, Result};
use crate::dataset::Dataset;
use crate::eval::GzslLayout;
use crate::experiment::run::LoadedRun;
use crate::nn::checkpoint::{load_varmap, load_varmap_bytes};
use crate::nn::encoder::Encoder;
use crate::pretrain::run::{RunConfig, RunDir};
use crate::skeleton::preprocess::PreprocessConfig;
use crate::zsl::{ClassEmbeddings, FeatureBatch, MethodKind};

fn invalid(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Invalid(e.to_string())
}

/// A pretrained skeleton encoder (a `skelzero pretrain` run) with the preprocessing it was trained with.
pub struct EncoderModel {
    pub config: RunConfig,
    pub encoder: Encoder,
    pub preprocess: PreprocessConfig,
    /// Where the encoder runs (see [`crate::nn::device`]); features come back on the CPU, where scoring runs.
    pub device: Device,
}

impl EncoderModel {
    /// Loads a `skelzero pretrain` run folder (`config.toml`, `checkpoint.safetensors`) onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        use crate::experiment::run_kind::{RunKind, expect_run};
        expect_run(dir, RunKind::Pretrain, "--encoder").map_err(PipelineError::Invalid)?;
        let run = RunDir::new(dir);
        let config = run.load_config().map_err(invalid)?;
        let vm = VarMap::new();
        let encoder = Encoder::new(&config.encoder, config.classes.len(), &vm, device)?;
        load_varmap(&vm, &run.checkpoint_path()).map_err(invalid)?;
        Ok(Self::from_parts(config, encoder, device))
    }

    /// [`Self::load`] from the contents of the two files (e.g. compiled into the binary); `dir` names them in errors.
    pub fn from_bytes(
        dir: &Path,
        config: &str,
        checkpoint: &[u8],
        device: &Device,
    ) -> Result<Self> {
        let run = RunDir::new(dir);
        let config = RunConfig::from_toml(config, &run.config_path()).map_err(invalid)?;
        let vm = VarMap::new();
        let encoder = Encoder::new(&config.encoder, config.classes.len(), &vm, device)?;
        load_varmap_bytes(&vm, checkpoint, &run.checkpoint_path()).map_err(invalid)?;
        Ok(Self::from_parts(config, encoder, device))
    }

    fn from_parts(config: RunConfig, encoder: Encoder, device: &Device) -> Self {
        let preprocess = config.data.preprocess();
        Self {
            config,
            encoder,
            preprocess,
            device: device.clone(),
        }
    }

    /// Features of the samples `rows` of `ds` as `run` scores them (STAR's map only when it is STAR).
    /// `progress(done, total)` is called after every batch; returning `false` cancels.
    pub fn features(
        &self,
        ds: &Dataset,
        rows: &[usize],
        run: &LoadedRun,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<FeatureBatch> {
        let opts = FeatureOptions {
            preprocess: self.preprocess.clone(),
            batch_size: 16,
            mask_frames: 0,
            with_map: run.config.method.kind() == MethodKind::Star,
            map_f16: false,
            seed: 0,
            device: self.device.clone(),
        };
        let total = rows.len();
        let mut done = 0;
        let (feats, _) = features_of_rows(&self.encoder, ds, rows, &opts, &mut |n| {
            done += n;
            progress(done, total)
        })?;
        Ok(feats)
    }
}

/// The run's split as it applies to `ds` (its seen and unseen classes as recorded), or `None` when it does not
/// apply (another dataset, a split that cannot be rebuilt). A custom split (`--unseen`, a split file) is found by
/// the run's recorded classes.
pub fn run_partition(ds: &Dataset, run: &LoadedRun) -> Option<crate::dataset::protocol::Partition> {
    use crate::dataset::protocol::ProtocolInputs;
    use crate::dataset::split_args::recorded_partition;
    let split = &run.config.split;
    ProtocolInputs::for_dataset(ds)
        .ok()
        .and_then(|inputs| {
            recorded_partition(&split.name, &split.seen, &split.unseen, ds, &inputs).ok()
        })
        .filter(|p| p.seen == run.config.split.seen && p.unseen == run.config.split.unseen)
}

/// The samples a run should be scored on: the GZSL test samples of its split when the split applies to `ds` (so
/// the accuracy shown is a test accuracy), else every sample.
pub fn scored_rows(ds: &Dataset, run: &LoadedRun) -> (Vec<usize>, bool) {
    match run_partition(ds, run) {
        Some(p) => (p.gzsl_test, true),
        None => ((0..ds.samples.len()).collect(), false),
    }
}

/// Scores of `feats` against the classes `columns` (dataset class ids). GZSL's calibration is not applied here:
/// [`Predictions::gamma`] carries it, so the explorer can move it.
fn scores_of(
    run: &LoadedRun,
    classes: &ClassEmbeddings,
    feats: &FeatureBatch,
    columns: &[usize],
) -> Result<Vec<f32>> {
    let classes = classes.select(columns)?;
    Ok(crate::zsl::trainer::score_matrix(run.method.as_ref(), feats, &classes, 256)?.data)
}

/// Scores features of the samples `rows` of `ds` with `run` against every class of its split.
pub fn predictions_from_features(
    run: &LoadedRun,
    feats: &FeatureBatch,
    ds: &Dataset,
    rows: &[usize],
) -> Result<Predictions> {
    let split = &run.config.split;
    if split.class_names.len() != ds.classes.len() {
        return Err(PipelineError::Invalid(format!(
            "the run {} has {} classes, the dataset {} has {}",
            run.dir.display(),
            split.class_names.len(),
            ds.root.display(),
            ds.classes.len()
        )));
    }
    if feats.len() != rows.len() {
        return Err(PipelineError::Invalid(format!(
            "{} feature rows for {} samples",
            feats.len(),
            rows.len()
        )));
    }
    let samples = super::features::samples_of_rows(ds, rows)?;
    let mut method = format!(
        "{} on {} (gamma {:.2})",
        run.config.method.kind().title(),
        split.name,
        run.config.gamma
    );
    if let Some(saved) = &run.saved_gamma {
        method.push_str(&format!(" · {}", saved.label()));
    }
    let p = scored_predictions(
        run,
        feats,
        GzslLayout::new(&split.seen, &split.unseen),
        method,
        samples.iter().map(|s| s.meta.id.clone()).collect(),
        samples.iter().map(|s| s.meta.label).collect(),
    )?;
    p.validate(&run.dir.display().to_string())
        .map_err(invalid)?;
    Ok(p)
}

/// `feats` must hold one row per sample `p` scored.
fn check_feature_rows(p: &Predictions, feats: &FeatureBatch) -> Result<()> {
    if feats.len() != p.num_samples() {
        return Err(PipelineError::Invalid(format!(
            "{} feature rows for {} scored samples",
            feats.len(),
            p.num_samples()
        )));
    }
    Ok(())
}

/// `p` (made by [`predictions_from_features`] from `feats`) scored again against other class embeddings, e.g.
/// after a class description was edited.
pub fn rescored(
    p: &Predictions,
    run: &LoadedRun,
    classes: &ClassEmbeddings,
    feats: &FeatureBatch,
) -> Result<Predictions> {
    check_feature_rows(p, feats)?;
    let scores = scores_of(run, classes, feats, &p.classes)?;
    let mut out = Predictions {
        scores,
        ..p.clone()
    };
    let all: Vec<usize> = (0..p.classes.len()).collect();
    refresh_components(&mut out, run, classes, feats, &all)?;
    out.validate(&run.dir.display().to_string())
        .map_err(invalid)?;
    Ok(out)
}

/// The classes (rows) whose embeddings differ between `a` and `b` in any field; every class when their shapes
/// differ.
pub fn changed_classes(a: &ClassEmbeddings, b: &ClassEmbeddings) -> Result<Vec<usize>> {
    let c = a.num_classes();
    let pairs = [
        (Some(&a.names), Some(&b.names)),
        (Some(&a.sentences), Some(&b.sentences)),
        (a.parts.as_ref(), b.parts.as_ref()),
        (a.phrases.as_ref(), b.phrases.as_ref()),
        (a.motion.as_ref(), b.motion.as_ref()),
    ];
    let mut changed = vec![false; c];
    for (x, y) in pairs {
        match (x, y) {
            (None, None) => {}
            (Some(x), Some(y)) if x.dims() == y.dims() && c > 0 => {
                let (x, y) = (
                    x.flatten_all()?.to_vec1::<f32>()?,
                    y.flatten_all()?.to_vec1::<f32>()?,
                );
                let per = x.len() / c;
                for (k, flag) in changed.iter_mut().enumerate() {
                    *flag |= x[k * per..(k + 1) * per] != y[k * per..(k + 1) * per];
                }
            }
            _ => return Ok((0..c.max(b.num_classes())).collect()),
        }
    }
    Ok((0..c).filter(|&k| changed[k]).collect())
}

/// [`crate::zsl::Rescoring::visual_part`] of every sample of `feats` (in batches of 256), `None` for methods
/// without one: computed once per scored dataset, it makes [`rescored_classes`] skip the skeleton side.
pub fn visual_part_of(run: &LoadedRun, feats: &FeatureBatch) -> Result<Option<Tensor>> {
    let Some(rescoring) = run.method.as_rescoring() else {
        return Ok(None);
    };
    let rows: Vec<usize> = (0..feats.len()).collect();
    let mut parts = Vec::new();
    for chunk in rows.chunks(256) {
        parts.push(rescoring.visual_part(&feats.select(chunk)?)?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(Tensor::cat(&parts, 0)?))
}

/// [`rescored`] after an edit of a few classes: only the score columns of the `changed` classes (dataset class
/// ids) are computed again against `classes`, the others are kept from `p`. Every method here scores a class from
/// that class's own embeddings only (checked against a full re-scoring for each method in the tests), so an edit
/// of one class costs one column instead of all. With `visual` (from [`visual_part_of`] on `feats`) the columns
/// are scored from it.
pub fn rescored_classes(
    p: &Predictions,
    run: &LoadedRun,
    classes: &ClassEmbeddings,
    feats: &FeatureBatch,
    visual: Option<&Tensor>,
    changed: &[usize],
) -> Result<Predictions> {
    check_feature_rows(p, feats)?;
    let cols: Vec<usize> = (0..p.classes.len())
        .filter(|&j| changed.contains(&p.classes[j]))
        .collect();
    let mut out = p.clone();
    if cols.is_empty() {
        return Ok(out);
    }
    let ids: Vec<usize> = cols.iter().map(|&j| p.classes[j]).collect();
    let part = match (visual, run.method.as_rescoring()) {
        (Some(v), Some(rescoring)) if v.dims().first() == Some(&feats.len()) => rescoring
            .scores_from_visual(v, &classes.select(&ids)?)?
            .flatten_all()?
            .to_vec1::<f32>()?,
        _ => scores_of(run, classes, feats, &ids)?,
    };
    let (c, m) = (p.classes.len(), cols.len());
    for i in 0..p.num_samples() {
        for (k, &j) in cols.iter().enumerate() {
            out.scores[i * c + j] = part[i * m + k];
        }
    }
    refresh_components(&mut out, run, classes, feats, &cols)?;
    out.validate(&run.dir.display().to_string())
        .map_err(invalid)?;
    Ok(out)
}

/// After a class-text edit: STAR's per-part or InfoCPL's per-branch scores of `p` (when it has them) computed
/// again for the columns `cols` of `p`'s classes, so that those tables follow the edited texts like the scores.
fn refresh_components(
    p: &mut Predictions,
    run: &LoadedRun,
    classes: &ClassEmbeddings,
    feats: &FeatureBatch,
    cols: &[usize],
) -> Result<()> {
    let (n, c, m) = (p.num_samples(), p.classes.len(), cols.len());
    let table = match (&mut p.star, &mut p.infocpl) {
        (Some(star), _) => &mut star.scores,
        (None, Some(branches)) => &mut branches.scores,
        (None, None) => return Ok(()),
    };
    if m == 0 || n == 0 || c == 0 || table.len() % (n * c) != 0 {
        return Ok(());
    }
    let k = table.len() / (n * c);
    let selected = classes.select(&cols.iter().map(|&j| p.classes[j]).collect::<Vec<_>>())?;
    let Some(components) = run.method.as_component_scores() else {
        return Ok(());
    };
    let rows: Vec<usize> = (0..n).collect();
    for chunk in rows.chunks(256) {
        let comps = components.score_components(&feats.select(chunk)?, &selected)?;
        if comps.scores.dims() != [chunk.len(), m, k] {
            return Err(PipelineError::Invalid(format!(
                "{}: score components {:?} for {} samples, {m} classes and {k} components",
                run.dir.display(),
                comps.scores.dims(),
                chunk.len()
            )));
        }
        let v = comps.scores.flatten_all()?.to_vec1::<f32>()?;
        for (r, &i) in chunk.iter().enumerate() {
            for (q, &j) in cols.iter().enumerate() {
                let src = (r * m + q) * k;
                table[(i * c + j) * k..][..k].copy_from_slice(&v[src..src + k]);
            }
        }
    }
    Ok(())
}

/// After a class-text edit: the class-text points of `p`'s exported joint space (the t-SNE's text points) computed
/// again from `classes`, in `p`'s class order. The sample points do not depend on the texts and are kept. Nothing
/// changes where `p` exports no class points (methods without a joint space).
pub fn refresh_class_points(
    p: &mut Predictions,
    run: &LoadedRun,
    classes: &ClassEmbeddings,
    feats: &FeatureBatch,
) -> Result<()> {
    let Some(export) = p.features.as_mut() else {
        return Ok(());
    };
    if export.classes.is_empty() || feats.is_empty() {
        return Ok(());
    }
    let selected = classes.select(&p.classes)?;
    if let Some(space) = run.method.as_joint_space() {
        let j = space.joint_embedding(&feats.select(&[0])?, &selected)?;
        export.classes = j.classes.flatten_all()?.to_vec1::<f32>()?;
    }
    Ok(())
}

/// Encodes and scores the samples of `ds` that [`scored_rows`] picks.
pub fn predict_dataset(
    model: &EncoderModel,
    run: &LoadedRun,
    ds: &Dataset,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Predictions> {
    let (rows, _) = scored_rows(ds, run);
    let feats = model.features(ds, &rows, run, progress)?;
    predictions_from_features(run, &feats, ds, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::analysis::method_analysis;
    use crate::zsl::MethodConfig;

    /// `ce` with class `k`'s rows of every field scaled and shifted.
    fn perturbed(ce: &ClassEmbeddings, k: usize) -> ClassEmbeddings {
        let bump = |t: &Tensor| -> Tensor {
            let dims = t.dims().to_vec();
            let c = dims[0];
            let mut v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let per = v.len() / c;
            for (i, x) in v[k * per..(k + 1) * per].iter_mut().enumerate() {
                *x = -*x + 0.01 * (i % 7) as f32;
            }
            Tensor::from_vec(v, dims, &Device::Cpu).unwrap()
        };
        ClassEmbeddings {
            names: bump(&ce.names),
            sentences: bump(&ce.sentences),
            parts: ce.parts.as_ref().map(bump),
            phrases: ce.phrases.as_ref().map(bump),
            motion: ce.motion.as_ref().map(bump),
        }
    }

    #[test]
    fn an_edit_moves_only_the_edited_class_text_point() {
        let run = crate::pipeline::demo::demo_run().unwrap();
        let n = 6;
        let feats = FeatureBatch {
            pooled: Tensor::randn(0f32, 1.0, (n, 256), &Device::Cpu).unwrap(),
            masked: None,
            map: None,
        };
        let classes: Vec<usize> = (0..run.classes.num_classes()).collect();
        let a = crate::pipeline::analysis::method_analysis(
            run.method.as_ref(),
            &feats,
            &run.classes.select(&classes).unwrap(),
            256,
            &mut |_, _| true,
        )
        .unwrap();
        let mut p = Predictions {
            sample_ids: (0..n).map(|i| format!("s{i}")).collect(),
            labels: vec![0; n],
            unseen: vec![false; classes.len()],
            scores: a.scores,
            classes,
            features: Some(a.features),
            ..Predictions::default()
        };
        let before = p.features.clone().unwrap();
        assert!(!before.classes.is_empty(), "DeViSE exports class points");
        refresh_class_points(&mut p, &run, &perturbed(&run.classes, 3), &feats).unwrap();
        let after = p.features.clone().unwrap();
        assert_eq!(after.samples, before.samples);
        let d = before.dim;
        for c in 0..p.classes.len() {
            let (x, y) = (
                &before.classes[c * d..(c + 1) * d],
                &after.classes[c * d..(c + 1) * d],
            );
            assert_eq!(x != y, c == 3, "class {c}");
        }
    }

    #[test]
    fn one_class_columns_equal_a_full_rescoring_for_every_method() {
        let demo = crate::pipeline::demo::demo_run().unwrap();
        let c = demo.classes.num_classes();
        let n = 12;
        let dev = Device::Cpu;
        let feats = FeatureBatch {
            pooled: Tensor::randn(0f32, 1.0, (n, 256), &dev).unwrap(),
            masked: None,
            map: Some(Tensor::randn(0f32, 1.0, (n, 3, 25, 256), &dev).unwrap()),
        };
        let split = &demo.config.split;
        let layout = crate::eval::GzslLayout::new(&split.seen, &split.unseen);
        let all = layout.classes().to_vec();
        let base = Predictions {
            sample_ids: (0..n).map(|i| format!("s{i}")).collect(),
            labels: (0..n).map(|i| all[i % all.len()]).collect(),
            unseen: layout.unseen_mask(),
            scores: vec![0.0; n * all.len()],
            classes: all,
            class_names: split.class_names.clone(),
            ..Predictions::default()
        };
        let edited = perturbed(&demo.classes, 3);
        assert_eq!(changed_classes(&demo.classes, &edited).unwrap(), [3]);
        assert!(
            changed_classes(&demo.classes, &demo.classes)
                .unwrap()
                .is_empty()
        );
        for kind in crate::zsl::MethodKind::ALL {
            let mut config = demo.config.clone();
            config.method = MethodConfig::default_for(kind);
            let (method, _) = config.method.build_trainable(config.dims, &dev, 3).unwrap();
            let run = LoadedRun {
                dir: "test".into(),
                config,
                method,
                classes: demo.classes.clone(),
                branch_set: None,
                saved_gamma: None,
            };
            // Predictions with the method's component tables (STAR's parts, InfoCPL's branches), as scored.
            let analysed = |classes: &ClassEmbeddings| {
                let a = method_analysis(
                    run.method.as_ref(),
                    &feats,
                    &classes.select(&base.classes).unwrap(),
                    5,
                    &mut |_, _| true,
                )
                .unwrap();
                (a.star, a.infocpl)
            };
            let (star, infocpl) = analysed(&demo.classes);
            let base = Predictions {
                star,
                infocpl,
                ..base.clone()
            };
            let before = rescored(&base, &run, &demo.classes, &feats).unwrap();
            let full = rescored(&base, &run, &edited, &feats).unwrap();
            let part = rescored_classes(&before, &run, &edited, &feats, None, &[3]).unwrap();
            // The component tables follow the edit, in the full and the one-class re-scoring alike.
            let (star, infocpl) = analysed(&edited);
            let expected = star.map(|s| s.scores).or(infocpl.map(|b| b.scores));
            let tables = |p: &Predictions| {
                p.star
                    .as_ref()
                    .map(|s| s.scores.clone())
                    .or(p.infocpl.as_ref().map(|b| b.scores.clone()))
            };
            assert_eq!(
                expected.is_some(),
                matches!(kind, MethodKind::Star | MethodKind::InfoCpl),
                "{kind}"
            );
            if let Some(expected) = expected {
                assert_ne!(tables(&before), Some(expected.clone()), "{kind}: no change");
                for got in [tables(&full), tables(&part)] {
                    let got = got.unwrap();
                    assert_eq!(got.len(), expected.len(), "{kind}");
                    for (a, b) in expected.iter().zip(&got) {
                        assert!(
                            (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                            "{kind}: {a} vs {b}"
                        );
                    }
                }
            }
            assert_ne!(
                full.scores, before.scores,
                "{kind}: the edit changes nothing"
            );
            for (a, b) in full.scores.iter().zip(&part.scores) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                    "{kind}: {a} vs {b}"
                );
            }
            // From the cached sample side (every method has one), the same scores.
            let visual = visual_part_of(&run, &feats).unwrap();
            assert!(visual.is_some(), "{kind}");
            let cached =
                rescored_classes(&before, &run, &edited, &feats, visual.as_ref(), &[3]).unwrap();
            for (a, b) in full.scores.iter().zip(&cached.scores) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                    "{kind}: {a} vs {b} (cached)"
                );
            }
            assert!(c > 3);
        }
    }
}
