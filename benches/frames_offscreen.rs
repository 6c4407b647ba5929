//! The explorer's frame time with no window: the UI pass (egui, scene building, uploads) and the wgpu render of the
//! whole 1280x800 frame, read back to the CPU, with a two-person sequence playing, the browser open and the
//! confusion matrix shown. `gui --bench-frames` measures the same in a real window; this runs where there is a
//! GPU but no display (the adapter comes from `WGPU_ADAPTER_NAME`; Vulkan). On lavapipe the rasterizer dominates;
//! on a GPU the total must stay under 16.7 ms (60 fps).
//!
//! `cargo bench --bench frames_offscreen [-- FRAMES]` (default 120 measured frames after 10 warm-up frames;
//! `FRAMES_PNG=last.png` saves the last frame).

mod common;
#[path = "../tests/gui_harness/mod.rs"]
mod gui_harness;

use std::time::Instant;

use common::percentile;
use skelzero::app::Command;
use skelzero::pipeline::fixture::{fixture_dataset, fixture_predictions};

fn main() {
    let frames: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(120);
    // The constructed six-action set (real-shaped sequences, two-person ones among them) with its predictions.
    let mut h = gui_harness::harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    let data = fixture_dataset();
    let predictions = fixture_predictions(&data);
    h.state_mut().show("fixture", data, predictions);
    h.run_steps(2);
    let two = h
        .state()
        .dataset
        .as_ref()
        .and_then(|d| d.samples.iter().position(|s| s.seq.bodies() == 2))
        .expect("the fixture has a two-person sample");
    h.state_mut().apply(Command::SelectSample(two));
    h.state_mut().apply(Command::TogglePlay);
    h.run_steps(2);
    assert!(h.state().player.playing, "the sequence plays");

    let (mut ui, mut render, mut total) = (vec![], vec![], vec![]);
    for i in 0..frames + 10 {
        let t0 = Instant::now();
        h.step();
        let t1 = Instant::now();
        let image = h.render().expect("render");
        let t2 = Instant::now();
        assert_eq!((image.width(), image.height()), (1280, 800));
        if i >= 10 {
            ui.push((t1 - t0).as_secs_f64() * 1e3);
            render.push((t2 - t1).as_secs_f64() * 1e3);
            total.push((t2 - t0).as_secs_f64() * 1e3);
        }
    }
    // `FRAMES_PNG=path` keeps the last frame, to look at what was measured.
    if let Some(path) = std::env::var_os("FRAMES_PNG") {
        h.render()
            .expect("render")
            .save(&path)
            .expect("writing FRAMES_PNG");
    }
    // The adapter wgpu picks from the environment, as the harness's renderer does.
    let adapter = skelzero::render::headless::Headless::new()
        .map(|h| format!("{} ({:?})", h.adapter_info.name, h.adapter_info.backend))
        .unwrap_or_else(|e| e.to_string());
    println!("adapter: {adapter}; {frames} frames at 1280x800");
    for (name, v) in [
        ("UI pass (CPU)", &mut ui),
        ("render + readback", &mut render),
        ("total", &mut total),
    ] {
        println!(
            "{name:>18}: median {:6.2} ms, p95 {:6.2} ms",
            percentile(v, 0.5),
            percentile(v, 0.95)
        );
    }
    println!(
        "{:.0} fps at the median total",
        1e3 / percentile(&mut total, 0.5)
    );
}
