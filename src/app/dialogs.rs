//! Native file dialogs (rfd), opened on a worker because they block; the answer comes back as [`Picked`].

use std::path::PathBuf;

/// What a file dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickTarget {
    DatasetFolder,
    DatasetFile,
    RunFolder,
    /// A second run folder, compared with the shown run.
    CompareRun,
    /// A description-set file to load into the class-description editor, or to save it to.
    DescriptionSetOpen,
    DescriptionSetSave,
}

/// A dialog's answer (`None`: cancelled, or no desktop portal).
pub struct Picked(pub PickTarget, pub Option<PathBuf>);

/// Opens the dialog on a worker.
pub fn spawn_pick(ctx: &egui::Context, workers: &mut super::workers::Workers, target: PickTarget) {
    workers.spawn(ctx, "Choosing a file", move |_| {
        Picked(target, pick_path(target))
    });
}

/// Opens a native file dialog (blocking; called on a worker). Returns `None` on cancel and on machines with no
/// portal.
pub fn pick_path(target: PickTarget) -> Option<PathBuf> {
    let dialog = rfd::FileDialog::new();
    match target {
        PickTarget::DatasetFolder => dialog.set_title("Open dataset folder").pick_folder(),
        PickTarget::DatasetFile => dialog.set_title("Open skeleton file").pick_file(),
        PickTarget::RunFolder => dialog.set_title("Open run folder").pick_folder(),
        PickTarget::CompareRun => dialog.set_title("Compare with run folder").pick_folder(),
        PickTarget::DescriptionSetOpen => dialog
            .set_title("Load a description set")
            .add_filter("description set", &["toml"])
            .pick_file(),
        PickTarget::DescriptionSetSave => dialog
            .set_title("Save the description set")
            .add_filter("description set", &["toml"])
            .set_file_name("descriptions.toml")
            .save_file(),
    }
}
