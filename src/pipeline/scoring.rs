//! Live scoring on a worker: a dataset encoded by a pretrained skeleton encoder and scored by a zero-shot run, either
//! the demo's embedded pair or run folders given with `skelzero gui --data D --encoder ENC --run RUN`. The app keeps
//! the features and the run ([`Scored`]) so that edited class descriptions are re-scored without encoding the
//! skeletons again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::dataset::texts::ClassTexts;
use crate::experiment::run::{LoadedRun, load_run};
use crate::pipeline::EncoderModel;
use crate::pipeline::predict::{predictions_from_features, scored_rows};
use crate::zsl::FeatureBatch;

use super::predictions::Predictions;
use crate::dataset::Dataset;
use crate::util::jobs::JobHandle;

/// What to score.
#[derive(Clone, Debug)]
pub enum ScoreSource {
    /// The built-in demo: synthetic dataset, embedded encoder and embedded run `.0` (of
    /// [`super::demo::DEMO_RUNS`]).
    Demo(usize),
    /// A dataset path, a `skelzero pretrain` run folder and a `skelzero train` run folder.
    Folders {
        data: PathBuf,
        encoder: PathBuf,
        run: PathBuf,
    },
}

/// A scored dataset and what is needed to score it again.
pub struct Scored {
    pub predictions: Predictions,
    /// Encoder features of the scored samples, in the predictions' row order.
    pub features: FeatureBatch,
    /// Shared with re-scoring workers (the method is `Send`, not `Sync`).
    pub run: Arc<Mutex<LoadedRun>>,
    /// The class texts the run's embeddings were made from, when known (the demo's).
    pub texts: Option<ClassTexts>,
    /// Whether the scored samples are the test samples of the run's split (else every sample).
    pub on_split: bool,
    /// The encoder that made `features`, kept for the training samples' points
    /// ([`super::training_points`]), computed when the nearest-samples view asks for them.
    pub encoder: Arc<EncoderModel>,
    /// The ids of the run's training samples in the scored dataset (`None` when its split does not apply).
    pub training_ids: Option<Vec<String>>,
    pub seconds: f32,
}

/// Loads, encodes (on `device`) and scores (on a worker); progress goes to `handle`, which can cancel between
/// batches.
pub fn score_job(
    source: &ScoreSource,
    device: &candle_core::Device,
    handle: &JobHandle,
) -> Result<Scored, String> {
    let start = Instant::now();
    handle.set_progress(0.02);
    tracing::debug!("score job: start");
    let (dataset, model, run, texts) = match source {
        ScoreSource::Demo(i) => (
            super::demo::demo_dataset(),
            super::demo::demo_encoder(device).map_err(|e| e.to_string())?,
            super::demo::demo_run_at(*i).map_err(|e| e.to_string())?,
            Some(super::demo::demo_texts()),
        ),
        ScoreSource::Folders { data, encoder, run } => {
            let model = EncoderModel::load(encoder, device).map_err(|e| e.to_string())?;
            let run = load_run(run).map_err(|e| e.to_string())?;
            let dataset = load_dataset_job(data, handle)?;
            (dataset, model, run, None)
        }
    };
    handle.set_progress(0.1);
    tracing::debug!(
        "score job: data, encoder and run ready after {:.2} s",
        start.elapsed().as_secs_f32()
    );
    let (rows, on_split) = scored_rows(&dataset, &run);
    let training_ids = super::training_points::training_ids(&dataset, &run);
    let features = model
        .features(&dataset, &rows, &run, &mut |done, total| {
            handle.set_progress(0.1 + 0.88 * done as f32 / total.max(1) as f32);
            !handle.cancelled()
        })
        .map_err(|e| e.to_string())?;
    tracing::debug!(
        "score job: {} samples encoded after {:.2} s",
        rows.len(),
        start.elapsed().as_secs_f32()
    );
    let predictions =
        predictions_from_features(&run, &features, &dataset, &rows).map_err(|e| e.to_string())?;
    handle.set_progress(1.0);
    Ok(Scored {
        predictions,
        features,
        run: Arc::new(Mutex::new(run)),
        texts,
        on_split,
        encoder: Arc::new(model),
        training_ids,
        seconds: start.elapsed().as_secs_f32(),
    })
}

/// Reads a dataset from a folder or file, or the built-in demo for the path `demo`.
pub fn load_dataset_job(path: &Path, handle: &JobHandle) -> Result<Dataset, String> {
    handle.set_progress(0.05);
    if super::demo::is_demo_path(path) {
        return Ok(super::demo::demo_dataset());
    }
    let dataset = crate::dataset::load::load_dataset(path, None).map_err(|e| e.to_string())?;
    handle.set_progress(1.0);
    if dataset.samples.is_empty() {
        return Err(format!("{}: no samples found", path.display()));
    }
    Ok(dataset)
}
