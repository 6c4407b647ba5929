//! An InfoCPL branch set measured without the unseen test classes: each of the run's seen-class validation fold
//! models ([`crate::experiment::fold_models`], trained without its fold's pseudo-unseen classes) scores its
//! pseudo-unseen samples with the set, and the set's validation ZSL top-1 is the mean over the folds, as the run's
//! own selection measured its epoch (`val_zsl_top1` in `config.toml`). This is the figure to tune a branch set on;
//! the test-split figures ([`test_branch_accuracy`], [`sweep_job`]'s test series) are for reporting only.

use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use super::analysis::method_analysis;
use super::predictions::Predictions;
use crate::eval::layout::local_labels;
use crate::experiment::fold_models::{FoldModels, VALIDATION_FILE};
use crate::experiment::run::LoadedRun;
use crate::util::jobs::JobHandle;
use crate::zsl::branch_set::{BranchSet, BranchSpec};
use crate::zsl::features::SplitFeatures;
use crate::zsl::trainer::score_matrix;
use crate::zsl::{ClassEmbeddings, FeatureBatch, ZslMethod};

/// Rows scored per batch.
const BATCH: usize = 256;

/// What the explorer says for a run without fold models.
pub const NO_VALIDATION: &str = "no validation data in this run (trained before `skelzero train` kept its \
                                 validation fold models): only test-split figures exist, so a set chosen here is \
                                 tuned on the unseen test classes";

/// One fold model with its pseudo-unseen samples.
struct FoldSet {
    method: Box<dyn ZslMethod>,
    pseudo_unseen: Vec<usize>,
    features: FeatureBatch,
    /// Labels local to `pseudo_unseen`.
    labels: Vec<usize>,
}

/// A run's validation fold models, ready to score branch sets.
pub struct BranchValidation {
    folds: Vec<FoldSet>,
}

/// A branch set's validation figures.
#[derive(Clone, Debug, PartialEq)]
pub struct SetFigures {
    /// Mean over the folds of the pseudo-unseen ZSL top-1.
    pub zsl: f64,
    pub per_fold: Vec<f64>,
    /// Each enabled branch alone (its name, mean ZSL top-1 over the folds), in the set's order.
    pub branches: Vec<(String, f64)>,
    /// Pseudo-unseen samples over all folds.
    pub samples: usize,
}

/// Top-1 accuracy of row-major `n x c` scores against local labels.
fn top1(scores: &[f32], c: usize, labels: &[usize]) -> f64 {
    top1_by(labels.len(), c, labels, |row, col| scores[row * c + col])
}

fn top1_by(n: usize, c: usize, labels: &[usize], score: impl Fn(usize, usize) -> f32) -> f64 {
    if n == 0 || c == 0 {
        return 0.0;
    }
    let hits = (0..n)
        .filter(|&row| {
            let best = (0..c).max_by(|&a, &b| score(row, a).total_cmp(&score(row, b)));
            best == Some(labels[row])
        })
        .count();
    hits as f64 / n as f64
}

impl BranchValidation {
    /// The fold models of `models` over the training samples `train` / `train_labels` of the run's feature file.
    pub fn new(
        run: &LoadedRun,
        models: FoldModels,
        train: &FeatureBatch,
        train_labels: &[usize],
    ) -> Result<Self, String> {
        let file = run.dir.join(VALIDATION_FILE);
        let here = |f: usize, e: String| format!("{}: fold {f}: {e}", file.display());
        if models.train_samples != train_labels.len() {
            return Err(format!(
                "{}: its rows index {} training samples, the run's feature file has {}",
                file.display(),
                models.train_samples,
                train_labels.len()
            ));
        }
        let seen = &run.config.split.seen;
        let mut folds = Vec::with_capacity(models.folds.len());
        for (f, fm) in models.folds.into_iter().enumerate() {
            let s = &fm.split;
            if let Some(c) = s.pseudo_unseen.iter().find(|c| !seen.contains(c)) {
                return Err(here(f, format!("class {c} is not a seen class of the run")));
            }
            let vb = VarBuilder::from_tensors(fm.weights, DType::F32, &Device::Cpu);
            let method = run
                .config
                .method
                .build(run.config.dims, vb)
                .map_err(|e| here(f, e.to_string()))?;
            if method.as_infocpl().is_none() {
                return Err(here(f, "not an InfoCPL model".into()));
            }
            let features = train
                .select(&s.val_unseen_rows)
                .map_err(|e| here(f, e.to_string()))?;
            let labels = local_labels(train_labels, &s.val_unseen_rows, &s.pseudo_unseen);
            if labels.iter().any(|&l| l >= s.pseudo_unseen.len()) {
                return Err(here(
                    f,
                    "a held-out row is not of a pseudo-unseen class".into(),
                ));
            }
            folds.push(FoldSet {
                method,
                pseudo_unseen: s.pseudo_unseen.clone(),
                features,
                labels,
            });
        }
        if folds.is_empty() {
            return Err(format!("{}: no fold", file.display()));
        }
        Ok(Self { folds })
    }

    /// Reads the run folder's fold models and its feature file's training samples; `None` for a run without
    /// `validation.safetensors`. `features` is the feature file the run records (see
    /// [`super::branch_rescore::feature_file_of`]).
    pub fn load(run: &LoadedRun, dir: &Path, features: &Path) -> Result<Option<Self>, String> {
        let Some(models) = FoldModels::load(dir).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let f = SplitFeatures::load(features).map_err(|e| e.to_string())?;
        Self::new(run, models, &f.train, &f.train_labels).map(Some)
    }

    /// Pseudo-unseen samples over all folds.
    pub fn samples(&self) -> usize {
        self.folds.iter().map(|f| f.labels.len()).sum()
    }

    /// Scores `set` on every fold against `classes` (the run's class embeddings in effect: the description
    /// editor's edits count). `progress(done, total)` after each fold; `false` cancels with an error.
    pub fn score(
        &mut self,
        classes: &ClassEmbeddings,
        set: &BranchSet,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<SetFigures, String> {
        let n = self.folds.len();
        let mut per_fold = Vec::with_capacity(n);
        let mut branch_sums: Vec<(String, f64)> = Vec::new();
        for (f, fold) in self.folds.iter_mut().enumerate() {
            let info = fold
                .method
                .as_infocpl_mut()
                .ok_or("a fold model is not InfoCPL")?;
            info.set_branch_set(set.clone())
                .map_err(|e| e.to_string())?;
            let cls = classes
                .select(&fold.pseudo_unseen)
                .map_err(|e| e.to_string())?;
            let a = method_analysis(
                fold.method.as_ref(),
                &fold.features,
                &cls,
                BATCH,
                &mut |_, _| true,
            )
            .map_err(|e| e.to_string())?;
            let c = fold.pseudo_unseen.len();
            per_fold.push(top1(&a.scores, c, &fold.labels));
            if let Some(b) = &a.infocpl {
                let nb = b.branches.len();
                if branch_sums.is_empty() {
                    branch_sums = b.branches.iter().map(|s| (s.clone(), 0.0)).collect();
                }
                for (bi, sum) in branch_sums.iter_mut().enumerate().take(nb) {
                    sum.1 += top1_by(fold.labels.len(), c, &fold.labels, |row, col| {
                        b.scores[(row * c + col) * nb + bi]
                    });
                }
            }
            if !progress(f + 1, n) {
                return Err("cancelled".into());
            }
        }
        let mean = |v: f64| v / n.max(1) as f64;
        Ok(SetFigures {
            zsl: mean(per_fold.iter().sum()),
            per_fold,
            branches: branch_sums
                .into_iter()
                .map(|(name, s)| (name, mean(s)))
                .collect(),
            samples: self.samples(),
        })
    }
}

/// Each InfoCPL branch alone on the test split: the ZSL top-1 of its own scores over the unseen-class samples and
/// the unseen classes, from `p`'s stored branch scores (branch name, accuracy).
pub fn test_branch_accuracy(p: &Predictions) -> Vec<(String, f64)> {
    let Some(b) = &p.infocpl else {
        return Vec::new();
    };
    let c = p.num_classes();
    let nb = b.branches.len();
    let cols: Vec<usize> = (0..c).filter(|&k| p.unseen[k]).collect();
    let rows: Vec<(usize, usize)> = (0..p.num_samples())
        .filter_map(|i| {
            let col = p.classes.iter().position(|&k| k == p.labels[i])?;
            let local = cols.iter().position(|&k| k == col)?;
            Some((i, local))
        })
        .collect();
    let labels: Vec<usize> = rows.iter().map(|r| r.1).collect();
    b.branches
        .iter()
        .enumerate()
        .map(|(bi, name)| {
            let acc = top1_by(rows.len(), cols.len(), &labels, |r, l| {
                b.scores[(rows[r].0 * c + cols[l]) * nb + bi]
            });
            (name.clone(), acc)
        })
        .collect()
}

/// ZSL accuracy against `k` for single-branch sets on one trained branch's weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sweep {
    /// The trained branch whose weights every point uses, and the `k` it was trained with.
    pub weights: usize,
    pub trained_k: usize,
    pub ks: Vec<usize>,
    /// Validation ZSL top-1 at each `k` (`None`: the run has no validation data).
    pub validation: Option<Vec<f64>>,
    /// Test-split ZSL top-1 at each `k` (unseen classes: for reporting, not for choosing).
    pub test: Vec<f64>,
}

/// What a sweep reads: the run (its branch set is restored after each point), its validation folds, the class
/// embeddings in effect, and the test samples of `base` with their features.
pub struct SweepInput<'a> {
    pub run: &'a Mutex<LoadedRun>,
    pub validation: Option<&'a Mutex<BranchValidation>>,
    pub classes: &'a ClassEmbeddings,
    pub features: &'a FeatureBatch,
    pub base: &'a Predictions,
}

/// Scores the single-branch set `{top-k on trained branch weights}` for every `k` of `ks`, on validation and on
/// the test split's unseen classes (the worker body; progress and cancel through `handle`).
pub fn sweep_job(
    input: &SweepInput<'_>,
    weights: usize,
    ks: &[usize],
    handle: &JobHandle,
) -> Result<Sweep, String> {
    let p = input.base;
    let cols: Vec<usize> = (0..p.num_classes()).filter(|&k| p.unseen[k]).collect();
    let unseen_ids: Vec<usize> = cols.iter().map(|&k| p.classes[k]).collect();
    let rows: Vec<usize> = (0..p.num_samples())
        .filter(|&i| unseen_ids.contains(&p.labels[i]))
        .collect();
    let labels = local_labels(&p.labels, &rows, &unseen_ids);
    let feats = input.features.select(&rows).map_err(|e| e.to_string())?;
    let classes = input
        .classes
        .select(&unseen_ids)
        .map_err(|e| e.to_string())?;
    let trained_k = {
        let run = input.run.lock().map_err(|_| "the run is poisoned")?;
        let info = run.method.as_infocpl().ok_or("not an InfoCPL run")?;
        *info
            .trained_topk()
            .get(weights)
            .ok_or_else(|| format!("the run has no trained branch {weights}"))?
    };
    let mut out = Sweep {
        weights,
        trained_k,
        ks: ks.to_vec(),
        validation: input.validation.map(|_| Vec::new()),
        test: Vec::new(),
    };
    for (i, &k) in ks.iter().enumerate() {
        let set = BranchSet {
            branches: vec![BranchSpec {
                weights,
                k,
                enabled: true,
            }],
        };
        if let (Some(v), Some(out_v)) = (input.validation, out.validation.as_mut()) {
            let mut v = v.lock().map_err(|_| "the validation models are poisoned")?;
            out_v.push(v.score(input.classes, &set, &mut |_, _| true)?.zsl);
        }
        let acc = {
            let mut run = input.run.lock().map_err(|_| "the run is poisoned")?;
            let info = run.method.as_infocpl_mut().ok_or("not an InfoCPL run")?;
            let previous = info.branch_set().clone();
            info.set_branch_set(set).map_err(|e| e.to_string())?;
            let s = score_matrix(run.method.as_ref(), &feats, &classes, BATCH);
            if let Some(info) = run.method.as_infocpl_mut() {
                info.set_branch_set(previous).map_err(|e| e.to_string())?;
            }
            s.map_err(|e| e.to_string())?
        };
        out.test.push(top1(&acc.data, acc.c, &labels));
        handle.set_progress((i + 1) as f32 / ks.len().max(1) as f32);
        if handle.cancelled() {
            return Err("cancelled".into());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::branch_rescore::tests::small_run;

    #[test]
    fn top1_counts_the_best_column() {
        // Row 0 best at 1 (label 1: hit), row 1 best at 0 (label 1: miss).
        assert_eq!(top1(&[0.1, 0.9, 0.8, 0.2], 2, &[1, 1]), 0.5);
        assert_eq!(top1(&[], 2, &[]), 0.0);
    }

    #[test]
    fn per_branch_test_accuracy_reads_each_branch_alone() {
        // 2 samples (unseen classes 2 and 3), 4 classes (2 seen, 2 unseen), 2 branches: branch 0 right on both,
        // branch 1 right on none. Seen columns score highest and must be ignored.
        let mut scores = vec![0f32; 2 * 4 * 2];
        let at = |i: usize, col: usize, b: usize| (i * 4 + col) * 2 + b;
        for i in 0..2 {
            for b in 0..2 {
                scores[at(i, 0, b)] = 9.0;
            }
        }
        scores[at(0, 2, 0)] = 1.0;
        scores[at(1, 3, 0)] = 1.0;
        scores[at(0, 3, 1)] = 1.0;
        scores[at(1, 2, 1)] = 1.0;
        let p = Predictions {
            sample_ids: vec!["a".into(), "b".into()],
            labels: vec![2, 3],
            classes: vec![0, 1, 2, 3],
            unseen: vec![false, false, true, true],
            scores: vec![0.0; 8],
            infocpl: Some(crate::pipeline::analysis::BranchScores {
                branches: vec!["top-1".into(), "top-3".into()],
                scores,
            }),
            ..Predictions::default()
        };
        assert_eq!(
            test_branch_accuracy(&p),
            [("top-1".to_owned(), 1.0), ("top-3".to_owned(), 0.0)]
        );
    }

    /// Fold models built from the run's own weights, over its test features as "training" rows: the trained set's
    /// validation figure is then the run's own ZSL on those rows, and a single-branch set's figure is that branch's.
    #[test]
    fn a_set_scores_on_every_fold_and_each_branch_alone() {
        use crate::experiment::fold_models::{FoldModel, FoldModels};
        use crate::experiment::select::ValidationSplit;
        let (run, feats, base) = small_run();
        let run = run.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let weights = crate::pipeline::branch_rescore::tests::weights_of(&run);
        let labels = base.labels.clone();
        let split = |unseen: Vec<usize>| ValidationSplit {
            pseudo_seen: vec![],
            val_unseen_rows: (0..labels.len())
                .filter(|&i| unseen.contains(&labels[i]))
                .collect(),
            pseudo_unseen: unseen,
            train_rows: vec![],
            val_seen_rows: vec![],
        };
        let fm = FoldModels {
            folds: vec![
                FoldModel {
                    split: split(vec![0, 1]),
                    weights: weights.clone(),
                },
                FoldModel {
                    split: split(vec![1, 2]),
                    weights,
                },
            ],
            train_samples: labels.len(),
            lr: 1e-3,
            epoch: 0,
        };
        fm.save(dir.path()).unwrap();
        let fm = FoldModels::load(dir.path()).unwrap().unwrap();
        let mut v = BranchValidation::new(&run, fm, &feats, &labels).unwrap();
        assert_eq!(v.samples(), 4 + 4);
        let trained = BranchSet::trained(&[1, 3]);
        let mut calls = 0;
        let all = v
            .score(&run.classes, &trained, &mut |_, _| {
                calls += 1;
                true
            })
            .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(all.per_fold.len(), 2);
        assert!((all.zsl - (all.per_fold[0] + all.per_fold[1]) / 2.0).abs() < 1e-12);
        assert_eq!(all.branches.len(), 2);
        // The same figure from the scores of the run itself, on fold 0's rows and classes.
        let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] < 2).collect();
        let s = score_matrix(
            run.method.as_ref(),
            &feats.select(&rows).unwrap(),
            &run.classes.select(&[0, 1]).unwrap(),
            4,
        )
        .unwrap();
        let local = local_labels(&labels, &rows, &[0, 1]);
        assert_eq!(all.per_fold[0], top1(&s.data, 2, &local));
        // Each branch alone scores as its single-branch set.
        for (b, (_, acc)) in all.branches.iter().enumerate() {
            let mut one = trained.clone();
            one.branches[1 - b].enabled = false;
            let alone = v.score(&run.classes, &one, &mut |_, _| true).unwrap();
            assert!((alone.zsl - acc).abs() < 1e-12, "branch {b}");
        }
        // Cancel stops with an error.
        assert!(v.score(&run.classes, &trained, &mut |_, _| false).is_err());
        // Rows past the feature file's samples are refused before anything is built.
        let short = feats.select(&[0, 1]).unwrap();
        let fm = FoldModels::load(dir.path()).unwrap().unwrap();
        let e = BranchValidation::new(&run, fm, &short, &labels[..2])
            .err()
            .unwrap();
        assert!(e.contains("10 training samples"), "{e}");
    }

    #[test]
    fn the_sweep_restores_the_set_and_marks_the_trained_k() {
        let (run, feats, base) = small_run();
        let classes = run.lock().unwrap().classes.clone();
        let input = SweepInput {
            run: &run,
            validation: None,
            classes: &classes,
            features: &feats,
            base: &base,
        };
        let go = JobHandle::default();
        let s = sweep_job(&input, 1, &[1, 2, 3], &go).unwrap();
        assert_eq!((s.weights, s.trained_k), (1, 3));
        assert_eq!(s.test.len(), 3);
        assert!(s.validation.is_none());
        assert_eq!(go.progress(), 1.0);
        let set = run
            .lock()
            .unwrap()
            .method
            .as_infocpl()
            .unwrap()
            .branch_set()
            .clone();
        assert_eq!(set, BranchSet::trained(&[1, 3]));
        // k = 3 on branch 1's weights is branch 1 alone: the test figure is that branch's stored accuracy.
        let p = crate::pipeline::branch_rescore::rescore_job(
            &run,
            &classes,
            &feats,
            &base,
            &BranchSet::trained(&[1, 3]),
            "run",
            &go,
        )
        .unwrap();
        let per = test_branch_accuracy(&p);
        assert!((per[1].1 - s.test[2]).abs() < 1e-12, "{per:?} {s:?}");
        let stop = JobHandle::default();
        stop.cancel();
        assert!(sweep_job(&input, 0, &[1, 2], &stop).is_err());
        assert!(sweep_job(&input, 5, &[1], &go).is_err());
    }
}
