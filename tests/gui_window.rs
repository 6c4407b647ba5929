//! The real program in a real window: `skelzero gui --screenshot` under a private Xvfb server (installed by
//! `.ci/run`), rendering with wgpu on lavapipe, on the built-in demo: the screenshot, taken once the demo is scored,
//! shows the skeleton and the zero-shot results.

mod xvfb;

use std::process::Command;

use xvfb::Xvfb;

#[test]
fn screenshot_of_a_real_window_shows_the_skeletons() {
    let xvfb = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("window.png");
    let output = Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .args(["gui", "--bench-frames", "30", "--screenshot"])
        .arg(&shot)
        .env("DISPLAY", &xvfb.display)
        .env("WGPU_BACKEND", "vulkan")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The benchmark report names both figures.
    assert!(
        stdout.contains("app CPU time per frame: median"),
        "{stdout}"
    );

    let image = image::open(&shot)
        .unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", shot.display()))
        .to_rgba8();
    assert_eq!(image.dimensions(), (1280, 800));
    let orange = image
        .pixels()
        .filter(|p| p[0] > 150 && p[0] > p[2] + 90)
        .count();
    assert!(orange > 500, "orange {orange}");
    // The confusion matrix's cells (blue, brighter with more samples) are drawn: the demo was scored.
    let cells = image
        .pixels()
        .filter(|p| p[2] > 200 && p[2] > p[0] + 120)
        .count();
    assert!(cells > 500, "matrix cells {cells}");
}
