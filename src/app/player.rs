//! The 3D skeleton player: playback state, the controls, and the viewport (wgpu through [`crate::bridge`], or
//! egui's painter when eframe runs without wgpu).

use std::sync::Arc;

use crate::render::scene::DrawKind;
use crate::render::{
    Bounds, Floor, OrbitCamera, Scene, SkeletonStyle, build_frame_scene, pick_joint,
};
use crate::skeleton::Sequence;

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
                self.home = OrbitCamera::framing(bounds.min, bounds.max);
                self.floor = Some(Floor::under(bounds));
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

pub struct PlayerSettings {
    pub speed: f32,
    pub looping: bool,
    pub preprocessed: bool,
    pub can_preprocess: bool,
}

/// Play/pause, step, scrub, speed and loop controls.
pub fn controls_ui(
    ui: &mut egui::Ui,
    player: &Player,
    frames: usize,
    fps: f32,
    settings: &PlayerSettings,
    commands: &mut Vec<Command>,
) {
    ui.horizontal_wrapped(|ui| {
        let label = if player.playing { "Pause" } else { "Play" };
        if ui
            .add_enabled(frames > 0, egui::Button::new(label))
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
        let mut scrub = current;
        let last = frames.saturating_sub(1);
        let slider = ui.add_enabled(
            frames > 1,
            egui::Slider::new(&mut scrub, 0..=last.max(1)).show_value(false),
        );
        if slider.changed() && scrub != current {
            commands.push(Command::SeekFrame(scrub));
        }
        let counter = ui.label(format!(
            "Frame {} / {frames}",
            if frames == 0 { 0 } else { current + 1 }
        ));
        slider.labelled_by(counter.id);
        ui.separator();
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
            .on_hover_text("Show the 50-frame tensor the models read (P)")
            .changed()
        {
            commands.push(Command::TogglePreprocessed);
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
        body_colors: [rgba8(palette.bodies[0]), rgba8(palette.bodies[1])],
        grid_color: rgba8(palette.grid),
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
                        painter.circle_filled(c, r, color(d.color));
                    }
                }
            }
        }
    }
}
