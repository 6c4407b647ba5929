//! Scoring an InfoCPL run again with an edited branch set, the GUI-free part of the explorer's branch editor: a
//! [`BranchSession`] holds the run's weights, its test features and the class embeddings in effect, and
//! [`rescore_job`] scores every sample with a [`BranchSet`] (progress and cancel through a [`JobHandle`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::analysis::method_analysis;
use super::predictions::Predictions;
use crate::experiment::run::{LoadedRun, load_run};
use crate::util::jobs::JobHandle;
use crate::zsl::branch_set::BranchSet;
use crate::zsl::features::SplitFeatures;
use crate::zsl::infocpl::InfoCpl;
use crate::zsl::{ClassEmbeddings, FeatureBatch};

/// Rows scored per batch (bounds memory and sets how often cancel is checked).
const BATCH: usize = 64;

/// A run whose branches can be scored again.
pub struct BranchSession {
    pub run: Arc<Mutex<LoadedRun>>,
    /// The class embeddings scored against: the run's own, or the class-description editor's current texts
    /// (handed over by the app as a value, [`BranchSession::set_class_embeddings`]).
    pub classes: ClassEmbeddings,
    pub features: FeatureBatch,
    /// Where `branch_set.toml` is saved (none for the embedded demo).
    pub dir: Option<PathBuf>,
    pub trained: Vec<usize>,
    /// Phrases per class (the largest useful k).
    pub codebook: usize,
    /// The set the run was opened with, and the method label then.
    pub opened: BranchSet,
    pub label: String,
}

impl BranchSession {
    /// Scores with these class embeddings from now on (the description editor's re-scored texts).
    pub fn set_class_embeddings(&mut self, classes: ClassEmbeddings) {
        self.classes = classes;
    }
}

pub fn session_from_run(
    run: Arc<Mutex<LoadedRun>>,
    features: FeatureBatch,
    dir: Option<PathBuf>,
    label: String,
) -> Result<BranchSession, String> {
    let (trained, codebook, opened, classes) = {
        let r = run.lock().map_err(|_| "the run is poisoned".to_owned())?;
        let info = r
            .method
            .as_infocpl()
            .ok_or_else(|| format!("{} has no branches", r.config.method.kind().title()))?;
        let trained = info.trained_topk();
        let set = info.branch_set().clone();
        let codebook = r
            .classes
            .phrases
            .as_ref()
            .and_then(|p| p.dims().get(1).copied())
            .unwrap_or(1);
        (trained, codebook, set, r.classes.clone())
    };
    Ok(BranchSession {
        run,
        classes,
        features,
        dir,
        trained,
        codebook,
        opened,
        label,
    })
}

/// The feature file a run records, as given or relative to the run folder.
pub fn feature_file_of(run: &LoadedRun, dir: &Path) -> Result<PathBuf, String> {
    let recorded = run.config.features.clone().ok_or_else(|| {
        format!(
            "{}: the run records no feature file to score again",
            dir.display()
        )
    })?;
    [recorded.clone(), dir.join(&recorded)]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "{}: its feature file {} is not there",
                dir.display(),
                recorded.display()
            )
        })
}

/// Loads a run folder's weights and its test features in the order of `p` (the worker body).
pub fn load_session(dir: &Path, p: &Predictions) -> Result<BranchSession, String> {
    let run = load_run(dir).map_err(|e| e.to_string())?;
    if run.method.as_infocpl().is_none() {
        return Err(format!("{}: not an InfoCPL run", dir.display()));
    }
    let path = feature_file_of(&run, dir)?;
    let f = SplitFeatures::load(&path).map_err(|e| e.to_string())?;
    if f.test_ids_or_fallback() != p.sample_ids || f.test_labels != p.labels {
        return Err(format!(
            "{}: its test samples are not the ones predictions.json scores",
            path.display()
        ));
    }
    session_from_run(
        Arc::new(Mutex::new(run)),
        f.test,
        Some(dir.to_owned()),
        p.method.clone(),
    )
}

/// Scores `base`'s samples again with `set` (the worker body). The run keeps `set` on success and its previous set
/// on failure or cancel.
pub fn rescore_job(
    run: &Mutex<LoadedRun>,
    class_embeddings: &ClassEmbeddings,
    features: &FeatureBatch,
    base: &Predictions,
    set: &BranchSet,
    label: &str,
    handle: &JobHandle,
) -> Result<Predictions, String> {
    let mut run = run.lock().map_err(|_| "the run is poisoned".to_owned())?;
    let kind = run.method.kind();
    let info = run
        .method
        .as_infocpl_mut()
        .ok_or_else(|| format!("{} has no branches to choose", kind.title()))?;
    let previous = info.branch_set().clone();
    info.set_branch_set(set.clone())
        .map_err(|e| e.to_string())?;
    let scored = class_embeddings
        .select(&base.classes)
        .map_err(|e| e.to_string())
        .and_then(|classes| {
            method_analysis(
                run.method.as_ref(),
                features,
                &classes,
                BATCH,
                &mut |done, n| {
                    handle.set_progress(done as f32 / n.max(1) as f32);
                    !handle.cancelled()
                },
            )
            .map_err(|e| e.to_string())
        });
    let a = match scored {
        Ok(a) => a,
        Err(e) => {
            if let Some(info) = run.method.as_infocpl_mut() {
                info.set_branch_set(previous).ok();
            }
            return Err(e);
        }
    };
    let topk = run
        .method
        .as_infocpl()
        .map(InfoCpl::trained_topk)
        .unwrap_or_default();
    let trained = *set == BranchSet::trained(&topk);
    let names: Vec<String> = set.enabled().map(|b| BranchSet::name(b, &topk)).collect();
    let p = Predictions {
        method: if trained {
            label.to_owned()
        } else {
            format!("{label} · branches {}", names.join(", "))
        },
        scores: a.scores,
        infocpl: a.infocpl,
        features: Some(a.features),
        ..base.clone()
    };
    p.validate(&run.dir.display().to_string())
        .map_err(|e| e.to_string())?;
    Ok(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::experiment::run::{RunConfig, SplitInfo};
    use crate::zsl::infocpl::InfoCplConfig;
    use crate::zsl::{Dims, MethodConfig};
    use candle_core::{Device, Tensor};

    fn tensor(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i as u64 * 7919 + seed * 104_729) % 997) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// The weights of [`small_run`]'s method (built again from the same seed).
    pub(crate) fn weights_of(run: &LoadedRun) -> std::collections::HashMap<String, Tensor> {
        let (_, varmap) = run
            .config
            .method
            .build_trainable(run.config.dims, &Device::Cpu, 2)
            .unwrap();
        let data = varmap.data().lock().unwrap();
        data.iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }

    /// A two-branch InfoCPL run (top-1, top-3; untrained, seed 2) over 10 samples of 5 classes, 3 seen.
    pub(crate) fn small_run() -> (Mutex<LoadedRun>, FeatureBatch, Predictions) {
        let method = MethodConfig::InfoCpl(InfoCplConfig {
            topk: vec![1, 3],
            hidden: [16, 8],
            ..InfoCplConfig::default()
        });
        let dims = Dims { visual: 6, text: 4 };
        let (m, _) = method.build_trainable(dims, &Device::Cpu, 2).unwrap();
        let (n, c) = (10, 5);
        let config = RunConfig {
            method,
            train: Default::default(),
            dims,
            split: SplitInfo {
                name: "s".into(),
                class_names: (0..c).map(|k| format!("class {k}")).collect(),
                seen: vec![0, 1, 2],
                unseen: vec![3, 4],
            },
            gamma: 0.0,
            epoch: 0,
            features: None,
            evaluation: None,
        };
        let run = LoadedRun {
            dir: "mem".into(),
            config,
            method: m,
            classes: ClassEmbeddings {
                names: tensor(&[c, 4], 1),
                sentences: tensor(&[c, 4], 2),
                parts: None,
                phrases: Some(tensor(&[c, 6, 4], 3)),
                motion: Some(tensor(&[c, 4], 4)),
            },
            branch_set: None,
            saved_gamma: None,
        };
        let base = Predictions {
            sample_ids: (0..n).map(|i| format!("s{i}")).collect(),
            labels: (0..n).map(|i| i % c).collect(),
            classes: (0..c).collect(),
            unseen: (0..c).map(|k| k >= 3).collect(),
            scores: vec![0.0; n * c],
            ..Predictions::default()
        };
        (
            Mutex::new(run),
            FeatureBatch::from_pooled(tensor(&[n, 6], 5)),
            base,
        )
    }

    #[test]
    fn rescoring_follows_the_set_and_a_cancel_keeps_the_old_one() {
        let (run, feats, base) = small_run();
        let classes = run.lock().unwrap().classes.clone();
        let trained = BranchSet::trained(&[1, 3]);
        let go = JobHandle::default();
        let p1 = rescore_job(&run, &classes, &feats, &base, &trained, "run", &go).unwrap();
        assert_eq!(p1.method, "run");
        let mut only3 = trained.clone();
        only3.branches[0].enabled = false;
        // Cancelled: an error, and the run still scores with the trained set.
        let stop = JobHandle::default();
        stop.cancel();
        assert!(rescore_job(&run, &classes, &feats, &base, &only3, "run", &stop).is_err());
        assert_eq!(
            run.lock()
                .unwrap()
                .method
                .as_infocpl()
                .map(InfoCpl::branch_set),
            Some(&trained)
        );
        let p2 = rescore_job(&run, &classes, &feats, &base, &only3, "run", &go).unwrap();
        assert_ne!(p2.scores, p1.scores);
        assert_eq!(p2.infocpl.as_ref().unwrap().branches, ["top-3"]);
        assert_eq!(p2.method, "run · branches top-3");
        assert_eq!(go.progress(), 1.0);
        let p3 = rescore_job(&run, &classes, &feats, &base, &trained, "run", &go).unwrap();
        assert!(
            p3.scores
                .iter()
                .zip(&p1.scores)
                .all(|(a, b)| (a - b).abs() < 1e-6)
        );
    }
}
