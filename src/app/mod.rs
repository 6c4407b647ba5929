//! The explorer: an eframe app over a dataset and, optionally, a run's predictions.
//!
//! egui only. Views (`*_ui` functions) read the state and push [`Command`]s; [`ExplorerApp::apply`] (in
//! `controller.rs`) is the one place that changes it. Work that takes time runs on worker threads ([`workers`]) as
//! GUI-free job bodies from `crate::pipeline`; each feature takes back its own result type, and failures become
//! notifications. The fixed panels are in `panels.rs`, the analysis views (tabs of the dock, [`dock`]) in
//! [`views`], the scripted screenshot/bench runs in `harness.rs`.

pub mod branch_editor;
pub mod branch_history;
pub mod branch_sweep;
pub mod browser;
pub mod calibration;
pub mod command;
pub mod compare;
pub mod confusion;
mod controller;
pub mod dialogs;
pub mod dock;
mod dump;
pub mod editor;
pub mod elide;
pub mod export;
mod harness;
pub mod notifications;
pub mod palette;
mod panels;
pub mod player;
pub mod research_views;
pub mod results;
pub mod star_parts;
pub mod tsne;
pub mod views;
pub mod workers;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use command::Command;
use harness::Bench;
use notifications::Notifications;
use palette::{Palette, Theme};
use workers::Workers;

use crate::dataset::Dataset;
use crate::pipeline::predictions::{self, Predictions};
use crate::skeleton::Sequence;

/// How the app was started (command line).
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub data: Option<PathBuf>,
    pub run: Option<PathBuf>,
    /// A second run folder to compare with `run` (same dataset).
    pub compare: Option<PathBuf>,
    /// A `skelzero pretrain` run folder: with it, a `skelzero train` run folder is scored live on the dataset.
    pub encoder: Option<PathBuf>,
    pub screenshot: Option<PathBuf>,
    pub exit_after_frames: Option<u64>,
    pub bench_frames: Option<u64>,
    /// Where inference runs (the status bar can change it).
    pub device: crate::nn::device::DeviceChoice,
    /// Start playing the selected sample at once.
    pub autoplay: bool,
    /// Ignore the persisted settings (tests and scripted runs start from defaults).
    pub fresh: bool,
    /// Analysis windows to open at start.
    pub views: Vec<command::AnalysisView>,
    /// Write what the window shows as JSON here (at the last frame of a scripted run, see `harness.rs`).
    pub dump_state: Option<PathBuf>,
}

/// UI state kept between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub theme: Theme,
    pub recent: Vec<PathBuf>,
    pub speed: f32,
    pub looping: bool,
    pub show_browser: bool,
    pub show_predictions: bool,
    pub matrix_gzsl: bool,
    pub top_k: usize,
    pub path_input: String,
    /// Hand and foot trails in the player.
    pub trails: bool,
    /// The dock's tabs and splits (which views are open and where).
    pub dock: dock::DockTree,
    /// The dock takes most of the height.
    pub dock_tall: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::Dark,
            recent: Vec::new(),
            speed: 1.0,
            looping: true,
            show_browser: true,
            show_predictions: true,
            matrix_gzsl: false,
            top_k: 5,
            path_input: String::new(),
            trails: false,
            dock: dock::empty_tree(),
            dock_tall: false,
        }
    }
}

const MAX_RECENT: usize = 8;

pub struct ExplorerApp {
    pub settings: Settings,
    palette: Palette,
    options: AppOptions,
    ctx: egui::Context,
    gpu: bool,
    /// Where the skeleton encoder runs when a run is scored live.
    pub device: candle_core::Device,
    pub dataset: Option<Dataset>,
    pub predictions: Option<Predictions>,
    /// Where the shown run was opened from (`demo` for the built-in one).
    run_path: Option<PathBuf>,
    /// Why the run does not belong to the open dataset (its figures are hidden while this is set).
    pub mismatch: Option<String>,
    /// The run's class names (its own when it records them), indexed by dataset class: every class label of the
    /// run's views comes from here.
    class_names: Vec<String>,
    /// The run's gamma as opened (chosen on seen-class validation); the calibration slider may move it.
    opened_gamma: f32,
    metrics: Option<predictions::Metrics>,
    confusion: [Option<predictions::Confusion>; 2],
    joined: browser::Joined,
    /// Bumped whenever the dataset or predictions change (invalidates the browser's cached order).
    generation: u64,
    pub selected: Option<usize>,
    /// Colours painted on the joints (and the bones ending in them) instead of the body colours, e.g. attention.
    pub joint_colors: Option<Vec<egui::Color32>>,
    pub preprocessed: bool,
    preprocessed_seq: Option<(usize, Sequence)>,
    /// The preprocessing behind the *Preprocessed* view: the pipeline's default (AimCLR's 50-frame NTU25 tensor).
    preprocess: crate::skeleton::PreprocessConfig,
    pub player: player::Player,
    pub browser: browser::BrowserState,
    pub workers: Workers,
    pub notifications: Notifications,
    /// The class-description editor (for runs scored live).
    pub editor: editor::Editor,
    pub views: views::AnalysisViews,
    pub show_help: bool,
    /// A live scoring job in flight: the player holds still until its first scored sample is selected, so that the
    /// encoder does not share the 2 cores with drawing a clip about to be replaced (with the spinner gone too, the
    /// demo went from a median 4.2 s to 2.5 s from launch to scored on the 2-core machine with lavapipe).
    score_job: Option<u64>,
    /// Autoplay waits for that job's scores.
    play_when_scored: bool,
    /// The embedded demo run shown (index into `pipeline::demo::DEMO_RUNS`), when a demo run is open.
    pub demo_run: Option<usize>,
    pending: Vec<Command>,
    frame_count: u64,
    screenshot_rx: Option<std::sync::mpsc::Receiver<std::sync::Arc<egui::ColorImage>>>,
    bench: Option<Bench>,
    /// Screen rectangle of each fixed panel last frame (for `--dump-state`).
    panel_rects: Vec<(&'static str, egui::Rect)>,
}

impl ExplorerApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        let settings: Settings = if options.fresh {
            // egui's own memory (panel sizes, scroll positions) was loaded from the same storage.
            cc.egui_ctx.memory_mut(|m| {
                m.data = Default::default();
                m.reset_areas();
            });
            Settings::default()
        } else {
            cc.storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default()
        };
        let gpu = crate::bridge::install(cc.wgpu_render_state.as_ref());
        let mut app = Self {
            palette: Palette::for_theme(settings.theme),
            settings,
            ctx: cc.egui_ctx.clone(),
            gpu,
            device: candle_core::Device::Cpu,
            dataset: None,
            predictions: None,
            run_path: None,
            mismatch: None,
            class_names: Vec::new(),
            opened_gamma: 0.0,
            score_job: None,
            play_when_scored: false,
            metrics: None,
            confusion: [None, None],
            joined: browser::Joined::default(),
            generation: 0,
            selected: None,
            joint_colors: None,
            preprocessed: false,
            preprocessed_seq: None,
            preprocess: crate::skeleton::PreprocessConfig::default(),
            player: player::Player::default(),
            browser: browser::BrowserState::default(),
            workers: Workers::default(),
            notifications: Notifications::default(),
            editor: editor::Editor::default(),
            views: views::AnalysisViews::default(),
            show_help: false,
            demo_run: None,
            pending: Vec::new(),
            frame_count: 0,
            screenshot_rx: None,
            bench: options.bench_frames.map(|frames| Bench {
                frames,
                cpu_ms: Vec::new(),
                frame_ms: Vec::new(),
                last: None,
            }),
            panel_rects: Vec::new(),
            options,
        };
        app.player.trails = app.settings.trails;
        // The views that had a tab last time are open again.
        for (_, view) in dock::panes(&app.settings.dock) {
            app.set_view_flag(view, true);
        }
        app.apply_theme();
        app.choose_device(app.options.device);
        for &view in &app.options.views {
            if view == command::AnalysisView::Editor {
                app.editor.open = true;
            } else {
                app.views.open(view);
            }
        }
        if let Some(path) = app.options.data.clone() {
            app.pending.push(Command::OpenDataset(path));
        }
        if let Some(path) = app.options.run.clone() {
            app.pending.push(Command::OpenRun(path));
        }
        if let Some(path) = app.options.compare.clone() {
            app.pending.push(Command::OpenCompare(path));
        }
        app
    }

    /// Where a panel (`menu`, `status`, `browser`, `dock`, `predictions`, `player`) was drawn in the last frame.
    pub fn panel_rect(&self, name: &str) -> Option<egui::Rect> {
        self.panel_rects
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
    }

    /// The sequence the player shows (the preprocessed tensor when that view is on).
    fn current_sequence(&self) -> Option<&Sequence> {
        shown_sequence(
            self.dataset.as_ref(),
            self.selected,
            self.preprocessed,
            &self.preprocessed_seq,
        )
    }

    fn apply_theme(&mut self) {
        self.palette = Palette::for_theme(self.settings.theme);
        self.ctx.set_visuals(match self.settings.theme {
            Theme::Dark => egui::Visuals::dark(),
            Theme::Light => egui::Visuals::light(),
        });
    }

    fn remember(&mut self, path: &std::path::Path) {
        if crate::pipeline::demo::is_demo_path(path) {
            return;
        }
        self.settings.recent.retain(|p| p != path);
        self.settings.recent.insert(0, path.to_path_buf());
        self.settings.recent.truncate(MAX_RECENT);
    }
}

impl eframe::App for ExplorerApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        for out in self.workers.poll() {
            self.handle_job_output(out);
        }
        self.handle_dropped_files(&ctx);
        let shortcuts = command::shortcut_commands(&ctx);
        self.pending.extend(shortcuts);
        self.apply_pending();

        let dt = f64::from(ctx.input(|i| i.stable_dt).min(0.1));
        let (frames, fps) = self
            .current_sequence()
            .map_or((0, 30.0), |s| (s.frames(), s.fps));
        self.player
            .advance(dt, fps, self.settings.speed, self.settings.looping, frames);

        self.panel_rects.clear();
        let r = egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        self.panel_rects.push(("menu", r.response.rect));
        if let Some(why) = self.mismatch.clone() {
            let r = egui::Panel::top("run mismatch").show(ui, |ui| self.mismatch_ui(ui, &why));
            self.panel_rects
                .push(("run mismatch banner", r.response.rect));
        }
        if self.editor.offers_recovery() {
            let r = egui::Panel::top("recovery offer").show(ui, |ui| self.editor.offer_ui(ui));
            self.panel_rects
                .push(("Unsaved description edits", r.response.rect));
        }
        let r = egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        self.panel_rects.push(("status", r.response.rect));
        if self.settings.show_browser {
            // 480 points at 1280 wide, more in a wider window (the ids and class names get the room).
            let width = ui.available_width();
            let r = egui::Panel::left("browser")
                .resizable(true)
                .default_size((width * 0.375).clamp(320.0, 720.0))
                .min_size(300.0)
                .show(ui, |ui| {
                    // The panel keeps its width (its contents fit any width and would shrink it).
                    ui.set_min_width(ui.available_width());
                    match &self.dataset {
                        Some(d) => {
                            self.browser.refresh(
                                d,
                                &self.joined,
                                self.predictions.as_ref(),
                                self.generation,
                            );
                            browser::browser_ui(
                                ui,
                                &mut self.browser,
                                d,
                                &self.joined,
                                self.selected,
                                &self.palette,
                                &mut self.pending,
                            );
                        }
                        None => {
                            ui.heading("Samples");
                            ui.weak("No dataset open.");
                        }
                    }
                });
            self.panel_rects.push(("browser", r.response.rect));
        }
        self.analysis_update(&ctx);
        if self.dock_shown() {
            // Under the player and the predictions, beside the browser: never over either.
            let room = ui.available_height();
            let panel = if self.dock_tall() {
                // Another id: the resizable dock's size is kept for when it is short again.
                egui::Panel::bottom("dock tall").exact_size((room - 200.0).max(160.0))
            } else {
                egui::Panel::bottom("dock")
                    .resizable(true)
                    .default_size((room * 0.45).max(160.0))
                    .size_range(120.0..=(room - 160.0).max(120.0))
            };
            let r = panel.show(ui, |ui| self.dock_ui(ui));
            self.panel_rects.push(("dock", r.response.rect));
        } else {
            self.views.rects.clear();
        }
        self.apply_paint();
        if self.settings.show_predictions {
            // 320 points at 1280 wide (the browser's share of the width is already taken out), more when wider.
            let width = ui.available_width();
            let r = egui::Panel::right("predictions")
                .resizable(true)
                .default_size((width * 0.4).clamp(300.0, 560.0))
                // Long class names in the top-k would otherwise widen the panel over the player's room.
                .size_range(300.0..=(width * 0.45).max(300.0))
                .show(ui, |ui| self.predictions_ui(ui));
            self.panel_rects.push(("predictions", r.response.rect));
        }
        let r = egui::CentralPanel::default().show(ui, |ui| {
            let settings = player::PlayerSettings {
                speed: self.settings.speed,
                looping: self.settings.looping,
                preprocessed: self.preprocessed,
                can_preprocess: self.selected.is_some(),
                trails: self.player.trails,
            };
            let title = match (&self.dataset, self.selected) {
                (Some(d), Some(i)) => {
                    let s = &d.samples[i];
                    let bodies = s.seq.bodies();
                    format!(
                        "{} · {} · {bodies} {} · {} fps",
                        s.meta.id,
                        d.classes.get(s.meta.label).map_or("?", String::as_str),
                        if bodies == 1 { "body" } else { "bodies" },
                        s.seq.fps
                    )
                }
                _ => "No sample selected".to_owned(),
            };
            ui.label(title);
            player::controls_ui(ui, &self.player, frames, fps, &settings, &mut self.pending);
            let hovered = self.player.hovered.and_then(|(_, j)| {
                self.current_sequence()
                    .and_then(|s| s.layout().joints.get(j).copied())
            });
            ui.label(format!("Joint: {}", hovered.unwrap_or("–")));
            // Borrowed, not cloned: a 300-frame two-person clip is ~180 kB to copy every frame.
            let seq = shown_sequence(
                self.dataset.as_ref(),
                self.selected,
                self.preprocessed,
                &self.preprocessed_seq,
            );
            player::viewport_ui(
                ui,
                &mut self.player,
                seq,
                self.joint_colors.as_deref(),
                &self.palette,
                self.gpu,
                &mut self.pending,
            );
        });
        self.panel_rects.push(("player", r.response.rect));

        self.editor.update(&ctx, &mut self.workers);
        if self.show_help && command::help_ui(&ctx) {
            self.pending.push(Command::ToggleHelp);
        }
        let player = self.panel_rect("player");
        if let Some(id) = self.notifications.ui(&ctx, player, &self.palette) {
            self.pending.push(Command::Dismiss(id));
        }
        self.apply_pending();
        if self.player.playing {
            ctx.request_repaint();
        }
        self.scripted_frame(&ctx, frame);
    }

    fn persist_egui_memory(&self) -> bool {
        // A scripted or `--fresh` run must not move the user's panels either.
        !self.options.fresh
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.options.fresh {
            eframe::set_value(storage, eframe::APP_KEY, &self.settings);
        }
    }
}

/// The sequence the player shows, from the app's fields (so the viewport can borrow it beside the mutable player).
fn shown_sequence<'a>(
    dataset: Option<&'a Dataset>,
    selected: Option<usize>,
    preprocessed: bool,
    preprocessed_seq: &'a Option<(usize, Sequence)>,
) -> Option<&'a Sequence> {
    let i = selected?;
    if preprocessed
        && let Some((j, seq)) = preprocessed_seq
        && *j == i
    {
        return Some(seq);
    }
    dataset?.samples.get(i).map(|s| &s.seq)
}

impl ExplorerApp {
    fn apply_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for c in pending {
            self.apply(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_older_versions_get_defaults() {
        let old: Settings = serde_json::from_str(r#"{"speed": 2.0, "gone_field": 1}"#).unwrap();
        assert_eq!(old.speed, 2.0);
        assert_eq!(old.top_k, Settings::default().top_k);
        assert!(old.show_browser);
        let round: Settings = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(round, old);
    }
}
