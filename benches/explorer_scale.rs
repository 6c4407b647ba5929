//! The explorer at NTU RGB+D 120's size (issue 24): a dataset of 114,480 samples (120 classes, NTU's file naming)
//! with a run that scored 50,000 of them (about NTU-120's cross-subject test split) and that run's t-SNE map, at
//! 1280x800 with the browser, the predictions panel and the player (a sample playing), the browser phases once
//! without the dock and once with the t-SNE tab open on the map. Each phase times the
//! explorer's UI pass (`Harness::step`: the app's `update` and egui's layout, what eframe reports as the app's CPU
//! per frame; the GPU render is not included) on this thread, wall and thread CPU, and the CPU time egui takes to
//! tessellate the frame's shapes (eframe does that on the same thread after the pass):
//! - `open`: the dataset and the run handed to the app and the first frame drawn with them;
//! - `idle`: the default view playing, nothing touched;
//! - `filter`: a search typed into the browser one character a frame (each frame refilters all samples);
//! - `scroll`: the mouse wheel over the browser, half its height a frame;
//! - `keys`: the down arrow through the browser (each frame selects and loads another sample);
//! - `hover`: the pointer moving over the t-SNE map (nearest point and its tooltip);
//! - `lasso`: a free-hand lasso drawn over the map, then its release (which lists its samples in the browser).
//!
//! `cargo bench --bench explorer_scale` (`SKELZERO_EXPLORER_N`, `SKELZERO_EXPLORER_ROWS`: dataset and run sizes;
//! `SKELZERO_EXPLORER_FRAMES`: frames per phase; `EXPLORER_PNG=path` saves the last frame). The sequences are short
//! (32 frames, one body): the per-frame work does not depend on their length, and 114,480 NTU-length clips would
//! take 3-4 GB that the phases never read.

mod common;
#[path = "../tests/gui_harness/mod.rs"]
mod gui_harness;

use std::path::PathBuf;
use std::time::Instant;

use common::{env_usize, percentile};
use egui_kittest::Harness;
use skelzero::app::{Command, ExplorerApp};
use skelzero::dataset::{Dataset, DatasetKind, Sample, SampleMeta};
use skelzero::pipeline::analysis::FeatureExport;
use skelzero::pipeline::predictions::Predictions;
use skelzero::pipeline::tsne::{TsneConfig, TsneMap};
use skelzero::skeleton::{LayoutId, Sequence};

const CLASSES: usize = 120;
const FRAMES: usize = 32;

/// A small deterministic generator (SplitMix64), so every run builds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// `n` samples in NTU's naming (`SsssCcccPpppRrrrAaaa`), classes in turn, each a short one-body clip.
fn dataset(n: usize) -> Dataset {
    let mut rng = Rng(1);
    // One clip per class, shared by its samples' values (each sample still owns its copy, as a read dataset does).
    let clips: Vec<Sequence> = (0..CLASSES)
        .map(|_| {
            let data: Vec<f32> = (0..FRAMES * 25 * 3).map(|_| rng.normal() * 0.3).collect();
            Sequence::new(LayoutId::Ntu25, FRAMES, 1, data).expect("a valid clip")
        })
        .collect();
    let samples = (0..n)
        .map(|i| {
            let label = i % CLASSES;
            let (setup, camera, subject, rep) = (
                1 + (i / CLASSES) % 32,
                1 + (i / CLASSES / 32) % 3,
                1 + (i / CLASSES / 96) % 106,
                1 + (i / CLASSES / 96 / 106) % 2,
            );
            let id = format!(
                "S{setup:03}C{camera:03}P{subject:03}R{rep:03}A{:03}#{i}",
                label + 1
            );
            Sample {
                meta: SampleMeta {
                    id: id.clone(),
                    label,
                    subject: Some(subject as u32),
                    camera: Some(camera as u32),
                    setup: Some(setup as u32),
                    repetition: Some(rep as u32),
                    video: id,
                    source: PathBuf::from("generated"),
                    frames: None,
                },
                seq: clips[label].clone(),
            }
        })
        .collect();
    Dataset {
        kind: DatasetKind::Synthetic,
        root: PathBuf::from("generated-ntu120"),
        classes: (1..=CLASSES).map(|c| format!("action {c:03}")).collect(),
        samples,
        skipped: Vec::new(),
    }
}

/// A run over the first `rows` samples: 110 seen and 10 unseen classes, about 60 % right, with 16-d features.
fn run(d: &Dataset, rows: usize) -> Predictions {
    let mut rng = Rng(2);
    let unseen: Vec<bool> = (0..CLASSES).map(|c| c % 12 == 5).collect();
    let mut scores = Vec::with_capacity(rows * CLASSES);
    for s in &d.samples[..rows] {
        let wrong = (rng.unit() < 0.4).then(|| rng.next() as usize % CLASSES);
        for k in 0..CLASSES {
            let base = if Some(k) == wrong {
                0.9
            } else if k == s.meta.label {
                0.7
            } else {
                0.0
            };
            scores.push(base + 0.3 * rng.unit());
        }
    }
    let dim = 16;
    Predictions {
        method: "generated scores".into(),
        sample_ids: d.samples[..rows]
            .iter()
            .map(|s| s.meta.id.clone())
            .collect(),
        labels: d.samples[..rows].iter().map(|s| s.meta.label).collect(),
        classes: (0..CLASSES).collect(),
        unseen,
        scores,
        class_names: d.classes.clone(),
        features: Some(FeatureExport {
            dim,
            samples: (0..rows * dim).map(|_| rng.normal()).collect(),
            classes: (0..CLASSES * dim).map(|_| rng.normal()).collect(),
            space: "generated features".into(),
        }),
        ..Predictions::default()
    }
}

/// A t-SNE-like layout: one Gaussian blob per class on a ring of rings, the class points at the blob centres.
fn map(p: &Predictions, run_key: u64) -> TsneMap {
    let mut rng = Rng(3);
    let centre = |c: usize| {
        let a = c as f32 * 2.399_963; // golden angle: the blobs fill a disc
        let r = 6.0 * (c as f32 + 1.0).sqrt();
        [r * a.cos(), r * a.sin()]
    };
    let mut points: Vec<[f32; 2]> = p
        .labels
        .iter()
        .map(|&c| {
            let [x, y] = centre(c);
            [x + 2.0 * rng.normal(), y + 2.0 * rng.normal()]
        })
        .collect();
    points.extend((0..CLASSES).map(centre));
    TsneMap {
        points,
        num_rows: p.labels.len(),
        run_key,
        seconds: 0.0,
        config: TsneConfig::default(),
    }
}

/// This thread's CPU time in ms.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Wall and CPU ms of each frame of one phase.
#[derive(Default)]
struct Phase {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    tessellate: Vec<f64>,
}

impl Phase {
    fn frame(&mut self, h: &mut Harness<'static, ExplorerApp>) {
        let (t, c) = (Instant::now(), thread_cpu_ms());
        h.step();
        self.cpu.push(thread_cpu_ms() - c);
        self.wall.push(t.elapsed().as_secs_f64() * 1e3);
        // eframe tessellates the frame's shapes on the same thread after the UI pass (part of its cpu_usage).
        let shapes = h.output().shapes.clone();
        let ppp = h.output().pixels_per_point;
        let c = thread_cpu_ms();
        let meshes = h.ctx.tessellate(shapes, ppp);
        self.tessellate.push(thread_cpu_ms() - c);
        std::hint::black_box(meshes);
    }

    fn report(mut self, name: &str) {
        let n = self.wall.len();
        println!(
            "{name:<7} {n:>4} frames | UI pass wall median {:6.2} ms p95 {:6.2} max {:7.2} | cpu median {:6.2} p95 {:6.2} | tessellate cpu median {:6.2} p95 {:6.2}",
            percentile(&mut self.wall, 0.5),
            percentile(&mut self.wall, 0.95),
            percentile(&mut self.wall, 1.0),
            percentile(&mut self.cpu, 0.5),
            percentile(&mut self.cpu, 0.95),
            percentile(&mut self.tessellate, 0.5),
            percentile(&mut self.tessellate, 0.95),
        );
    }
}

fn main() {
    // As `skelzero gui` does (`main.rs`): large freed blocks stay with the process, so a frame's meshes reuse the last
    // frame's pages instead of faulting fresh ones in (without it the map's frames cost twice the CPU here).
    skelzero::util::tune_malloc();
    let n = env_usize("SKELZERO_EXPLORER_N", 114_480);
    let rows = env_usize("SKELZERO_EXPLORER_ROWS", 50_000).min(n);
    let frames = env_usize("SKELZERO_EXPLORER_FRAMES", 60);
    let t = Instant::now();
    let d = dataset(n);
    let p = run(&d, rows);
    println!(
        "built {n} samples and a run of {rows} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut h = gui_harness::harness(egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    let t = Instant::now();
    h.state_mut().show("generated-ntu120", d, p);
    let mut open = Phase::default();
    open.frame(&mut h);
    let open_s = t.elapsed().as_secs_f64();
    open.report("open");
    println!("open    show + first frame {open_s:.2} s");
    h.state_mut().apply(Command::SelectSample(0));
    h.state_mut().apply(Command::TogglePlay);
    h.run_steps(10);
    assert!(h.state().player.playing, "a sample plays");

    println!("-- the browser, the predictions and the player (no dock)");
    browser_phases(&mut h, frames);

    println!("-- the same with the t-SNE tab open on a map of {rows} points");
    h.state_mut().views.tsne.open = true;
    h.run_steps(3);
    let key = h.state().views.run_key;
    let m = map(
        h.state().predictions.as_ref().expect("the run is shown"),
        key,
    );
    h.state_mut().views.tsne.map = Some(m);
    h.run_steps(3);
    browser_phases(&mut h, frames);
    map_phases(&mut h, frames);

    if let Some(path) = std::env::var_os("EXPLORER_PNG") {
        match h.render() {
            Ok(image) => match image.save(&path) {
                Ok(()) => println!("last frame saved to {}", PathBuf::from(path).display()),
                Err(e) => eprintln!("could not save the frame: {e}"),
            },
            Err(e) => eprintln!("could not render the frame: {e}"),
        }
    }
}

/// Idle, filter, scroll and arrow-key phases over the browser.
fn browser_phases(h: &mut Harness<'static, ExplorerApp>, frames: usize) {
    let mut idle = Phase::default();
    for _ in 0..frames {
        idle.frame(h);
    }
    idle.report("idle");

    // A search typed one character a frame and deleted again: every frame refilters the whole dataset.
    let mut filter = Phase::default();
    let typed = "p023r001a045";
    for k in 0..frames {
        let len = k % (2 * typed.len());
        let len = if len > typed.len() {
            2 * typed.len() - len
        } else {
            len
        };
        h.state_mut().browser.search = typed[..len].to_owned();
        filter.frame(h);
    }
    h.state_mut().browser.search.clear();
    h.run_steps(3);
    filter.report("filter");

    let browser = h
        .state()
        .panel_rect("browser")
        .expect("the browser is open");
    let over_list = browser.center() + egui::vec2(0.0, browser.height() * 0.2);
    h.event(egui::Event::PointerMoved(over_list));
    h.run_steps(2);
    let before = h.state().browser.visible_rows();
    let mut scroll = Phase::default();
    for _ in 0..frames {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -browser.height() / 2.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        scroll.frame(h);
    }
    let after = h.state().browser.visible_rows();
    assert!(
        after.start > before.start,
        "the wheel scrolled the list ({before:?} -> {after:?})"
    );
    scroll.report("scroll");
    println!("scroll  rows {before:?} -> {after:?}");

    let mut keys = Phase::default();
    for _ in 0..frames {
        h.state_mut().apply(Command::SelectRelative(1));
        keys.frame(h);
    }
    keys.report("keys");
}

/// Hover over the map, a lasso drawn and released, the listed samples shown.
fn map_phases(h: &mut Harness<'static, ExplorerApp>, frames: usize) {
    let plot = h
        .state()
        .views
        .tsne
        .last_transform
        .expect("the t-SNE map is drawn");
    let frame = *plot.frame();
    let mut hover = Phase::default();
    let mut named = 0;
    for k in 0..frames {
        let f = k as f32 / frames as f32;
        let pos = frame.lerp_inside(egui::vec2(0.1 + 0.8 * f, 0.5 + 0.3 * (f * 12.0).sin()));
        h.event(egui::Event::PointerMoved(pos));
        hover.frame(h);
        named += usize::from(h.state().views.tsne.hovered.is_some());
    }
    assert!(named > 0, "hovering named a sample");
    hover.report("hover");

    h.state_mut().views.tsne.lasso_mode = true;
    h.run_steps(2);
    let centre = frame.center();
    let radius = frame.height().min(frame.width()) * 0.3;
    let path: Vec<egui::Pos2> = (0..=frames)
        .map(|k| {
            let a = k as f32 / frames as f32 * std::f32::consts::TAU;
            centre + radius * egui::vec2(a.cos(), a.sin())
        })
        .collect();
    let mut lasso = Phase::default();
    gui_harness::drag_path(h, &path, |h| lasso.frame(h));
    lasso.report("lasso");
    let mut release = Phase::default();
    for _ in 0..5 {
        release.frame(h);
    }
    let listed = h.state().browser.subset.as_ref().map_or(0, Vec::len);
    assert!(listed > 0, "the lasso listed samples");
    release.report("release");
    println!("release the lasso listed {listed} samples");
    let mut shown = Phase::default();
    for _ in 0..frames {
        shown.frame(h);
    }
    shown.report("listed");
}
