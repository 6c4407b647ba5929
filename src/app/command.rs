//! Everything the user can do, as commands: views and shortcuts push them, [`super::ExplorerApp::apply`] applies
//! them in one place. The keyboard shortcut table and the help overlay that lists it live here too.

use std::path::PathBuf;

use egui::{Key, KeyboardShortcut, Modifiers};

use super::dialogs::PickTarget;
use crate::pipeline::predictions::Setting;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Opens a file dialog (on a worker thread) for a dataset or run.
    Pick(PickTarget),
    /// Opens a path: a run folder if it holds `predictions.json`, otherwise a dataset.
    Open(PathBuf),
    OpenDataset(PathBuf),
    OpenRun(PathBuf),
    /// Loads a second run folder to compare with the shown one.
    OpenCompare(PathBuf),
    SelectSample(usize),
    /// Moves the selection up or down the browser's (filtered) list.
    SelectRelative(i32),
    TogglePlay,
    StepFrames(i32),
    FirstFrame,
    LastFrame,
    SeekFrame(usize),
    SetSpeed(f32),
    ScaleSpeed(f32),
    ToggleLoop,
    TogglePreprocessed,
    /// Hand and foot trails in the player on / off.
    ToggleTrails,
    ResetView,
    Orbit {
        dx: f32,
        dy: f32,
    },
    Pan {
        dx: f32,
        dy: f32,
        height_px: f32,
    },
    Zoom(f32),
    ToggleHelp,
    ToggleTheme,
    ToggleBrowser,
    TogglePredictions,
    SetMatrixSetting(Setting),
    /// Lists the samples of one confusion-matrix cell (dataset classes) in the browser.
    FilterCell {
        truth: usize,
        pred: usize,
        setting: Setting,
    },
    ClearCellFilter,
    /// Computes the t-SNE map of the run's features on a worker.
    RunTsne(crate::pipeline::tsne::TsneConfig),
    /// Selects a sample and plays it from the start.
    PlaySample(usize),
    /// Lists only these samples (dataset indices) in the browser.
    FilterSamples(Vec<usize>),
    /// Sets the GZSL calibration gamma (predictions, metrics and matrices follow).
    SetGamma(f32),
    /// Saves the gamma in use with the run folder (`gamma.toml`, chosen on the test split), or (`false`) deletes it.
    SaveGamma(bool),
    /// Writes the predictions, per-class accuracy and confusion matrices (CSV + JSON) into a folder.
    ExportTables(PathBuf),
    /// Saves a PNG of the window, or of one analysis view.
    SavePng {
        path: PathBuf,
        view: Option<AnalysisView>,
    },
    /// Undoes / redoes the last class-description edit.
    UndoEdit,
    RedoEdit,
    CancelJob(u64),
    Dismiss(u64),
}

/// A view that can be opened from the View menu or `--view`: each is a tab of the dock (`dock.rs`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
pub enum AnalysisView {
    Tsne,
    Calibration,
    Star,
    Branches,
    Export,
    /// The class-description editor (not an analysis view, but docked and opened the same way).
    Editor,
    /// Per-class accuracy bars (ZSL or GZSL, test split).
    ClassAccuracy,
    /// Two runs side by side (`--compare RUN`).
    Compare,
    /// The selected sample's nearest samples in feature space.
    Neighbours,
    /// The confusion matrix (ZSL or GZSL, test split) in the dock's larger area.
    Matrix,
}

impl AnalysisView {
    pub const ALL: [Self; 10] = [
        Self::Tsne,
        Self::Calibration,
        Self::Star,
        Self::Branches,
        Self::Export,
        Self::Editor,
        Self::ClassAccuracy,
        Self::Neighbours,
        Self::Compare,
        Self::Matrix,
    ];

    /// The tab title (also the view's name in `--dump-state`).
    pub fn title(self) -> &'static str {
        match self {
            Self::Tsne => "t-SNE",
            Self::Calibration => "GZSL calibration",
            Self::Star => "STAR part scores",
            Self::Branches => "InfoCPL branches",
            Self::Export => "Export",
            Self::Editor => "Class descriptions",
            Self::ClassAccuracy => "Per-class accuracy",
            Self::Neighbours => "Nearest samples",
            Self::Compare => "Run comparison",
            Self::Matrix => "Confusion matrix",
        }
    }
}

pub struct Shortcut {
    pub shortcut: KeyboardShortcut,
    pub description: &'static str,
    pub command: fn() -> Command,
    /// Plain keys are ignored while a text field has focus; shortcuts with Ctrl are not.
    pub while_typing: bool,
}

const fn key(modifiers: Modifiers, key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(modifiers, key)
}

/// The keyboard shortcuts. Longer modifier combinations come first so they win over the plain key.
pub const SHORTCUTS: &[Shortcut] = &[
    Shortcut {
        shortcut: key(Modifiers::COMMAND, Key::O),
        description: "Open a dataset folder",
        command: || Command::Pick(PickTarget::DatasetFolder),
        while_typing: true,
    },
    Shortcut {
        shortcut: key(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::O),
        description: "Open a skeleton file",
        command: || Command::Pick(PickTarget::DatasetFile),
        while_typing: true,
    },
    Shortcut {
        shortcut: key(Modifiers::COMMAND, Key::R),
        description: "Open a run folder (predictions)",
        command: || Command::Pick(PickTarget::RunFolder),
        while_typing: true,
    },
    Shortcut {
        shortcut: key(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z),
        description: "Redo a description edit",
        command: || Command::RedoEdit,
        while_typing: true,
    },
    Shortcut {
        shortcut: key(Modifiers::COMMAND, Key::Z),
        description: "Undo a description edit",
        command: || Command::UndoEdit,
        while_typing: true,
    },
    Shortcut {
        shortcut: key(Modifiers::COMMAND, Key::T),
        description: "Dark / light theme",
        command: || Command::ToggleTheme,
        while_typing: true,
    },
    Shortcut {
        shortcut: key(Modifiers::SHIFT, Key::ArrowLeft),
        description: "Back 10 frames",
        command: || Command::StepFrames(-10),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::SHIFT, Key::ArrowRight),
        description: "Forward 10 frames",
        command: || Command::StepFrames(10),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::Space),
        description: "Play / pause",
        command: || Command::TogglePlay,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::ArrowLeft),
        description: "Previous frame",
        command: || Command::StepFrames(-1),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::ArrowRight),
        description: "Next frame",
        command: || Command::StepFrames(1),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::Home),
        description: "First frame",
        command: || Command::FirstFrame,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::End),
        description: "Last frame",
        command: || Command::LastFrame,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::ArrowUp),
        description: "Previous sample",
        command: || Command::SelectRelative(-1),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::ArrowDown),
        description: "Next sample",
        command: || Command::SelectRelative(1),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::OpenBracket),
        description: "Slower",
        command: || Command::ScaleSpeed(0.5),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::CloseBracket),
        description: "Faster",
        command: || Command::ScaleSpeed(2.0),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::L),
        description: "Loop on / off",
        command: || Command::ToggleLoop,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::P),
        description: "Raw / preprocessed (50 frames)",
        command: || Command::TogglePreprocessed,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::G),
        description: "Hand and foot trails on / off",
        command: || Command::ToggleTrails,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::R),
        description: "Reset the camera",
        command: || Command::ResetView,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::A),
        description: "Orbit left",
        command: || Command::Orbit { dx: -30.0, dy: 0.0 },
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::D),
        description: "Orbit right",
        command: || Command::Orbit { dx: 30.0, dy: 0.0 },
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::W),
        description: "Orbit up",
        command: || Command::Orbit { dx: 0.0, dy: 20.0 },
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::S),
        description: "Orbit down",
        command: || Command::Orbit { dx: 0.0, dy: -20.0 },
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::Equals),
        description: "Zoom in",
        command: || Command::Zoom(1.0),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::Minus),
        description: "Zoom out",
        command: || Command::Zoom(-1.0),
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::B),
        description: "Show / hide the browser",
        command: || Command::ToggleBrowser,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::M),
        description: "Show / hide predictions and the matrix",
        command: || Command::TogglePredictions,
        while_typing: false,
    },
    Shortcut {
        shortcut: key(Modifiers::NONE, Key::F1),
        description: "This help",
        command: || Command::ToggleHelp,
        while_typing: true,
    },
];

/// Commands for the shortcuts pressed this frame.
pub fn shortcut_commands(ctx: &egui::Context) -> Vec<Command> {
    let typing = ctx.egui_wants_keyboard_input();
    let mut out = Vec::new();
    ctx.input_mut(|input| {
        for s in SHORTCUTS {
            if (s.while_typing || !typing) && input.consume_shortcut(&s.shortcut) {
                out.push((s.command)());
            }
        }
    });
    out
}

/// The help overlay: the shortcut table and the mouse controls. Returns true when closed.
pub fn help_ui(ctx: &egui::Context) -> bool {
    let response = egui::Modal::new(egui::Id::unique("help")).show(ctx, |ui| {
        ui.heading("Keyboard and mouse");
        ui.add_space(4.0);
        // Two side-by-side tables so the overlay fits an 800-pixel-high window.
        let half = SHORTCUTS.len().div_ceil(2);
        ui.horizontal_top(|ui| {
            for (n, part) in SHORTCUTS.chunks(half).enumerate() {
                egui::Grid::new(("shortcuts", n))
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        for s in part {
                            ui.monospace(ctx.format_shortcut(&s.shortcut));
                            ui.label(s.description);
                            ui.end_row();
                        }
                    });
                ui.add_space(12.0);
            }
        });
        ui.add_space(6.0);
        egui::Grid::new("mouse")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for (what, how) in [
                    ("Drag (left)", "Orbit the camera"),
                    ("Drag (right / middle)", "Pan"),
                    ("Scroll", "Zoom"),
                    ("Double-click", "Reset the camera"),
                    ("Hover a joint", "Show its name"),
                    ("Drop a file or folder", "Open it"),
                ] {
                    ui.monospace(what);
                    ui.label(how);
                    ui.end_row();
                }
            });
        ui.add_space(6.0);
        ui.button("Close").clicked()
    });
    response.inner || response.should_close()
}
