//! The 3D skeleton player: playback state, the controls, and the viewport (wgpu through [`crate::bridge`], or
//! egui's painter when eframe runs without wgpu).

use std::sync::Arc;

use crate::render::scene::DrawKind;
use crate::render::{
    Bounds, Floor, OrbitCamera, Scene, SkeletonStyle, build_frame_scene, pick_joint, side_index,
};
use crate::skeleton::preprocess::{NUM_JOINTS, preprocessed_from_sequence};
use crate::skeleton::{PreprocessConfig, PreprocessError, Sequence, Side};

use super::command::Command;
use super::palette::{Palette, rgba8};

/// Playback position and camera of the sequence on screen.
pub struct Player {
    /// Fractional frame position, advanced by time while playing.
    pub position: f64,
    pub playing: bool,
    pub camera: OrbitCamera,
    home: OrbitCamera,
    floor: Option<Floor>,
    /// The joint under the pointer, as (body, joint).
    pub hovered: Option<(usize, usize)>,
    /// Draw the last half second of the hands' and feet's paths.
    pub trails: bool,
    scene: Arc<Scene>,
    /// Where the last frame was drawn: viewport rect (points), pixels per point, camera.
    last_view: Option<(egui::Rect, f32, crate::render::CameraView)>,
}

impl Default for Player {
    fn default() -> Self {
        Self {
            position: 0.0,
            playing: false,
            camera: OrbitCamera::default(),
            home: OrbitCamera::default(),
            floor: None,
            hovered: None,
            trails: false,
            scene: Arc::new(Scene::default()),
            last_view: None,
        }
    }
}

impl Player {
    /// Shows a new sequence from its first frame, the camera framing all its frames.
    pub fn show_sequence(&mut self, seq: &Sequence) {
        self.position = 0.0;
        self.hovered = None;
        match Bounds::of_sequence(seq) {
            Some(bounds) => {
                self.floor = Floor::under_feet(seq);
                self.home = OrbitCamera {
                    // Upright on the floor, not on the sensor's axes (NTU's cameras look down).
                    up: self.floor.map_or([0.0, 1.0, 0.0], |f| f.up),
                    ..OrbitCamera::framing(bounds.min, bounds.max)
                };
            }
            None => {
                self.home = OrbitCamera::default();
                self.floor = None;
            }
        }
        self.camera = self.home;
    }

    /// Where a world point appeared in the last drawn frame, in egui points.
    pub fn screen_pos_of(&self, p: [f32; 3]) -> Option<egui::Pos2> {
        let (rect, ppp, view) = self.last_view.as_ref()?;
        let (px, _) = view.screen_from_world(p)?;
        Some(rect.min + egui::vec2(px[0], px[1]) / *ppp)
    }

    pub fn reset_view(&mut self) {
        self.camera = self.home;
    }

    pub fn frame(&self, frames: usize) -> usize {
        (self.position.max(0.0) as usize).min(frames.saturating_sub(1))
    }

    pub fn seek(&mut self, frame: usize, frames: usize) {
        self.position = frame.min(frames.saturating_sub(1)) as f64;
    }

    /// Advances by `dt` seconds; stops at the end unless looping.
    pub fn advance(&mut self, dt: f64, fps: f32, speed: f32, looping: bool, frames: usize) {
        if !self.playing || frames == 0 {
            return;
        }
        self.position += dt * f64::from(fps) * f64::from(speed);
        let end = frames as f64;
        if self.position >= end {
            if looping {
                self.position %= end;
            } else {
                self.position = end - 1.0;
                self.playing = false;
            }
        }
    }
}

/// What the *Preprocessed* view shows: `seq` as the encoder reads it, after `cfg` (the pipeline's
/// [`preprocessed_from_sequence`]): mapped onto NTU25 whatever its layout, centred, resampled to `cfg.frames` frames
/// and turned to face the camera, with the `cfg.bodies` bodies the tensor keeps. Played over the raw clip's duration.
pub fn preprocessed_view(
    seq: &Sequence,
    cfg: &PreprocessConfig,
) -> Result<Sequence, PreprocessError> {
    let pre = preprocessed_from_sequence(seq, cfg)?;
    if cfg.bodies >= pre.bodies() {
        return Ok(pre);
    }
    // A one-body tensor (MSR, UTKinect): the second body is not read, so it is not shown either.
    let per_body = NUM_JOINTS * 3;
    let data: Vec<f32> = (0..pre.frames())
        .flat_map(|f| pre.body_frame(f, 0)[..per_body].iter().copied())
        .collect();
    let mut out = Sequence::new(pre.layout_id(), pre.frames(), cfg.bodies, data)
        .map_err(|_| PreprocessError::Bodies(cfg.bodies))?;
    out.fps = pre.fps;
    Ok(out)
}

pub struct PlayerSettings {
    pub speed: f32,
    pub looping: bool,
    pub preprocessed: bool,
    pub can_preprocess: bool,
    pub trails: bool,
}

/// Wide enough for "Pause" and "Play" alike, so the row does not move when playback toggles.
const PLAY_BUTTON_WIDTH: f32 = 56.0;

/// Play/pause, step, scrub, speed and loop controls, in two rows that keep their layout whatever the state: the
/// transport and the scrubber (which takes the width left), then the view options.
pub fn controls_ui(
    ui: &mut egui::Ui,
    player: &Player,
    frames: usize,
    fps: f32,
    settings: &PlayerSettings,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let label = if player.playing { "Pause" } else { "Play" };
        if ui
            .add_enabled(
                frames > 0,
                egui::Button::new(label).min_size(egui::vec2(PLAY_BUTTON_WIDTH, 0.0)),
            )
            .on_hover_text("Space")
            .clicked()
        {
            commands.push(Command::TogglePlay);
        }
        if ui
            .button("Start")
            .on_hover_text("First frame (Home)")
            .clicked()
        {
            commands.push(Command::FirstFrame);
        }
        if ui
            .button("<")
            .on_hover_text("Previous frame (Left)")
            .clicked()
        {
            commands.push(Command::StepFrames(-1));
        }
        if ui.button(">").on_hover_text("Next frame (Right)").clicked() {
            commands.push(Command::StepFrames(1));
        }
        let current = player.frame(frames);
        let shown = if frames == 0 { 0 } else { current + 1 };
        // The counter is laid out right to left in a fixed width (that of the largest frame number), so neither it
        // nor the slider moves while the number changes.
        let widest = format!("Frame {frames} / {frames}");
        let font = egui::TextStyle::Body.resolve(ui.style());
        let counter_width = ui
            .painter()
            .layout_no_wrap(widest, font, egui::Color32::WHITE)
            .size()
            .x
            + 4.0;
        let slider_width =
            (ui.available_width() - counter_width - ui.spacing().item_spacing.x).max(40.0);
        let mut scrub = current;
        let last = frames.saturating_sub(1);
        ui.spacing_mut().slider_width = slider_width;
        let slider = ui.add_enabled(
            frames > 1,
            egui::Slider::new(&mut scrub, 0..=last.max(1)).show_value(false),
        );
        if slider.changed() && scrub != current {
            commands.push(Command::SeekFrame(scrub));
        }
        let counter = ui
            .allocate_ui_with_layout(
                egui::vec2(counter_width, ui.spacing().interact_size.y),
                egui::Layout::right_to_left(egui::Align::Center),
                |ui| {
                    ui.add(
                        egui::Label::new(format!("Frame {shown} / {frames}"))
                            .wrap_mode(egui::TextWrapMode::Extend),
                    )
                },
            )
            .inner;
        slider.labelled_by(counter.id);
    });
    // Wrapped: at 1280x800 with the browser and the predictions beside it the player is ~350 points wide, and an
    // unwrapped row widened it over the predictions panel.
    ui.horizontal_wrapped(|ui| {
        let mut speed = settings.speed;
        if ui
            .add(
                egui::DragValue::new(&mut speed)
                    .range(0.05..=8.0)
                    .speed(0.02)
                    .suffix("×"),
            )
            .on_hover_text(format!(
                "Playback speed ([ and ]); native rate {fps:.0} fps"
            ))
            .changed()
        {
            commands.push(Command::SetSpeed(speed));
        }
        let mut looping = settings.looping;
        if ui.checkbox(&mut looping, "Loop").changed() {
            commands.push(Command::ToggleLoop);
        }
        let mut pre = settings.preprocessed;
        if ui
            .add_enabled(
                settings.can_preprocess,
                egui::Checkbox::new(&mut pre, "Preprocessed"),
            )
            .on_hover_text(
                "Show the 50-frame NTU25 tensor the encoder reads: centred, resampled, turned to face the camera (P)",
            )
            .changed()
        {
            commands.push(Command::TogglePreprocessed);
        }
        let mut trails = settings.trails;
        if ui
            .checkbox(&mut trails, "Trails")
            .on_hover_text("Paths of the hands and feet over the last half second (G)")
            .changed()
        {
            commands.push(Command::ToggleTrails);
        }
        if ui.button("Reset view").on_hover_text("R").clicked() {
            commands.push(Command::ResetView);
        }
    });
}

/// The 3D viewport: draws the current frame, turns mouse input into camera commands, reports the hovered joint.
pub fn viewport_ui(
    ui: &mut egui::Ui,
    player: &mut Player,
    seq: Option<&Sequence>,
    joint_colors: Option<&[egui::Color32]>,
    palette: &Palette,
    gpu: bool,
    commands: &mut Vec<Command>,
) {
    // Clamp to the visible panel: a wide row above can make the ui's own rect wider than the panel.
    let rect = ui.available_rect_before_wrap().intersect(ui.clip_rect());
    let response = ui.allocate_rect(rect, egui::Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "3D view"));
    ui.painter()
        .rect_filled(rect, 0.0, palette.viewport_background);
    let Some(seq) = seq else {
        ui.painter().text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Open a dataset (Ctrl+O), type a path above, or drop a file here",
            egui::FontId::proportional(15.0),
            ui.visuals().weak_text_color(),
        );
        return;
    };

    if response.dragged_by(egui::PointerButton::Primary) {
        let d = response.drag_delta();
        commands.push(Command::Orbit { dx: d.x, dy: d.y });
    } else if response.dragged_by(egui::PointerButton::Secondary)
        || response.dragged_by(egui::PointerButton::Middle)
    {
        let d = response.drag_delta();
        commands.push(Command::Pan {
            dx: d.x,
            dy: d.y,
            height_px: rect.height(),
        });
    }
    if response.double_clicked() {
        commands.push(Command::ResetView);
    }
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            commands.push(Command::Zoom(scroll / 50.0));
        }
    }

    let ppp = ui.ctx().pixels_per_point();
    let view = player
        .camera
        .view([rect.width() * ppp, rect.height() * ppp]);
    player.last_view = Some((rect, ppp, view));
    let frame = player.frame(seq.frames());
    player.hovered = response.hover_pos().and_then(|pos| {
        let local = (pos - rect.min) * ppp;
        pick_joint(seq, frame, &view, [local.x, local.y], 10.0 * ppp)
    });

    let style = SkeletonStyle {
        body_colors: palette.bodies.map(|row| row.map(rgba8)),
        grid_color: rgba8(palette.grid),
        shadow_color: rgba8(palette.shadow),
        trail_frames: if player.trails {
            (seq.fps * 0.5).round().max(1.0) as usize
        } else {
            0
        },
        highlight: player.hovered,
        highlight_color: rgba8(palette.joint_highlight),
        joint_colors: joint_colors.map(|c| c.iter().copied().map(rgba8).collect()),
        ..SkeletonStyle::default()
    };
    // Reuse the scene's allocation when the previous frame's callback has released it.
    let scene = Arc::make_mut(&mut player.scene);
    build_frame_scene(scene, seq, frame, player.floor.as_ref(), &style, &view);
    if gpu {
        ui.painter().add(crate::bridge::skeleton_callback(
            rect,
            view,
            Arc::clone(&player.scene),
        ));
    } else {
        paint_scene_with_egui(ui.painter(), rect, ppp, &view, &player.scene);
    }

    legend_ui(
        ui.painter(),
        rect,
        seq,
        frame,
        palette,
        joint_colors.is_some(),
    );

    if let Some((body, joint)) = player.hovered
        && let Some(pos) = response.hover_pos()
    {
        let name = seq.layout().joints.get(joint).copied().unwrap_or("?");
        let text = if seq.bodies() > 1 {
            format!("{name} (person {})", body + 1)
        } else {
            name.to_owned()
        };
        ui.painter().text(
            pos + egui::vec2(12.0, -12.0),
            egui::Align2::LEFT_BOTTOM,
            text,
            egui::FontId::proportional(14.0),
            palette.joint_highlight,
        );
    }
}

/// The same scene drawn with egui shapes (no wgpu): flat capsules and discs.
fn paint_scene_with_egui(
    painter: &egui::Painter,
    rect: egui::Rect,
    ppp: f32,
    view: &crate::render::CameraView,
    scene: &Scene,
) {
    let to_pos = |p: [f32; 3]| {
        view.screen_from_world(p)
            .map(|(px, w)| (rect.min + egui::vec2(px[0], px[1]) / ppp, w))
    };
    let color = |c: [u8; 4]| egui::Color32::from_rgba_unmultiplied(c[0], c[1], c[2], c[3]);
    for draw in &scene.draws {
        let range = draw.instances.start as usize..draw.instances.end as usize;
        match draw.kind {
            DrawKind::Segments => {
                for s in &scene.segments[range] {
                    if let (Some((a, wa)), Some((b, _))) = (to_pos(s.a), to_pos(s.b)) {
                        let width = (2.0 * s.radius * view.pixels_per_unit / wa / ppp).max(1.0);
                        painter.line_segment([a, b], egui::Stroke::new(width, color(s.color)));
                    }
                }
            }
            DrawKind::Discs => {
                for d in &scene.discs[range] {
                    if let Some((c, w)) = to_pos(d.center) {
                        let r = (d.radius * view.pixels_per_unit / w / ppp).max(1.5);
                        if d.ring > 0.0 {
                            let width = (d.ring * r).max(1.0);
                            painter.circle_stroke(
                                c,
                                r - 0.5 * width,
                                egui::Stroke::new(width, color(d.color)),
                            );
                        } else {
                            painter.circle_filled(c, r, color(d.color));
                        }
                    }
                }
            }
        }
    }
}

/// The key to the colours in the viewport's lower left: each person's left, right and centre, and how joints the
/// sensor did not track look (only for sources that record it).
fn legend_ui(
    painter: &egui::Painter,
    rect: egui::Rect,
    seq: &Sequence,
    frame: usize,
    palette: &Palette,
    painted: bool,
) {
    let font = egui::FontId::proportional(12.0);
    let text_color = palette.grid.to_opaque();
    let line = 16.0;
    let mut y = rect.bottom() - 8.0;
    let mut row = |items: &[(Option<egui::Color32>, bool, String)]| {
        let mut x = rect.left() + 10.0;
        for (dot, hollow, text) in items {
            if let Some(c) = dot {
                let centre = egui::pos2(x + 4.0, y - 6.0);
                if *hollow {
                    painter.circle_stroke(centre, 3.5, egui::Stroke::new(1.5, *c));
                } else {
                    painter.circle_filled(centre, 4.0, *c);
                }
                x += 12.0;
            }
            let r = painter.text(
                egui::pos2(x, y),
                egui::Align2::LEFT_BOTTOM,
                text,
                font.clone(),
                text_color,
            );
            x = r.right() + 10.0;
        }
        y -= line;
    };
    if seq.has_confidence() {
        let c = palette.bodies[0][side_index(Side::Centre)];
        row(&[
            (Some(c), true, "not tracked".to_owned()),
            (Some(c.gamma_multiply(0.55)), false, "inferred".to_owned()),
        ]);
    }
    if painted {
        row(&[(
            None,
            false,
            "Joints coloured by the analysis view".to_owned(),
        )]);
        return;
    }
    // The persons on screen (a preprocessed one-person clip keeps an empty second body).
    let shown: Vec<usize> = (0..seq.bodies())
        .filter(|&b| frame < seq.frames() && seq.body_present(frame, b))
        .collect();
    for &body in shown.iter().rev() {
        let [l, r, c] = palette.bodies[body.min(1)];
        let who = if shown.len() > 1 {
            format!("Person {}:", body + 1)
        } else {
            "Side:".to_owned()
        };
        row(&[
            (None, false, who),
            (Some(l), false, "left".to_owned()),
            (Some(r), false, "right".to_owned()),
            (Some(c), false, "spine".to_owned()),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::LayoutId;

    /// A walking figure of `layout` with `frames` frames: every joint present, moving along x.
    fn walker(layout: LayoutId, frames: usize) -> Sequence {
        let joints = layout.num_joints();
        let mut seq = Sequence::zeros(layout, frames, 1).unwrap();
        for f in 0..frames {
            for j in 0..joints {
                let side = match layout.layout().side(j) {
                    Side::Left => -0.2,
                    Side::Right => 0.2,
                    Side::Centre => 0.0,
                };
                seq.set_joint(f, 0, j, [side + 0.01 * f as f32, 0.05 * j as f32, 3.0]);
            }
        }
        seq.fps = 15.0;
        seq
    }

    #[test]
    fn preprocessed_view_is_the_50_frame_ntu25_tensor_on_every_layout() {
        let cfg = PreprocessConfig::default();
        for (layout, frames) in [
            (LayoutId::Msr20, 47),
            (LayoutId::KinectV1, 59),
            (LayoutId::Ntu25, 120),
        ] {
            let raw = walker(layout, frames);
            let pre = preprocessed_view(&raw, &cfg).unwrap();
            assert_eq!(pre.frames(), 50, "{layout:?}");
            assert_eq!(pre.layout_id(), LayoutId::Ntu25, "{layout:?}");
            assert_eq!(pre.joints(), 25);
            assert_eq!(pre.bodies(), 2);
            // The same duration: 50 frames over what the raw frames took.
            let seconds = |s: &Sequence| s.frames() as f32 / s.fps;
            assert!((seconds(&pre) - seconds(&raw)).abs() < 1e-3, "{layout:?}");
            // Centred on the spine-shoulder joint (20) in every frame, as the encoder reads it.
            for f in [0, 25, 49] {
                let c = pre.joint(f, 0, 20);
                assert!(
                    c.iter().all(|v| v.abs() < 1e-5),
                    "{layout:?} frame {f}: {c:?}"
                );
            }
            // It is the pipeline's tensor, value for value.
            let tensor = crate::skeleton::preprocess::tensor_from_sequence(&raw, &cfg).unwrap();
            assert_eq!(
                crate::skeleton::preprocess::ctvm_from_sequence(&pre),
                tensor,
                "{layout:?}"
            );
        }
    }

    #[test]
    fn a_one_body_tensor_shows_one_body_and_an_empty_clip_is_an_error() {
        let cfg = PreprocessConfig {
            bodies: 1,
            ..PreprocessConfig::default()
        };
        let pre = preprocessed_view(&walker(LayoutId::Msr20, 30), &cfg).unwrap();
        assert_eq!((pre.frames(), pre.bodies()), (50, 1));
        let empty = Sequence::zeros(LayoutId::Msr20, 5, 1).unwrap();
        assert!(matches!(
            preprocessed_view(&empty, &cfg),
            Err(PreprocessError::NoValidFrames { frames: 5 })
        ));
    }
}
