//! Scripted runs that end by themselves: `--screenshot` (waits for loading and scoring, saves a PNG, closes),
//! `--exit-after-frames` and `--bench-frames` (app CPU time and frame time per frame, printed at the end).

use std::time::Instant;

use super::{ExplorerApp, export};

/// Frame-time samples for `--bench-frames`.
pub(super) struct Bench {
    pub frames: u64,
    pub cpu_ms: Vec<f32>,
    pub frame_ms: Vec<f32>,
    pub last: Option<Instant>,
}

impl ExplorerApp {
    /// `--screenshot` / `--exit-after-frames` / `--bench-frames`: scripted runs end by themselves.
    pub(super) fn scripted_frame(&mut self, ctx: &egui::Context, frame: &eframe::Frame) {
        self.frame_count += 1;
        if let Some(bench) = &mut self.bench {
            let now = Instant::now();
            if let Some(last) = bench.last {
                bench.frame_ms.push((now - last).as_secs_f32() * 1000.0);
                if let Some(cpu) = frame.info().cpu_usage {
                    bench.cpu_ms.push(cpu * 1000.0);
                }
            }
            bench.last = Some(now);
            if self.frame_count == bench.frames {
                print_bench(bench);
            }
        }
        let limit = self
            .bench
            .as_ref()
            .map(|b| b.frames)
            .or(self.options.exit_after_frames)
            .or(self.options.screenshot.as_ref().map(|_| 10))
            .or(self.options.dump_state.as_ref().map(|_| 10));
        let Some(limit) = limit else {
            return;
        };
        ctx.request_repaint();
        if let Some(rx) = &self.screenshot_rx {
            if let Ok(image) = rx.try_recv() {
                if let Some(path) = &self.options.screenshot {
                    match save_png(path, &image) {
                        Ok(()) => eprintln!("screenshot saved to {}", path.display()),
                        Err(e) => eprintln!("error: {}: {e}", path.display()),
                    }
                }
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            return;
        }
        // A screenshot or a state dump waits for loading and scoring to finish, so that it shows their result.
        let waits = self.options.screenshot.is_some() || self.options.dump_state.is_some();
        if waits && self.workers.busy() {
            return;
        }
        if self.frame_count >= limit {
            self.dump_state();
            if self.options.screenshot.is_some() {
                let (tx, rx) = std::sync::mpsc::channel();
                let repaint = ctx.clone();
                ctx.request_screenshot(move |image| {
                    tx.send(image).ok();
                    // The screenshot arrives after the frame; wake the app to save it.
                    repaint.request_repaint();
                });
                self.screenshot_rx = Some(rx);
            } else {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }
}

fn percentile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return f32::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let i = ((v.len() - 1) as f32 * q).round() as usize;
    v[i]
}

fn print_bench(bench: &Bench) {
    println!(
        "frames: {} measured\napp CPU time per frame: median {:.2} ms, p95 {:.2} ms\ntotal frame time: median {:.2} ms, p95 {:.2} ms ({:.1} fps)",
        bench.frame_ms.len(),
        percentile(&bench.cpu_ms, 0.5),
        percentile(&bench.cpu_ms, 0.95),
        percentile(&bench.frame_ms, 0.5),
        percentile(&bench.frame_ms, 0.95),
        1000.0 / percentile(&bench.frame_ms, 0.5),
    );
}

fn save_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let png = export::png_from_image(image, None, 1.0)?;
    crate::util::write_bytes_atomic(path, &png).map_err(|e| e.to_string())
}
