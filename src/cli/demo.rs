//! `skelzero demo`: scores the built-in demo's embedded runs on its synthetic test samples and prints their figures.

use crate::pipeline::demo::score_demo_runs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object per run, one per line (JSON lines), instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let scores = score_demo_runs(&candle_core::Device::Cpu)?;
    if args.json {
        for s in &scores {
            println!("{}", serde_json::to_string(s)?);
        }
        return Ok(());
    }
    println!(
        "{:<8} {:>7} {:>7} {:>7} {:>7} {:>8}  (chance {:.1} %; GZSL on held-out subjects' test samples)",
        "method",
        "ZSL",
        "S",
        "U",
        "H",
        "gamma",
        100.0 * scores.first().map_or(0.0, |s| s.chance)
    );
    for s in &scores {
        println!(
            "{:<8} {:>6.1}% {:>6.1}% {:>6.1}% {:>6.1}% {:>8.3}{}",
            s.method,
            100.0 * s.zsl_top1,
            100.0 * s.gzsl_s,
            100.0 * s.gzsl_u,
            100.0 * s.gzsl_h,
            s.gamma,
            if s.default { "  (default)" } else { "" }
        );
    }
    Ok(())
}
