//! The explorer under egui_kittest, shared by the GUI test files: a harness rendering with wgpu on Vulkan (lavapipe:
//! the snapshots are pinned to it) and a wait for worker threads.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use egui_kittest::Harness;
use skelzero::app::{AppOptions, ExplorerApp};

/// A fresh explorer (no persisted state) in a window of `size` points.
pub fn harness(size: egui::Vec2) -> Harness<'static, ExplorerApp> {
    harness_with(size, AppOptions::default())
}

/// [`harness`] started with these options (as `skelzero gui --data D --encoder E` would), fresh and on the CPU.
pub fn harness_with(size: egui::Vec2, options: AppOptions) -> Harness<'static, ExplorerApp> {
    static BACKEND: std::sync::Once = std::sync::Once::new();
    BACKEND.call_once(|| {
        // SAFETY: every test in a binary using this module reaches wgpu only through `harness`, so no other thread
        // reads the environment while it is set here (the Once blocks them until done).
        unsafe { std::env::set_var("WGPU_BACKEND", "vulkan") };
        // Description edits are autosaved: keep them out of the user's data folder (a folder per test process).
        let recovery =
            std::env::temp_dir().join(format!("skelzero-test-recovery-{}", std::process::id()));
        // SAFETY: as above.
        unsafe { std::env::set_var(skelzero::app::editor::recovery::RECOVERY_DIR_ENV, recovery) };
    });
    Harness::builder()
        .with_size(size)
        .wgpu()
        .build_eframe(|cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    device: skelzero::nn::device::DeviceChoice::Cpu,
                    fresh: true,
                    ..options
                },
            )
        })
}

/// Steps until `done` holds, for at most `limit` (worker threads finish in real time).
pub fn wait_for(
    h: &mut Harness<'static, ExplorerApp>,
    limit: Duration,
    done: impl Fn(&ExplorerApp) -> bool,
) {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        h.step();
        if done(h.state()) {
            h.run_steps(2);
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for the app");
}

/// The primary mouse button pressed (`true`) or released at `pos`.
pub fn primary_button(pos: egui::Pos2, pressed: bool) -> egui::Event {
    egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    }
}

/// Presses the primary button at `path[0]`, moves through the rest of `path` running `frame` after each move, and
/// releases at its end; the release is handled by the next frame the caller runs (a benchmark times that one).
pub fn drag_path(
    h: &mut Harness<'static, ExplorerApp>,
    path: &[egui::Pos2],
    mut frame: impl FnMut(&mut Harness<'static, ExplorerApp>),
) {
    let (Some(&first), Some(&last)) = (path.first(), path.last()) else {
        return;
    };
    h.event(egui::Event::PointerMoved(first));
    h.step();
    h.event(primary_button(first, true));
    h.step();
    for &p in &path[1..] {
        h.event(egui::Event::PointerMoved(p));
        frame(h);
    }
    h.event(primary_button(last, false));
}
