//! `skelzero train`: fits one zero-shot method on extracted features with seen-class model selection, evaluates it
//! once on the unseen test classes, and saves a run folder.

use std::path::PathBuf;

use anyhow::Context as _;

use super::extract::one_based;
use crate::dataset::protocol::SplitArgs;
use crate::experiment::run::{RunConfig, SplitInfo, save_run};
use crate::experiment::select::{Protocol, SelectionConfig, fit_and_evaluate};
use crate::zsl::features::{SplitFeatures, load_class_embeddings};
use crate::zsl::preset::{PaperDataset, Preset, TextShape};
use crate::zsl::trainer::TrainConfig;
use crate::zsl::{Dims, MethodConfig, MethodKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// devise, relationnet, smie, infocpl or star.
    #[arg(long)]
    pub method: String,
    /// Feature file of one split (safetensors: train.*, test.*, seen, unseen; see `zsl::features`).
    #[arg(long)]
    pub features: PathBuf,
    /// Class text embeddings (safetensors: names, sentences, parts, phrases, motion).
    #[arg(long)]
    pub texts: PathBuf,
    /// The features' split, recorded in the run: `--split NAME` names it; `--unseen IDS` or `--split-file PATH`
    /// (1-based ids, as `extract` took them) name it and are checked against the feature file's classes. Default:
    /// the feature file's stem (`extract` names the file by its split).
    #[command(flatten)]
    pub split: SplitArgs,
    /// Run folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Class names, one per line, or a dataset's `classes.tsv` (`id<TAB>name`) (default: "class N").
    #[arg(long)]
    pub class_names: Option<PathBuf>,
    /// Learning rate (default: chosen on the seen-class validation split among 1e-3 and 1e-2).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Method hyper-parameters as TOML (a `[method]`-style table with `method = "NAME"`), overriding the defaults.
    #[arg(long)]
    pub method_config: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Disjoint pseudo-unseen validation folds the selection averages over (default: 3 where the seen classes allow).
    #[arg(long)]
    pub folds: Option<usize>,
    /// Validate gamma on whole held-out training subjects instead of random samples (needs sample ids that name
    /// the subject, as the synthetic set's `synth_a01_s03_e01` and NTU's `S001C001P003R001A001` do).
    #[arg(long)]
    pub val_subjects: bool,
    /// `default` (skelzero's choices) or `paper` (the official code's; see the README's fidelity table). Recorded in
    /// the run's config.toml (`[train] preset`).
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// DeViSE's loss: `softmax` (cosine with a temperature on standardised features) or `hinge` (the paper's rank
    /// loss). Default: the preset's.
    #[arg(long)]
    pub loss: Option<String>,
    /// STAR only: compute SCE over every class's texts, unseen included, as the official code does. Transductive on
    /// the text side (the unseen class texts shape training); the run's config.toml and output say so.
    #[arg(long)]
    pub transductive_text: bool,
    /// STAR, paper preset: the `skelzero pretrain` run whose features the file holds. With the data (`--data`, not
    /// needed for the synthetic set), STAR trains with the official online augmentation: each step re-crops and
    /// re-rotates the training samples and runs this frozen encoder on them again.
    #[arg(long, value_name = "RUN")]
    pub encoder: Option<PathBuf>,
    /// With `--encoder`: the dataset root the features were extracted from (the training samples are found in it by
    /// the feature file's sample ids).
    #[arg(long, value_name = "DATA", requires = "encoder")]
    pub data: Option<PathBuf>,
}

/// Parses `--preset`.
pub fn parse_preset(name: &str) -> anyhow::Result<Preset> {
    Preset::from_name(name).with_context(|| format!("unknown preset `{name}` (default or paper)"))
}

/// The learning rates seen-class validation chooses among: the default preset's grid ([`default_lrs`]), or the
/// official code's single rate for the paper preset.
pub fn preset_lrs(kind: MethodKind, preset: Preset) -> Vec<f64> {
    match preset {
        Preset::Default => default_lrs(kind),
        Preset::Paper => match kind {
            MethodKind::Smie | MethodKind::InfoCpl | MethodKind::Star => {
                vec![crate::zsl::preset::train_config(kind, preset, default_train_config(kind)).lr]
            }
            _ => default_lrs(kind),
        },
    }
}

/// Learning rates tried on the seen-class validation split when none is given.
///
/// 1e-4 is in every grid: InfoCPL's InfoNCE over the phrase codebook overfits the few seen classes at 1e-3 (MSR ZSL
/// 23% against 41% at 1e-4, same features). RelationNet regresses sigmoid relation scores to one-hot targets with the squared error; at 1e-3 and above its text
/// branch dies (every class scores alike: chance accuracy even when the test set picks the epoch), so it keeps a
/// lower rate and a longer schedule ([`default_train_config`]), as the reference trains it (Adam at 1e-5 for 500k
/// episodes). On the MSR splits, 1e-4 over 300 epochs took it from 21% to 36% ZSL.
pub fn default_lrs(kind: MethodKind) -> Vec<f64> {
    match kind {
        MethodKind::RelationNet => vec![1e-4],
        _ => vec![1e-4, 1e-3, 1e-2],
    }
}

/// Default training schedule for a method on frozen features.
pub fn default_train_config(kind: MethodKind) -> TrainConfig {
    match kind {
        MethodKind::RelationNet => TrainConfig {
            epochs: 300,
            lr: 1e-4,
            ..TrainConfig::default()
        },
        _ => TrainConfig::default(),
    }
}

pub fn read_class_names(path: Option<&PathBuf>, count: usize) -> anyhow::Result<Vec<String>> {
    match path {
        None => Ok((0..count).map(|c| format!("class {c}")).collect()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            // A `classes.tsv` (`id<TAB>name` header, as in a dataset's `text/` folder) gives its last column.
            let tsv = text.lines().next().is_some_and(|l| l.trim() == "id\tname");
            let names: Vec<String> = text
                .lines()
                .skip(usize::from(tsv))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| l.rsplit('\t').next().unwrap_or(l).to_owned())
                .collect();
            anyhow::ensure!(
                names.len() == count,
                "{}: {} class names for {count} class embeddings",
                p.display(),
                names.len()
            );
            Ok(names)
        }
    }
}

/// The name the run records for the features' split (see [`Args::split`]); a custom split must hold the feature
/// file's classes.
fn split_name(args: &Args, features: &SplitFeatures, n_classes: usize) -> anyhow::Result<String> {
    if let Some(c) = args.split.custom(n_classes)? {
        anyhow::ensure!(
            c.seen == features.seen && c.unseen == features.unseen,
            "{} holds the split with unseen classes {} (seen {}), but the split given is `{}` with unseen {} (seen \
             {}); class ids are 1-based",
            args.features.display(),
            one_based(&features.unseen),
            one_based(&features.seen),
            c.name,
            one_based(&c.unseen),
            one_based(&c.seen)
        );
        return Ok(c.name);
    }
    Ok(match args.split.name()? {
        Some(name) => name,
        None => args
            .features
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "split".into()),
    })
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    // Ctrl-C stops training after the current epoch; the run folder is only written at the end, atomically, so an
    // existing run there is left as it was.
    crate::util::interrupt::stop_flag();
    let kind = MethodKind::from_name(&args.method).with_context(|| {
        format!(
            "unknown method `{}` (one of {})",
            args.method,
            MethodKind::ALL.map(MethodKind::name).join(", ")
        )
    })?;
    let preset = parse_preset(&args.preset)?;
    let features = SplitFeatures::load(&args.features)?;
    let classes = load_class_embeddings(&args.texts)?;
    let mut method = match &args.method_config {
        None => crate::zsl::preset::method_config(
            kind,
            preset,
            // The dataset-dependent paper settings (SMIE's margin) read the split's name; a custom split is named
            // by its feature file, which `extract` names after the dataset's split.
            PaperDataset::from_name(args.split.split.as_deref().unwrap_or_else(|| {
                args.features
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
            })),
            TextShape::of(&classes),
        ),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let cfg: MethodConfig =
                toml::from_str(&text).with_context(|| format!("{}", p.display()))?;
            anyhow::ensure!(
                cfg.kind() == kind,
                "{}: configures {}, not {kind}",
                p.display(),
                cfg.kind()
            );
            cfg
        }
    };
    if let Some(name) = &args.loss {
        let loss = crate::zsl::devise::DeviseLoss::from_name(name)
            .with_context(|| format!("unknown --loss `{name}` (softmax or hinge)"))?;
        match &mut method {
            MethodConfig::Devise(c) => c.loss = loss,
            _ => anyhow::bail!("--loss applies to devise only, not {kind}"),
        }
    }
    if args.transductive_text {
        match &mut method {
            MethodConfig::Star(c) => c.transductive_text = true,
            _ => anyhow::bail!("--transductive-text applies to star only, not {kind}"),
        }
    }
    for note in crate::zsl::preset::limitations(kind, preset) {
        eprintln!("{}: {note}", kind.title());
    }
    let augment_inputs = match &args.encoder {
        Some(enc) => {
            anyhow::ensure!(
                kind == MethodKind::Star && preset == Preset::Paper,
                "--encoder applies to STAR's paper preset (its online augmentation), not {kind} with the {} preset",
                preset.name()
            );
            Some(AugmentInputs::load(
                enc,
                args.data.as_deref(),
                &args.features,
                &features,
            )?)
        }
        None => None,
    };
    let augment = augment_inputs.as_ref().map(AugmentInputs::source);
    if let MethodConfig::Star(c) = &mut method {
        c.online_augment = augment.is_some();
    }
    if kind == MethodKind::Star && preset == Preset::Paper && augment.is_none() {
        // `online_augment = false` in the run's config.toml records it too.
        eprintln!("STAR: {}", crate::zsl::preset::NO_AUGMENTATION);
        let form = crate::zsl::features::class_part_text_form(&args.texts)?;
        if form != crate::dataset::texts::PartTextForm::ClassNamePrefixed {
            eprintln!(
                "STAR: {} holds {} part texts; the official code encodes `<class name>, <Part>: <description>` \
                 (write them with `skelzero text classes --part-texts class-name-prefixed`)",
                args.texts.display(),
                form.name()
            );
        }
    }
    let n_classes = classes.num_classes();
    let max_id = features
        .seen
        .iter()
        .chain(&features.unseen)
        .copied()
        .max()
        .unwrap_or(0);
    anyhow::ensure!(
        max_id < n_classes,
        "{}: class id {max_id} but {} has only {n_classes} classes",
        args.features.display(),
        args.texts.display()
    );
    let split_name = split_name(args, &features, n_classes)?;
    let class_names = read_class_names(args.class_names.as_ref(), n_classes)?;
    let mut train = crate::zsl::preset::train_config(kind, preset, default_train_config(kind));
    train.seed = args.seed;
    if let Some(e) = args.epochs {
        train.epochs = e;
    }
    if let Some(lr) = args.lr {
        train.lr = lr;
    }
    if let Some(b) = args.batch_size {
        train.batch_size = b;
    }
    let mut sel = SelectionConfig::for_split(features.seen.len(), features.unseen.len());
    sel.seed = args.seed;
    if let Some(f) = args.folds {
        sel.folds = f;
    }
    if args.lr.is_none() {
        sel.lrs = preset_lrs(kind, preset);
    }
    // InfoCPL's branch set is a scoring-time choice: its fold models let the explorer measure a set on the seen-class
    // validation folds (validation.safetensors) rather than on the unseen test classes.
    sel.keep_fold_models = kind == MethodKind::InfoCpl;
    if args.val_subjects {
        let ids = features.train_ids.as_ref().with_context(|| {
            format!(
                "{}: --val-subjects needs the training sample ids, and the file has none",
                args.features.display()
            )
        })?;
        let subjects = ids
            .iter()
            .map(|id| {
                crate::dataset::subject_from_id(id).with_context(|| {
                    format!(
                        "{}: sample id `{id}` names no subject",
                        args.features.display()
                    )
                })
            })
            .collect::<anyhow::Result<Vec<u32>>>()?;
        sel.train_subjects = Some(subjects);
    }
    let protocol = Protocol {
        classes: &classes,
        seen: &features.seen,
        unseen: &features.unseen,
        train: &features.train,
        train_labels: &features.train_labels,
        test: &features.test,
        test_labels: &features.test_labels,
        fold_train: None,
        augment: augment
            .as_ref()
            .map(|a| a as &dyn crate::zsl::trainer::BatchSource),
    };
    let method_is_transductive = method.transductive_text();
    let fitted = fit_and_evaluate(&method, &train, &sel, &protocol)?;
    if let Some(a) = &augment {
        eprintln!(
            "STAR's online augmentation (crop, rotation, encoder re-run) took {:.1} s",
            a.seconds()
        );
    }
    let e = fitted.evaluation.clone();
    let cfg = RunConfig {
        method,
        train,
        dims: Dims {
            visual: features.train.visual_dim(),
            text: classes.dim(),
        },
        split: SplitInfo {
            name: split_name.clone(),
            class_names,
            seen: features.seen.clone(),
            unseen: features.unseen.clone(),
        },
        gamma: e.gzsl.gamma,
        epoch: e.epoch,
        features: Some(args.features.clone()),
        evaluation: Some(e.clone()),
    };
    save_run(&args.out, &cfg, &fitted.varmap, &classes)?;
    // A branch set saved with an earlier run in this folder was chosen for other weights (or another method):
    // left in place, `eval` and the explorer would silently score the new weights with it.
    let stale_set = args.out.join(crate::zsl::branch_set::BRANCH_SET_FILE);
    if remove_stale(&stale_set)? {
        eprintln!(
            "removed {}: it was saved for the weights this run replaced",
            stale_set.display()
        );
    }
    // Likewise a gamma saved from the explorer was chosen for the replaced weights' scores.
    let stale_gamma = args.out.join(crate::experiment::saved_gamma::GAMMA_FILE);
    if remove_stale(&stale_gamma)? {
        eprintln!(
            "removed {}: it was saved for the weights this run replaced",
            stale_gamma.display()
        );
    }
    match &fitted.fold_models {
        Some(fm) => fm.save(&args.out)?,
        // A validation file left by an earlier run in this folder belongs to other weights.
        None => {
            remove_stale(
                &args
                    .out
                    .join(crate::experiment::fold_models::VALIDATION_FILE),
            )?;
        }
    }
    println!(
        "{} on {}: ZSL top-1 {:.1}%  GZSL S {:.1}% U {:.1}% H {:.1}% (gamma {:.3}, epoch {} chosen on seen-class validation)",
        kind.title(),
        split_name,
        100.0 * e.zsl_top1,
        100.0 * e.gzsl.s,
        100.0 * e.gzsl.u,
        100.0 * e.gzsl.h,
        e.gzsl.gamma,
        e.epoch
    );
    if method_is_transductive {
        println!(
            "TRANSDUCTIVE on the text side: SCE was trained over the unseen classes' texts too (--transductive-text)"
        );
    }
    println!("run saved to {}", args.out.display());
    Ok(())
}

/// Removes `path`, a file an earlier run left in the output folder that belongs to the weights this run replaced;
/// says whether there was one.
fn remove_stale(path: &std::path::Path) -> anyhow::Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    std::fs::remove_file(path).with_context(|| format!("removing the stale {}", path.display()))?;
    Ok(true)
}

/// What STAR's online augmentation needs on `train`: the frozen encoder of `--encoder` and the raw training samples,
/// found in the data by the feature file's training sample ids (so a file of another dataset or split is refused).
struct AugmentInputs {
    encoder: crate::nn::encoder::Encoder,
    dataset: crate::dataset::Dataset,
    rows: Vec<usize>,
    preprocess: crate::skeleton::preprocess::PreprocessConfig,
}

impl AugmentInputs {
    fn load(
        enc_dir: &std::path::Path,
        data: Option<&std::path::Path>,
        features_path: &std::path::Path,
        features: &SplitFeatures,
    ) -> anyhow::Result<Self> {
        use crate::experiment::run_kind::{RunKind, expect_run};
        expect_run(enc_dir, RunKind::Pretrain, "--encoder").map_err(anyhow::Error::msg)?;
        let (encoder, cfg) = super::bench::load_encoder(enc_dir)?;
        let kind = cfg.data.kind().ok_or_else(|| {
            anyhow::anyhow!(
                "{}: unknown dataset `{}` in its config.toml",
                enc_dir.display(),
                cfg.data.dataset
            )
        })?;
        let dataset = super::pretrain::load_data(kind, data)?;
        let ids = features.train_ids.as_ref().with_context(|| {
            format!(
                "{}: --encoder needs the training sample ids (re-extract the features with this version)",
                features_path.display()
            )
        })?;
        let by_id = dataset.rows_by_id();
        let rows = ids
            .iter()
            .map(|id| {
                by_id.get(id.as_str()).copied().with_context(|| {
                    format!(
                        "{}: training sample `{id}` is not in the data ({})",
                        features_path.display(),
                        data.map_or("the synthetic set".into(), |d| d.display().to_string())
                    )
                })
            })
            .collect::<anyhow::Result<Vec<usize>>>()?;
        Ok(Self {
            encoder,
            dataset,
            rows,
            preprocess: cfg.data.preprocess(),
        })
    }

    fn source(&self) -> crate::pipeline::augment::OnlineAugment<'_> {
        crate::pipeline::augment::OnlineAugment::new(
            &self.encoder,
            &self.dataset,
            self.rows.clone(),
            self.preprocess.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_from_lines_or_a_classes_tsv() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let plain = dir.path().join("names.txt");
        std::fs::write(&plain, "wave\njump\n")?;
        assert_eq!(read_class_names(Some(&plain), 2)?, ["wave", "jump"]);
        let tsv = dir.path().join("classes.tsv");
        std::fs::write(&tsv, "id\tname\na01\thigh arm wave\na02\tjump\n")?;
        assert_eq!(read_class_names(Some(&tsv), 2)?, ["high arm wave", "jump"]);
        assert!(read_class_names(Some(&tsv), 3).is_err());
        Ok(())
    }
}
