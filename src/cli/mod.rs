//! The command-line front end: one file per subcommand, each with an `Args` struct and a `run` function.

mod bench;
mod demo;
mod eval;
mod extract;
pub mod gui;
mod inspect;
mod layouts;
mod models;
mod predict;
mod pretrain;
mod splits;
pub mod synth;
mod text;
mod train;

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
    /// Open the explorer window (the default with no subcommand).
    Gui(gui::Args),
    /// Summarise a skeleton file or dataset folder: format, classes, frames, bodies, skipped files.
    Inspect(inspect::Args),
    /// Train a skeleton encoder (ST-GCN or Shift-GCN) on the seen classes of a split.
    Pretrain(pretrain::Args),
    /// Write a pretrained encoder's pooled features (N x 256) and labels for every sample of a dataset.
    Extract(extract::Args),
    /// List every named zero-shot split and protocol with its seen and unseen classes.
    Splits(splits::Args),
    /// Score the built-in demo's embedded runs (STAR, InfoCPL, SMIE, DeViSE) and print their ZSL and GZSL figures.
    Demo(demo::Args),
    /// Train a zero-shot method on extracted features and save a run folder.
    Train(train::Args),
    /// Evaluate a saved run (ZSL, optionally GZSL).
    Eval(eval::Args),
    /// Score a dataset with a pretrained encoder and a zero-shot run; write predictions.json for the explorer.
    Predict(predict::Args),
    /// Benchmark methods over splits: paper-style table and JSON.
    Bench(bench::Args),
    /// Sentence encoders: embed texts, or a dataset's class texts into a class-embedding file.
    Text(text::Args),
    /// Install and list the sentence-encoder models.
    Models(models::Args),
    /// Write NTU-shaped .skeleton files (class count, names, bodies, frame lengths) from the synthetic generator.
    Synth(synth::Args),
}

impl Cli {
    /// Whether the command runs its jobs side by side, each op on one thread (`bench --jobs`, see
    /// [`crate::util::parallel`]); `main` sets the process's threads up for it before any thread starts.
    pub fn one_thread_per_op(&self) -> bool {
        match &self.command {
            Some(Command::Bench(args)) => args.jobs() > 1,
            _ => false,
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Layouts(args)) => layouts::run(&args),
        Some(Command::Inspect(args)) => inspect::run(&args),
        Some(Command::Splits(args)) => splits::run(&args),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Pretrain(args)) => pretrain::run(&args),
        Some(Command::Extract(args)) => extract::run(&args),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Eval(args)) => eval::run(&args),
        Some(Command::Predict(args)) => predict::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Text(args)) => text::run(&args),
        Some(Command::Models(args)) => models::run(&args),
        Some(Command::Synth(args)) => synth::run(&args),
        Some(Command::Gui(args)) => gui::run(args),
        None => gui::run(gui::Args::default()),
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
