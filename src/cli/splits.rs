//! `skelzero splits`: lists every named split and protocol with its unseen classes, as 1-based ids (the form
//! `--unseen` and split files take) with their names.

use crate::dataset::protocol::{NamedSplit, named_splits};
use crate::dataset::synthetic::synthetic_texts;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Class names where the project knows them: MSR Action3D, PKU-MMD and UTKinect from their readers, NTU's from the
/// split table, the synthetic set's from its texts. Indexed by 0-based class.
fn class_name(split: &NamedSplit, class: usize) -> Option<String> {
    use crate::dataset::DatasetKind;
    use crate::formats::{msr_action3d, pku_mmd, utkinect};
    let fixed = |names: &[&str]| names.get(class).map(|n| (*n).to_owned());
    match split.kind {
        DatasetKind::Msr => fixed(&msr_action3d::CLASS_NAMES),
        DatasetKind::Pku => fixed(&pku_mmd::CLASS_NAMES),
        DatasetKind::Utkinect => fixed(&utkinect::CLASS_NAMES),
        DatasetKind::Synthetic => synthetic_texts().names.get(class).cloned(),
        _ => {
            let p = crate::dataset::splits::published_split(&split.name)?;
            let at = split.unseen.iter().position(|&c| c == class)?;
            p.record.unseen_names.get(at).cloned()
        }
    }
}

/// 0-based classes as the flags take them: 1-based ids, comma-separated.
fn ids(classes: &[usize]) -> String {
    super::extract::one_based(classes)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let splits = named_splits();
    if args.json {
        let value: Vec<serde_json::Value> = splits
            .iter()
            .map(|s| {
                let one_based = |v: &[usize]| v.iter().map(|c| c + 1).collect::<Vec<_>>();
                serde_json::json!({
                    "name": s.name,
                    "dataset": s.kind,
                    "num_classes": s.num_classes,
                    "seen": one_based(&s.seen),
                    "unseen": one_based(&s.unseen),
                    "unseen_names": s.unseen.iter().map(|&c| class_name(s, c)).collect::<Vec<_>>(),
                    "description": s.description,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "Class ids are 1-based, as --unseen and split files take them (e.g. --unseen {}).",
        splits.first().map(|s| ids(&s.unseen)).unwrap_or_default()
    );
    for s in &splits {
        println!(
            "{:<24} {:<10} {}/{}  {}",
            s.name,
            format!("{:?}", s.kind).to_lowercase(),
            s.seen.len(),
            s.unseen.len(),
            s.description
        );
        let unseen: Vec<String> = s
            .unseen
            .iter()
            .map(|&c| match class_name(s, c) {
                Some(n) => format!("{} {n}", c + 1),
                None => (c + 1).to_string(),
            })
            .collect();
        println!("    unseen: {}", unseen.join(", "));
        if s.seen.len() + s.unseen.len() == s.num_classes {
            println!("    --unseen {}", ids(&s.unseen));
        } else {
            // Classes in neither set are left out: a split file with `seen` gives the same classes.
            println!("    seen: {}", ids(&s.seen));
        }
    }
    Ok(())
}
