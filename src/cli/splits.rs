//! `skelzero splits`: lists every named split and protocol with its seen and unseen classes.

use crate::dataset::protocol::{NamedSplit, named_splits};
use crate::dataset::synthetic::synthetic_texts;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Class names where the project knows them (MSR and PKU-MMD names come with the data, NTU's with the split table).
fn unseen_names(split: &NamedSplit) -> Vec<String> {
    if let Some(p) = crate::dataset::splits::published_split(&split.name) {
        return p.record.unseen_names.clone();
    }
    if split.kind == crate::dataset::DatasetKind::Synthetic {
        let texts = synthetic_texts();
        return split
            .unseen
            .iter()
            .filter_map(|&c| texts.names.get(c).cloned())
            .collect();
    }
    Vec::new()
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let splits = named_splits();
    if args.json {
        let value: Vec<serde_json::Value> = splits
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "dataset": s.kind,
                    "num_classes": s.num_classes,
                    "seen": s.seen,
                    "unseen": s.unseen,
                    "unseen_names": unseen_names(s),
                    "description": s.description,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("Class ids are 0-based here; --unseen takes 1-based ids.");
    for s in &splits {
        println!(
            "{:<24} {:<10} {}/{}  {}",
            s.name,
            format!("{:?}", s.kind).to_lowercase(),
            s.seen.len(),
            s.unseen.len(),
            s.description
        );
        let names = unseen_names(s);
        let unseen: Vec<String> = s
            .unseen
            .iter()
            .enumerate()
            .map(|(i, c)| match names.get(i) {
                Some(n) => format!("{c} {n}"),
                None => c.to_string(),
            })
            .collect();
        println!("    unseen: {}", unseen.join(", "));
    }
    Ok(())
}
