//! The run's training samples as points of the space its test features live in (the method's joint space, or the
//! pooled encoder features), so that the explorer can list the nearest *training* samples of a test sample. Only a
//! session that holds the skeleton encoder can make them (a run scored live: the demo, `gui --encoder`): a
//! `predictions.json` stores its test samples' features only. Computed on a worker when the view asks for them.

use crate::dataset::Dataset;
use crate::eval::GzslLayout;
use crate::experiment::run::LoadedRun;
use crate::util::jobs::JobHandle;

use super::analysis::method_analysis;
use super::predict::EncoderModel;

/// Training samples in the run's feature space.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingPoints {
    /// `SampleMeta::id` of each training sample (N).
    pub ids: Vec<String>,
    /// Dataset class of each (N); training samples are of seen classes.
    pub labels: Vec<usize>,
    pub dim: usize,
    /// Row-major N x dim, in the order of `ids`.
    pub samples: Vec<f32>,
}

/// The ids of the training samples of the run's split in `ds`, or `None` when the split does not apply to `ds`
/// (then the run scored every sample and no sample is known to be a training one).
pub fn training_ids(ds: &Dataset, run: &LoadedRun) -> Option<Vec<String>> {
    let part = super::predict::run_partition(ds, run)?;
    Some(
        part.train
            .iter()
            .filter_map(|&i| ds.samples.get(i).map(|s| s.meta.id.clone()))
            .collect(),
    )
}

/// Encodes every sample of `train` (the training samples, see [`training_ids`]) with `model` and maps them into
/// the space of the run's test features: the method's joint embedding against the same classes (the split's seen
/// then unseen ones) as [`super::predict::predictions_from_features`], or the pooled features. Progress goes to
/// `handle`, which can cancel between batches.
pub fn training_points(
    model: &EncoderModel,
    run: &LoadedRun,
    train: &Dataset,
    handle: &JobHandle,
) -> Result<TrainingPoints, String> {
    let rows: Vec<usize> = (0..train.samples.len()).collect();
    if rows.is_empty() {
        return Ok(TrainingPoints::default());
    }
    let feats = model
        .features(train, &rows, run, &mut |done, total| {
            handle.set_progress(0.9 * done as f32 / total.max(1) as f32);
            !handle.cancelled()
        })
        .map_err(|e| e.to_string())?;
    let split = &run.config.split;
    let layout = GzslLayout::new(&split.seen, &split.unseen);
    let classes = run
        .classes
        .select(layout.classes())
        .map_err(|e| e.to_string())?;
    let a = method_analysis(run.method.as_ref(), &feats, &classes, 256, &mut |_, _| {
        !handle.cancelled()
    })
    .map_err(|e| e.to_string())?;
    handle.set_progress(1.0);
    Ok(TrainingPoints {
        ids: train.samples.iter().map(|s| s.meta.id.clone()).collect(),
        labels: train.samples.iter().map(|s| s.meta.label).collect(),
        dim: a.features.dim,
        samples: a.features.samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's split applies to the demo dataset: its training samples are of seen classes only, none of them
    /// is scored, and their points have the dimension of the scored samples' features.
    #[test]
    fn demo_training_points_are_seen_class_samples_in_the_test_feature_space() {
        let ds = crate::pipeline::demo::demo_dataset();
        let run = crate::pipeline::demo::demo_run().unwrap();
        let ids = training_ids(&ds, &run).expect("the demo split applies to the demo data");
        assert!(!ids.is_empty());
        let (scored, on_split) = crate::pipeline::predict::scored_rows(&ds, &run);
        assert!(on_split);
        let scored: std::collections::HashSet<&str> = scored
            .iter()
            .map(|&i| ds.samples[i].meta.id.as_str())
            .collect();
        assert!(ids.iter().all(|id| !scored.contains(id.as_str())));
        let seen: std::collections::HashSet<usize> =
            run.config.split.seen.iter().copied().collect();
        // A few samples keep the test quick; the space does not depend on how many are encoded.
        let keep: std::collections::HashSet<&String> = ids.iter().take(6).collect();
        let train = Dataset {
            samples: ds
                .samples
                .iter()
                .filter(|s| keep.contains(&s.meta.id))
                .cloned()
                .collect(),
            ..ds.clone()
        };
        let model = crate::pipeline::demo::demo_encoder(&candle_core::Device::Cpu).unwrap();
        let pts = training_points(&model, &run, &train, &JobHandle::default()).unwrap();
        assert_eq!(pts.ids.len(), 6);
        assert!(pts.labels.iter().all(|l| seen.contains(l)));
        assert_eq!(pts.samples.len(), 6 * pts.dim);
        let test_rows: Vec<usize> = ds
            .samples
            .iter()
            .enumerate()
            .filter(|(_, s)| scored.contains(s.meta.id.as_str()))
            .map(|(i, _)| i)
            .take(2)
            .collect();
        let feats = model
            .features(&ds, &test_rows, &run, &mut |_, _| true)
            .unwrap();
        let p = crate::pipeline::predict::predictions_from_features(&run, &feats, &ds, &test_rows)
            .unwrap();
        assert_eq!(p.features.unwrap().dim, pts.dim);
    }
}
