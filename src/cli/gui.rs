//! `skelzero gui`: the explorer window (also what `skelzero` with no subcommand opens).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::app::{AppOptions, ExplorerApp};
use crate::nn::device::DeviceChoice;

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Dataset folder or file to open (default: the built-in demo).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run folder to open: one with predictions.json, or (with --encoder) a `skelzero train` run folder, scored live
    /// on the dataset.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// A `skelzero pretrain` run folder: encode the dataset with it and score it with --run on a worker.
    #[arg(long, requires = "run", requires = "data")]
    pub encoder: Option<PathBuf>,
    /// Save a screenshot of the window to this PNG, then exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Exit after this many frames (with --screenshot: take it at this frame; default 10).
    #[arg(long)]
    pub exit_after_frames: Option<u64>,
    /// Play a sequence for this many frames with every view open, print frame-time statistics, exit.
    #[arg(long)]
    pub bench_frames: Option<u64>,
    /// Where the skeleton encoder runs when a run is scored live (also selectable in the status bar).
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceChoice,
    /// Window size in points, WIDTHxHEIGHT (default 1280x800, or the remembered window). Given, it wins over the
    /// remembered window, which is then neither restored nor saved.
    #[arg(long)]
    pub size: Option<String>,
    /// Write what the window shows as JSON to this file at the last frame (with --exit-after-frames or
    /// --screenshot; waits for loading and scoring like --screenshot).
    #[arg(long)]
    pub dump_state: Option<PathBuf>,
    /// Ignore and do not save the remembered UI settings.
    #[arg(long)]
    pub fresh: bool,
    /// Open an analysis window at start (repeatable); `tsne` also computes the map once the run is loaded.
    #[arg(long = "view", value_enum)]
    pub views: Vec<crate::app::command::AnalysisView>,
    /// A second run folder of the same dataset, compared with --run (agreement matrix, disagreements).
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Open with playback paused (by default the first sample plays as soon as the data is open).
    #[arg(long)]
    pub paused: bool,
}

fn parse_size(s: &str) -> anyhow::Result<[f32; 2]> {
    let (w, h) = s
        .split_once('x')
        .with_context(|| format!("--size {s}: expected WIDTHxHEIGHT"))?;
    let w: f32 = w
        .trim()
        .parse()
        .with_context(|| format!("--size {s}: bad width"))?;
    let h: f32 = h
        .trim()
        .parse()
        .with_context(|| format!("--size {s}: bad height"))?;
    anyhow::ensure!(
        (200.0..=8192.0).contains(&w) && (200.0..=8192.0).contains(&h),
        "--size {s}: each side must be 200 to 8192"
    );
    Ok([w, h])
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let size = parse_size(args.size.as_deref().unwrap_or("1280x800"))?;
    // A run folder given to the wrong flag is named before the window opens.
    use crate::experiment::run_kind::{RunKind, expect_run};
    if let Some(run) = &args.run {
        expect_run(run, RunKind::Train, "--run").map_err(anyhow::Error::msg)?;
    }
    if let Some(compare) = &args.compare {
        expect_run(compare, RunKind::Train, "--compare").map_err(anyhow::Error::msg)?;
    }
    if let Some(encoder) = &args.encoder {
        expect_run(encoder, RunKind::Pretrain, "--encoder").map_err(anyhow::Error::msg)?;
    }
    let scripted = args.screenshot.is_some()
        || args.exit_after_frames.is_some()
        || args.bench_frames.is_some()
        || args.dump_state.is_some();
    let demo = args.data.is_none();
    // `--fresh` and an explicit `--size` start from the given size, not the remembered window.
    let remembered_window = !(scripted || args.fresh || args.size.is_some());
    let options = AppOptions {
        data: Some(args.data.unwrap_or_else(|| "demo".into())),
        run: args.run.or(demo.then(|| "demo".into())),
        compare: args.compare,
        encoder: args.encoder,
        screenshot: args.screenshot,
        exit_after_frames: args.exit_after_frames,
        bench_frames: args.bench_frames,
        device: args.device,
        autoplay: args.bench_frames.is_some() || !args.paused,
        fresh: args.fresh || scripted,
        views: args.views,
        dump_state: args.dump_state,
    };
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("skelzero explorer")
            .with_inner_size(size)
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Wgpu,
        // A scripted run must not move the user's remembered window or settings.
        persist_window: remembered_window,
        ..Default::default()
    };
    eframe::run_native(
        "skelzero",
        native,
        Box::new(move |cc| Ok(Box::new(ExplorerApp::new(cc, options)))),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
