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
