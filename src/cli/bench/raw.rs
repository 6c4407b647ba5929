//! `bench --data`: the dataset read once, its class texts embedded once, and every encoder a benchmark needs (each
//! split's, and with fold encoders one per validation fold) pretrained and run over the split's samples, side by
//! side where `--jobs` allows.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Args, check_reused_encoder, load_encoder};
use crate::cli::pretrain::PretrainSummary;
use crate::dataset::protocol::{Partition, ProtocolInputs, SplitArgs, SplitFile};
use crate::dataset::{Dataset, DatasetKind};
use crate::experiment::bench::{BenchSplit, EncoderResult, selection_for_classes};
use crate::experiment::select::validation_folds;
use crate::util::parallel::{Job, side_by_side};
use crate::zsl::ClassEmbeddings;
use crate::zsl::features::SplitFeatures;
use crate::zsl::preset;

/// A dataset read once for every split of a `--data` run, with its class embeddings.
pub(super) struct RawData {
    pub kind: DatasetKind,
    /// `None` for the generated synthetic set.
    pub path: Option<PathBuf>,
    pub dataset: Dataset,
    pub classes: ClassEmbeddings,
    pub work: PathBuf,
}

/// One encoder of a benchmark, the split's own or a validation fold's: pretrained on `split_args`' seen classes
/// into `dir`, then run over the split's samples into `features`.
struct EncoderJob {
    split_args: SplitArgs,
    dir: PathBuf,
    features: PathBuf,
    /// The benchmark split's partition: a fold encoder also encodes the split's training rows (the folds read
    /// those).
    part: Partition,
    /// The fold's index and its pseudo-unseen classes (1-based ids), `None` for the split's own encoder.
    fold: Option<(usize, Vec<usize>)>,
}

/// A finished [`EncoderJob`].
struct Pretrained {
    summary: PretrainSummary,
    /// Pretraining and extraction, wall time of the job itself (jobs may have run side by side).
    seconds: f64,
    pretrain_seconds: f64,
}

/// The encoders of one split, planned before any of them trains.
pub(super) struct SplitPlan {
    name: String,
    jobs: Vec<EncoderJob>,
}

/// Every split's encoders, pretrained and extracted: the input of [`RawData::split`].
pub(super) struct Prepared {
    plans: Vec<(SplitPlan, Vec<Pretrained>)>,
}

impl RawData {
    pub fn load(args: &Args, kind: DatasetKind, path: Option<&Path>) -> anyhow::Result<Self> {
        let dataset = crate::cli::pretrain::load_data(kind, path)?;
        let texts = if kind == DatasetKind::Synthetic && path.is_none() {
            crate::dataset::synthetic::synthetic_texts()
        } else {
            args.class_texts.load(&dataset)?
        };
        let spec =
            crate::pipeline::sentence::clip_spec(&args.text_model, args.clip_dir.as_deref())?
                .unwrap_or_else(|| args.text_model.clone());
        let mut embedder = crate::pipeline::text_embedder(&spec)?;
        // The paper preset encodes STAR's part texts as the official code does (the other methods never read them).
        let form = match crate::cli::train::parse_preset(&args.preset)? {
            preset::Preset::Paper => crate::dataset::texts::PartTextForm::ClassNamePrefixed,
            preset::Preset::Default => crate::dataset::texts::PartTextForm::Plain,
        };
        let classes =
            crate::pipeline::class_embeddings_from_texts_with(&texts, embedder.as_mut(), form)?;
        let work = args
            .work
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("runs/bench-{}", args.dataset)));
        Ok(Self {
            kind,
            path: path.map(Path::to_owned),
            dataset,
            classes,
            work,
        })
    }

    /// `pretrain` of `split` into `out` with this benchmark's encoder, seed and epochs (the dataset's recipe
    /// otherwise).
    fn pretrain(
        &self,
        args: &Args,
        split: SplitArgs,
        out: &Path,
    ) -> anyhow::Result<PretrainSummary> {
        check_reused_encoder(out, args.encoder_epochs, self.kind)?;
        let summary = crate::cli::pretrain::pretrain(&crate::cli::pretrain::Args {
            dataset: self.kind,
            data: self.path.clone(),
            split,
            encoder: args.encoder,
            epochs: args.encoder_epochs,
            batch_size: None,
            lr: None,
            weight_decay: None,
            val_fraction: None,
            seed: Some(args.seed),
            no_augment: false,
            early_stop: None,
            bodies: None,
            rotation: None,
            dropout: None,
            device: crate::nn::device::DeviceChoice::Auto,
            out: out.to_owned(),
        })?;
        anyhow::ensure!(
            !crate::util::interrupt::stop_requested(),
            "stopped; run the same command to resume"
        );
        Ok(summary)
    }

    /// The features of `part` from the encoder run in `enc_dir`, reusing `feats_path` when it was written after the
    /// run's last checkpoint.
    fn features(
        &self,
        args: &Args,
        enc_dir: &Path,
        feats_path: &Path,
        part: &Partition,
    ) -> anyhow::Result<SplitFeatures> {
        let run_dir = crate::pretrain::run::RunDir::new(enc_dir);
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let fresh = match (modified(feats_path), modified(&run_dir.checkpoint_path())) {
            (Some(f), Some(c)) => f >= c,
            _ => false,
        };
        if fresh {
            return Ok(SplitFeatures::load(feats_path)?);
        }
        let (enc, cfg) = load_encoder(enc_dir)?;
        let opts = crate::pipeline::FeatureOptions {
            preprocess: cfg.data.preprocess(),
            seed: args.seed,
            ..Default::default()
        };
        let total = part.train.len() + part.gzsl_test.len();
        let bar = crate::util::progress::bar(total as u64, "extracting");
        let f = crate::pipeline::split_features_from_dataset(
            &enc,
            &self.dataset,
            part,
            &opts,
            &mut |done, _| {
                bar.set_position(done as u64);
                !crate::util::interrupt::stop_requested()
            },
        )?;
        bar.finish_and_clear();
        f.save(feats_path)?;
        Ok(f)
    }

    /// What STAR's online augmentation needs for `split` (after [`Self::prepare`] pretrained its encoder): the
    /// frozen encoder, the dataset rows of the training features' rows, in their order, and the preprocessing.
    pub fn augment_inputs(
        &self,
        args: &Args,
        split_args: &SplitArgs,
        split: &str,
        train_rows: usize,
    ) -> anyhow::Result<(
        crate::nn::encoder::Encoder,
        Vec<usize>,
        crate::skeleton::preprocess::PreprocessConfig,
    )> {
        let (enc, cfg) = load_encoder(&self.work.join(format!("{split}-{}", enc_name(args))))?;
        let part =
            split_args.partition(&self.dataset, &ProtocolInputs::for_dataset(&self.dataset)?)?;
        let rows = crate::pipeline::features::seen_train_rows(&self.dataset, &part);
        anyhow::ensure!(
            rows.len() == train_rows,
            "{split}: {} training samples in the data, {train_rows} in its feature file",
            rows.len()
        );
        Ok((enc, rows, cfg.data.preprocess()))
    }

    /// The encoders `split` needs: its own, then with fold encoders one per validation fold of its model selection,
    /// each pretrained on the fold's pseudo-seen classes only (the fold's pseudo-unseen classes join the split's
    /// unseen ones in a split file written to the work folder; the samples' sides stay the dataset's). The folds
    /// are the ones the selection will draw from the split's training labels.
    fn plan(
        &self,
        args: &Args,
        split_args: &SplitArgs,
        split: &str,
        part: Partition,
    ) -> anyhow::Result<SplitPlan> {
        let enc_name = enc_name(args);
        let mut jobs = vec![EncoderJob {
            split_args: split_args.clone(),
            dir: self.work.join(format!("{split}-{enc_name}")),
            features: self.work.join(format!("{split}.safetensors")),
            part: part.clone(),
            fold: None,
        }];
        if args.use_fold_encoders(self.kind) {
            let labels = train_labels(&self.dataset, &part);
            let sel =
                selection_for_classes(part.seen.len(), part.unseen.len(), args.seed, args.folds);
            let folds = validation_folds(
                &labels,
                &part.seen,
                sel.pseudo_unseen,
                sel.folds,
                sel.holdout,
                sel.seed,
            )?;
            std::fs::create_dir_all(&self.work)
                .with_context(|| format!("creating {}", self.work.display()))?;
            for (f, fold) in folds.iter().enumerate() {
                let one_based = |v: &[usize]| v.iter().map(|c| c + 1).collect::<Vec<_>>();
                let mut unseen: Vec<usize> = part
                    .unseen
                    .iter()
                    .chain(&fold.pseudo_unseen)
                    .copied()
                    .collect();
                unseen.sort_unstable();
                let file = SplitFile {
                    name: Some(format!("{split}-fold{f}")),
                    unseen: one_based(&unseen),
                    seen: Some(one_based(&fold.pseudo_seen)),
                    train_subjects: None,
                };
                let file_path = self.work.join(format!("{split}-fold{f}-split.json"));
                crate::util::write_bytes_atomic(
                    &file_path,
                    serde_json::to_string(&file)?.as_bytes(),
                )
                .with_context(|| format!("writing {}", file_path.display()))?;
                jobs.push(EncoderJob {
                    split_args: SplitArgs {
                        split_file: Some(file_path),
                        ..Default::default()
                    },
                    dir: self.work.join(format!("{split}-fold{f}-{enc_name}")),
                    features: self.work.join(format!("{split}-fold{f}.safetensors")),
                    part: part.clone(),
                    fold: Some((f, one_based(&fold.pseudo_unseen))),
                });
            }
        }
        Ok(SplitPlan {
            name: split.to_owned(),
            jobs,
        })
    }

    /// Pretrains (or resumes) one encoder and runs it over the split's samples into its feature file.
    fn run_job(&self, args: &Args, split: &str, job: &EncoderJob) -> anyhow::Result<Pretrained> {
        let t0 = std::time::Instant::now();
        if let Some((f, pseudo_unseen)) = &job.fold {
            eprintln!(
                "{split} fold {f}: pretraining an encoder without the pseudo-unseen classes {pseudo_unseen:?}"
            );
        }
        let summary = self.pretrain(args, job.split_args.clone(), &job.dir)?;
        let pretrain_seconds = t0.elapsed().as_secs_f64();
        // The features are written to disk; the split reads them back when its methods train, so a job holds
        // its own features only while it runs.
        self.features(args, &job.dir, &job.features, &job.part)
            .with_context(|| format!("{split}: extracting {}", job.features.display()))?;
        Ok(Pretrained {
            summary,
            seconds: t0.elapsed().as_secs_f64(),
            pretrain_seconds,
        })
    }

    /// Plans every split's encoders and runs them all, `jobs` side by side (the split encoders, the longest, first).
    pub fn prepare(
        &self,
        args: &Args,
        splits: &[(SplitArgs, String)],
        jobs: usize,
    ) -> anyhow::Result<Prepared> {
        // Every split checked against the data before anything is written or trained: a bad id fails now, not an
        // hour in.
        let inputs = ProtocolInputs::for_dataset(&self.dataset)?;
        let parts = splits
            .iter()
            .map(|(split_args, name)| {
                split_args
                    .partition(&self.dataset, &inputs)
                    .with_context(|| format!("split `{name}`"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let plans = splits
            .iter()
            .zip(parts)
            .map(|((split_args, name), part)| self.plan(args, split_args, name, part))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // After a failure the jobs not yet started are skipped, so the error is reported without waiting for them.
        let failed = std::sync::atomic::AtomicBool::new(false);
        let failed = &failed;
        let flat: Vec<(&SplitPlan, &EncoderJob)> = plans
            .iter()
            .flat_map(|plan| plan.jobs.iter().map(move |job| (plan, job)))
            .collect();
        let work: Vec<Job<'_, anyhow::Result<Option<Pretrained>>>> = flat
            .iter()
            .map(|&(plan, job)| {
                Box::new(move || {
                    if failed.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(None);
                    }
                    let result = self.run_job(args, &plan.name, job);
                    if result.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    result.map(Some)
                }) as Job<'_, _>
            })
            .collect();
        // The split encoders (the longest: every seen class) start first.
        let split_encoder = |k: usize| u64::from(flat[k].1.fold.is_none());
        // A skipped job is `Ok(None)`: the first error is the failure itself.
        let mut results = side_by_side(work, split_encoder, jobs)
            .into_iter()
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter();
        let plans = plans
            .into_iter()
            .map(|plan| {
                let done: Option<Vec<Pretrained>> =
                    results.by_ref().take(plan.jobs.len()).collect();
                let done =
                    done.with_context(|| format!("{}: an encoder job did not run", plan.name))?;
                Ok((plan, done))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Prepared { plans })
    }

    /// The split's inputs from its prepared encoders: its features, and with fold encoders the training rows'
    /// features from each fold's encoder.
    pub fn split(&self, prepared: &mut Prepared, split: &str) -> anyhow::Result<BenchSplit> {
        let at = prepared
            .plans
            .iter()
            .position(|(plan, _)| plan.name == split)
            .with_context(|| format!("{split}: no encoder was prepared"))?;
        let (plan, results) = prepared.plans.swap_remove(at);
        let mut jobs = plan.jobs.iter().zip(&results);
        let (own, own_result) = jobs
            .next()
            .with_context(|| format!("{split}: no encoder was planned"))?;
        let features = SplitFeatures::load(&own.features)?;
        // The fold encoders were planned on the partition's labels; the selection draws its folds from these.
        anyhow::ensure!(
            features.train_labels == train_labels(&self.dataset, &own.part),
            "{}: its training rows are not the split's training samples of the data",
            own.features.display()
        );
        let (mut fold_train, mut fold_top1, mut fold_seconds) = (Vec::new(), Vec::new(), 0.0);
        for (job, result) in jobs {
            let feats = SplitFeatures::load(&job.features)?;
            anyhow::ensure!(
                feats.train_labels == features.train_labels,
                "{} of {split}: its encoder's features hold other training rows than the split's",
                job.features.display()
            );
            fold_train.push(feats.train);
            fold_top1.extend(result.summary.seen_test_top1);
            fold_seconds += result.seconds;
        }
        let with_folds = !fold_train.is_empty();
        Ok(BenchSplit {
            name: split.to_owned(),
            classes: self.classes.clone(),
            features,
            encoder: own_result.summary.seen_test_top1.map(|top1| EncoderResult {
                encoder_seen_test_top1: top1,
                seen_test_samples: own_result.summary.seen_test_samples,
                updates: own_result.summary.updates,
                pretrain_seconds: own_result.pretrain_seconds,
                fold_encoders_seen_test_top1: fold_top1,
                fold_encoders_seconds: with_folds.then_some(fold_seconds),
            }),
            fold_train: with_folds.then_some(fold_train),
        })
    }
}

/// The encoder's name in the work folder's run names (`msr1-stgcn`).
fn enc_name(args: &Args) -> String {
    format!("{:?}", args.encoder).to_lowercase()
}

/// The dataset labels of `part`'s training samples of seen classes, in the order of [`SplitFeatures::train`].
fn train_labels(ds: &Dataset, part: &Partition) -> Vec<usize> {
    crate::pipeline::features::seen_train_rows(ds, part)
        .into_iter()
        .filter_map(|i| ds.samples.get(i).map(|s| s.meta.label))
        .collect()
}
