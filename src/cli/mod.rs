//! The command-line front end: one file per subcommand, each with an `Args` struct and a `run` function.

mod layouts;
mod models;
mod text;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "skelzero", version, about = "Zero-shot skeleton-based action recognition", long_about = None)]
pub struct Cli {
    /// More log output (-v info, -vv debug). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the joint layouts and body-part groups.
    Layouts(layouts::Args),
    /// Sentence encoders: embed texts.
    Text(text::Args),
    /// Install and list the sentence-encoder models.
    Models(models::Args),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Layouts(args)) => layouts::run(&args),
        Some(Command::Text(args)) => text::run(&args),
        Some(Command::Models(args)) => models::run(&args),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(())
        }
    }
}

/// Installs the log subscriber: `RUST_LOG` if set, else a level from `-v`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
