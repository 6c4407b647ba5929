//! Scoring a dataset with a trained pair: a pretrained skeleton encoder ([`EncoderModel`]) turns samples into
//! features, a zero-shot run ([`LoadedRun`]) scores them against its class embeddings, and the result is the
//! [`Predictions`] the explorer shows and `skelzero eval --predictions-out` writes.

use std::path::Path;

use candle_core::Device;
use candle_nn::VarMap;

use super::features::{FeatureOptions, features_of_rows};
use super::{PipelineError, Result};
use crate::dataset::Dataset;
use crate::eval::analysis::method_analysis;
use crate::eval::predictions::Predictions;
use crate::nn::checkpoint::{load_varmap, load_varmap_bytes};
use crate::nn::encoder::Encoder;
use crate::nn::run::{RunConfig, RunDir};
use crate::skeleton::preprocess::PreprocessConfig;
use crate::zsl::run::LoadedRun;
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
        let preprocess = PreprocessConfig {
            frames: config.data.frames,
            ..PreprocessConfig::default()
        };
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

/// The samples a run should be scored on: the GZSL test samples of its split when the split applies to `ds` (so
/// the accuracy shown is a test accuracy), else every sample.
pub fn scored_rows(ds: &Dataset, run: &LoadedRun) -> (Vec<usize>, bool) {
    use crate::dataset::protocol::{ProtocolInputs, SplitArgs};
    let part = ProtocolInputs::for_dataset(ds)
        .ok()
        .and_then(|inputs| {
            SplitArgs::named(&run.config.split.name)
                .partition(ds, &inputs)
                .ok()
        })
        .filter(|p| p.seen == run.config.split.seen && p.unseen == run.config.split.unseen);
    match part {
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
    let samples = rows
        .iter()
        .map(|&i| {
            ds.samples
                .get(i)
                .ok_or_else(|| PipelineError::Invalid(format!("sample index {i} out of range")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut all = split.seen.clone();
    all.extend_from_slice(&split.unseen);
    let seen = split.seen.len();
    let a = method_analysis(
        run.method.as_ref(),
        feats,
        &run.classes.select(&all)?,
        256,
        &mut |_, _| true,
    )?;
    let p = Predictions {
        method: format!(
            "{} on {} (gamma {:.2})",
            run.config.method.kind().title(),
            split.name,
            run.config.gamma
        ),
        sample_ids: samples.iter().map(|s| s.meta.id.clone()).collect(),
        labels: samples.iter().map(|s| s.meta.label).collect(),
        scores: a.scores,
        unseen: (0..all.len()).map(|j| j >= seen).collect(),
        classes: all,
        class_names: split.class_names.clone(),
        gamma: run.config.gamma as f32,
        features: Some(a.features),
        star: a.star,
        infocpl: a.infocpl,
    };
    p.validate(&run.dir.display().to_string())
        .map_err(invalid)?;
    Ok(p)
}

/// `p` (made by [`predictions_from_features`] from `feats`) scored again against other class embeddings, e.g.
/// after a class description was edited.
pub fn rescored(
    p: &Predictions,
    run: &LoadedRun,
    classes: &ClassEmbeddings,
    feats: &FeatureBatch,
) -> Result<Predictions> {
    if feats.len() != p.num_samples() {
        return Err(PipelineError::Invalid(format!(
            "{} feature rows for {} scored samples",
            feats.len(),
            p.num_samples()
        )));
    }
    let scores = scores_of(run, classes, feats, &p.classes)?;
    let out = Predictions {
        scores,
        ..p.clone()
    };
    out.validate(&run.dir.display().to_string())
        .map_err(invalid)?;
    Ok(out)
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
