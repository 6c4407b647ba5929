//! `skelzero eval`: evaluates a saved run on its split's test features (ZSL top-1; GZSL S/U/H with the run's
//! validation-chosen gamma; confusion matrices in the JSON).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::eval::layout::{local_labels, rows_of_classes};
use crate::eval::{GzslLayout, confusion, gzsl, top1};
use crate::experiment::run::load_run;
use crate::zsl::features::SplitFeatures;
use crate::zsl::trainer::score_matrix;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `skelzero train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Feature file (default: the one the run was trained with).
    #[arg(long)]
    pub features: Option<PathBuf>,
    /// Also evaluate generalised zero-shot (all classes, calibrated stacking).
    #[arg(long)]
    pub gzsl: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the run's `predictions.json` for the explorer (GZSL test set, features, and STAR part or
    /// InfoCPL branch scores).
    #[arg(long)]
    pub predictions: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let run = load_run(&args.run)?;
    let path = args
        .features
        .clone()
        .or_else(|| run.config.features.clone())
        .with_context(|| {
            format!(
                "{}: no feature file recorded; pass --features",
                args.run.display()
            )
        })?;
    let f = SplitFeatures::load(&path)?;
    if let Some(set) = &run.branch_set {
        eprintln!(
            "note: scoring with the InfoCPL branch set of {} (chosen on {} figures)",
            set.display(),
            crate::zsl::branch_set::BranchSet::chosen_on(set)?.name()
        );
    }
    let split = &run.config.split;
    anyhow::ensure!(
        f.seen == split.seen && f.unseen == split.unseen,
        "{}: its seen/unseen classes differ from the run's split `{}`",
        path.display(),
        split.name
    );
    let zsl_rows = rows_of_classes(&f.test_labels, &f.unseen);
    let zsl_feats = f.test.select(&zsl_rows)?;
    let zsl_labels = local_labels(&f.test_labels, &zsl_rows, &f.unseen);
    let s = score_matrix(
        run.method.as_ref(),
        &zsl_feats,
        &run.classes.select(&f.unseen)?,
        256,
    )?;
    let acc = top1(&s, &zsl_labels)?;
    let zsl_conf = confusion(&s.predictions(), &zsl_labels, f.unseen.len());
    let name = |ids: &[usize]| -> Vec<String> {
        ids.iter()
            .map(|&c| {
                split
                    .class_names
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("class {c}"))
            })
            .collect()
    };
    let mut json = serde_json::json!({
        "run": args.run, "method": run.config.method.kind(), "split": split.name,
        "zsl_top1": acc, "zsl_samples": zsl_rows.len(),
        "zsl_classes": name(&f.unseen), "zsl_confusion": zsl_conf,
    });
    // The run's gamma, chosen on the seen-class validation split at training time, unless one was saved with the
    // run from the explorer (gamma.toml, chosen there on the figure it records, usually the test split).
    match &run.saved_gamma {
        Some(saved) => {
            json["gamma_source"] = "user".into();
            json["gamma_basis"] = saved.chosen_on.name().into();
            json["gamma_file"] =
                serde_json::to_value(run.dir.join(crate::experiment::saved_gamma::GAMMA_FILE))?;
            json["gamma_validation"] = saved.validation_gamma.into();
        }
        None => {
            json["gamma_source"] = "validation".into();
            json["gamma_basis"] = "validation".into();
        }
    }
    // An InfoCPL run says which branch set scored: the trained one, or one saved from the explorer's branch editor
    // (chosen there by looking at test-split figures: the JSON says so).
    if let Some(info) = run.method.as_infocpl() {
        json["branch_set"] = serde_json::to_value(&info.branch_set().branches)?;
        json["branch_set_source"] = if run.branch_set.is_some() {
            "user"
        } else {
            "trained"
        }
        .into();
        json["branch_set_file"] = serde_json::to_value(&run.branch_set)?;
        // The figure the saved set was chosen on ("validation": the run's seen-class folds; "test": the unseen test
        // classes); null for the trained set, which no figure chose.
        json["branch_set_basis"] = match &run.branch_set {
            Some(path) => crate::zsl::branch_set::BranchSet::chosen_on(path)?
                .name()
                .into(),
            None => serde_json::Value::Null,
        };
    }
    if !args.json {
        println!(
            "{} on {}: ZSL top-1 {:.2}% ({} samples, {} unseen classes)",
            run.config.method.kind().title(),
            split.name,
            100.0 * acc,
            zsl_rows.len(),
            f.unseen.len()
        );
    }
    if args.gzsl {
        let layout = GzslLayout::new(&f.seen, &f.unseen);
        let all = layout.classes();
        let rows: Vec<usize> = (0..f.test_labels.len()).collect();
        let labels = layout.local_labels(&f.test_labels, &rows);
        let s = score_matrix(run.method.as_ref(), &f.test, &run.classes.select(all)?, 256)?;
        let g = gzsl(&s, &labels, &layout.seen_mask(), run.config.gamma)?;
        let offset = layout.stacking_offsets(run.config.gamma as f32);
        json["gzsl_s"] = g.s.into();
        json["gzsl_u"] = g.u.into();
        json["gzsl_h"] = g.h.into();
        json["gamma"] = g.gamma.into();
        json["gzsl_classes"] = name(all).into();
        json["gzsl_confusion"] = serde_json::to_value(confusion(
            &s.predictions_with_offset(&offset),
            &labels,
            all.len(),
        ))?;
        if !args.json {
            let source = match &run.saved_gamma {
                Some(saved) => format!("saved with the run, chosen on {}", saved.chosen_on.name()),
                None => "from seen-class validation".to_owned(),
            };
            println!(
                "GZSL (gamma {:.3} {source}): S {:.2}%  U {:.2}%  H {:.2}%",
                g.gamma,
                100.0 * g.s,
                100.0 * g.u,
                100.0 * g.h
            );
        }
    }
    if args.predictions {
        if f.test_ids.is_none() {
            eprintln!(
                "warning: {} records no sample ids (written before they were); predictions.json names the samples \
                 test-00000, ... and the explorer cannot match them to a dataset: run `skelzero extract --split` again",
                path.display()
            );
        }
        let preds = crate::pipeline::run_predictions::predictions_from_run(&run, &f)?;
        let out = args.run.join("predictions.json");
        let text = serde_json::to_vec(&preds)?;
        crate::util::write_bytes_atomic(&out, &text)
            .with_context(|| format!("{}: could not write", out.display()))?;
        if !args.json {
            println!("wrote {}", out.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(())
}
