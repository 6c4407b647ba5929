//! What one frame of the player draws, as plain instance data: built on the CPU from a [`Sequence`] frame, then
//! uploaded by [`super::SkeletonRenderer`]. Nothing here touches the GPU, so it is tested without one.

use std::ops::Range;

use crate::skeleton::Sequence;

use super::camera::CameraView;

/// sRGB colour with straight alpha.
pub type Rgba8 = [u8; 4];

/// A capsule between two points (a bone or a grid line). Layout matches `SegmentIn` in `shaders/skeleton.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SegmentInstance {
    pub a: [f32; 3],
    pub b: [f32; 3],
    /// World units.
    pub radius: f32,
    pub color: Rgba8,
}

/// A shaded disc facing the camera (a joint). Layout matches `DiscIn` in `shaders/skeleton.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DiscInstance {
    pub center: [f32; 3],
    pub radius: f32,
    pub color: Rgba8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawKind {
    Segments,
    Discs,
}

/// One draw call: a range of instances of one kind, drawn in list order (back to front).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draw {
    pub kind: DrawKind,
    pub instances: Range<u32>,
}

/// Instances and the draw calls over them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    pub segments: Vec<SegmentInstance>,
    pub discs: Vec<DiscInstance>,
    pub draws: Vec<Draw>,
}

impl Scene {
    pub fn clear(&mut self) {
        self.segments.clear();
        self.discs.clear();
        self.draws.clear();
    }

    fn push_segments(&mut self, items: impl IntoIterator<Item = SegmentInstance>) {
        let start = self.segments.len() as u32;
        self.segments.extend(items);
        let end = self.segments.len() as u32;
        if end > start {
            self.draws.push(Draw {
                kind: DrawKind::Segments,
                instances: start..end,
            });
        }
    }

    fn push_discs(&mut self, items: impl IntoIterator<Item = DiscInstance>) {
        let start = self.discs.len() as u32;
        self.discs.extend(items);
        let end = self.discs.len() as u32;
        if end > start {
            self.draws.push(Draw {
                kind: DrawKind::Discs,
                instances: start..end,
            });
        }
    }
}

/// A square floor grid on the plane `y = height`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Floor {
    pub height: f32,
    pub center: [f32; 2],
    pub half_extent: f32,
    pub spacing: f32,
}

impl Floor {
    /// A floor under the lowest joint of the sequence, centred under its bounding box.
    pub fn under(bounds: Bounds) -> Self {
        let size = (bounds.max[0] - bounds.min[0])
            .max(bounds.max[2] - bounds.min[2])
            .max(1.0);
        let spacing = if size > 8.0 { 1.0 } else { 0.25 };
        let half_extent = ((size * 0.5 + 1.0) / spacing).ceil() * spacing;
        Self {
            height: bounds.min[1],
            center: [
                0.5 * (bounds.min[0] + bounds.max[0]),
                0.5 * (bounds.min[2] + bounds.max[2]),
            ],
            half_extent,
            spacing,
        }
    }
}

/// Axis-aligned bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Bounds {
    /// Bounds of every present body in every frame; `None` when the sequence holds no body at all.
    pub fn of_sequence(seq: &Sequence) -> Option<Self> {
        let mut bounds: Option<Self> = None;
        for frame in 0..seq.frames() {
            for body in 0..seq.bodies() {
                if !seq.body_present(frame, body) {
                    continue;
                }
                for p in seq.body_frame(frame, body).chunks_exact(3) {
                    let b = bounds.get_or_insert(Self {
                        min: [p[0], p[1], p[2]],
                        max: [p[0], p[1], p[2]],
                    });
                    for (k, &v) in p.iter().enumerate() {
                        b.min[k] = b.min[k].min(v);
                        b.max[k] = b.max[k].max(v);
                    }
                }
            }
        }
        bounds
    }
}

/// How a skeleton is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct SkeletonStyle {
    /// Colour of each body (the second body uses the second colour).
    pub body_colors: [Rgba8; 2],
    /// Per-joint colours that override the body colour of joints and of the bones ending in them (e.g. attention).
    pub joint_colors: Option<Vec<Rgba8>>,
    pub bone_radius: f32,
    pub joint_radius: f32,
    pub grid_color: Rgba8,
    pub grid_radius: f32,
    /// A joint drawn larger and in `highlight_color` (the hovered one), as (body, joint).
    pub highlight: Option<(usize, usize)>,
    pub highlight_color: Rgba8,
}

impl Default for SkeletonStyle {
    fn default() -> Self {
        Self {
            body_colors: [[255, 140, 40, 255], [60, 170, 255, 255]],
            joint_colors: None,
            bone_radius: 0.018,
            joint_radius: 0.03,
            grid_color: [128, 128, 128, 160],
            grid_radius: 0.004,
            highlight: None,
            highlight_color: [255, 255, 255, 255],
        }
    }
}

/// Fills `scene` with the floor grid and every present body of `frame`, each body's bones and joints sorted back
/// to front for `view` (there is no depth buffer), the farther body first.
pub fn build_frame_scene(
    scene: &mut Scene,
    seq: &Sequence,
    frame: usize,
    floor: Option<&Floor>,
    style: &SkeletonStyle,
    view: &CameraView,
) {
    scene.clear();
    if let Some(floor) = floor {
        push_grid(scene, floor, style);
    }
    if frame >= seq.frames() {
        return;
    }
    let layout = seq.layout();
    let mut bodies: Vec<(usize, f32)> = (0..seq.bodies())
        .filter(|&b| seq.body_present(frame, b))
        .map(|b| {
            let centre = seq.joint(frame, b, layout.center);
            (b, view.depth_of(centre))
        })
        .collect();
    bodies.sort_by(|a, b| b.1.total_cmp(&a.1));

    let mut bones: Vec<(f32, SegmentInstance)> = Vec::with_capacity(layout.bones.len());
    let mut joints: Vec<(f32, DiscInstance)> = Vec::with_capacity(layout.num_joints());
    for (body, _) in bodies {
        let color_of = |joint: usize| -> Rgba8 {
            style
                .joint_colors
                .as_ref()
                .and_then(|c| c.get(joint).copied())
                .unwrap_or(style.body_colors[body.min(1)])
        };
        bones.clear();
        for &(child, parent) in layout.bones {
            let a = seq.joint(frame, body, parent);
            let b = seq.joint(frame, body, child);
            let mid = std::array::from_fn(|k| 0.5 * (a[k] + b[k]));
            bones.push((
                view.depth_of(mid),
                SegmentInstance {
                    a,
                    b,
                    radius: style.bone_radius,
                    color: color_of(child),
                },
            ));
        }
        bones.sort_by(|x, y| y.0.total_cmp(&x.0));
        scene.push_segments(bones.iter().map(|(_, s)| *s));

        joints.clear();
        for joint in 0..layout.num_joints() {
            let center = seq.joint(frame, body, joint);
            let highlighted = style.highlight == Some((body, joint));
            joints.push((
                view.depth_of(center),
                DiscInstance {
                    center,
                    radius: if highlighted {
                        style.joint_radius * 1.8
                    } else {
                        style.joint_radius
                    },
                    color: if highlighted {
                        style.highlight_color
                    } else {
                        color_of(joint)
                    },
                },
            ));
        }
        joints.sort_by(|x, y| y.0.total_cmp(&x.0));
        scene.push_discs(joints.iter().map(|(_, d)| *d));
    }
}

fn push_grid(scene: &mut Scene, floor: &Floor, style: &SkeletonStyle) {
    let n = (floor.half_extent / floor.spacing).round() as i32;
    let [cx, cz] = floor.center;
    let e = floor.half_extent;
    let y = floor.height;
    let lines = (-n..=n).flat_map(|i| {
        let o = i as f32 * floor.spacing;
        let line = |a, b| SegmentInstance {
            a,
            b,
            radius: style.grid_radius,
            color: style.grid_color,
        };
        [
            line([cx + o, y, cz - e], [cx + o, y, cz + e]),
            line([cx - e, y, cz + o], [cx + e, y, cz + o]),
        ]
    });
    scene.push_segments(lines);
}

/// The joint nearest to `pointer_px` (physical pixels in the viewport) within `max_px`, as (body, joint).
pub fn pick_joint(
    seq: &Sequence,
    frame: usize,
    view: &CameraView,
    pointer_px: [f32; 2],
    max_px: f32,
) -> Option<(usize, usize)> {
    if frame >= seq.frames() {
        return None;
    }
    let mut best: Option<((usize, usize), f32, f32)> = None;
    for body in (0..seq.bodies()).filter(|&b| seq.body_present(frame, b)) {
        for joint in 0..seq.joints() {
            let Some((px, depth)) = view.screen_from_world(seq.joint(frame, body, joint)) else {
                continue;
            };
            let d = ((px[0] - pointer_px[0]).powi(2) + (px[1] - pointer_px[1]).powi(2)).sqrt();
            if d > max_px {
                continue;
            }
            // Among joints under the pointer prefer the nearest to the camera.
            let better = match best {
                None => true,
                Some((_, bd, bdepth)) => d + depth * 2.0 < bd + bdepth * 2.0,
            };
            if better {
                best = Some(((body, joint), d, depth));
            }
        }
    }
    best.map(|(hit, _, _)| hit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::camera::OrbitCamera;
    use crate::skeleton::LayoutId;

    fn two_bodies() -> Sequence {
        let mut seq = Sequence::zeros(LayoutId::Ntu25, 2, 2).unwrap();
        for j in 0..25 {
            seq.set_joint(0, 0, j, [-0.5, j as f32 * 0.05, 3.0]);
            seq.set_joint(0, 1, j, [0.5, j as f32 * 0.05, 4.0]);
            seq.set_joint(1, 0, j, [-0.5, j as f32 * 0.05, 3.0]);
        }
        seq
    }

    #[test]
    fn far_body_is_drawn_first_and_absent_bodies_not_at_all() {
        let seq = two_bodies();
        let cam = OrbitCamera {
            yaw: 0.0,
            ..OrbitCamera::default()
        };
        let view = cam.view([100.0, 100.0]);
        let mut scene = Scene::default();
        let style = SkeletonStyle::default();
        build_frame_scene(&mut scene, &seq, 0, None, &style, &view);
        assert_eq!(scene.segments.len(), 2 * 24);
        assert_eq!(scene.discs.len(), 50);
        assert_eq!(scene.draws.len(), 4);
        // Body 1 stands at z = 4, farther from a camera on the -z side: drawn first.
        assert_eq!(scene.segments[0].color, style.body_colors[1]);
        assert_eq!(scene.discs[49].color, style.body_colors[0]);

        build_frame_scene(&mut scene, &seq, 1, None, &style, &view);
        assert_eq!(scene.discs.len(), 25);
        build_frame_scene(&mut scene, &seq, 7, None, &style, &view);
        assert!(scene.draws.is_empty());
    }

    #[test]
    fn floor_sits_under_the_lowest_joint_and_picking_finds_a_joint() {
        let seq = two_bodies();
        let bounds = Bounds::of_sequence(&seq).unwrap();
        assert_eq!(bounds.min[1], 0.0);
        let floor = Floor::under(bounds);
        assert_eq!(floor.height, 0.0);
        let cam = OrbitCamera::framing(bounds.min, bounds.max);
        let view = cam.view([400.0, 300.0]);
        let (head_px, _) = view.screen_from_world(seq.joint(0, 0, 3)).unwrap();
        assert_eq!(pick_joint(&seq, 0, &view, head_px, 6.0), Some((0, 3)));
        assert_eq!(pick_joint(&seq, 0, &view, [-50.0, -50.0], 6.0), None);
    }
}
