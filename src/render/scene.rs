//! What one frame of the player draws, as plain instance data: built on the CPU from a [`Sequence`] frame, then
//! uploaded by [`super::SkeletonRenderer`]. Nothing here touches the GPU, so it is tested without one.

use std::ops::Range;

use crate::skeleton::{Sequence, Side};

use super::camera::{CameraView, level_basis};
use super::floor::Floor;

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

/// A shaded disc facing the camera (a joint), or a ring when `ring > 0`. Layout matches `DiscIn` in
/// `shaders/skeleton.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DiscInstance {
    pub center: [f32; 3],
    pub radius: f32,
    pub color: Rgba8,
    /// 0 fills the disc; otherwise the width of a ring as a fraction of the radius (a joint the sensor did not
    /// track is drawn hollow).
    pub ring: f32,
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
    /// Colours of each body's left side, right side and centre line (spine, neck, head), indexed by
    /// [`side_index`]; the second body uses the second row.
    pub body_colors: [[Rgba8; 3]; 2],
    /// Per-joint colours that override the body colour of joints and of the bones ending in them (e.g. attention).
    pub joint_colors: Option<Vec<Rgba8>>,
    pub bone_radius: f32,
    pub joint_radius: f32,
    pub grid_color: Rgba8,
    pub grid_radius: f32,
    /// The bones projected straight down onto the floor, and the contact marks of feet on it.
    pub shadow_color: Rgba8,
    /// A joint drawn larger and in `highlight_color` (the hovered one), as (body, joint).
    pub highlight: Option<(usize, usize)>,
    pub highlight_color: Rgba8,
    /// Frames of hand and foot paths drawn behind the current frame (0 draws none).
    pub trail_frames: usize,
}

impl Default for SkeletonStyle {
    fn default() -> Self {
        Self {
            body_colors: [
                [
                    [60, 170, 255, 255],
                    [255, 140, 40, 255],
                    [215, 215, 220, 255],
                ],
                [
                    [80, 215, 140, 255],
                    [240, 80, 170, 255],
                    [175, 165, 210, 255],
                ],
            ],
            joint_colors: None,
            bone_radius: 0.018,
            joint_radius: 0.03,
            grid_color: [128, 128, 128, 160],
            grid_radius: 0.004,
            shadow_color: [0, 0, 0, 110],
            highlight: None,
            highlight_color: [255, 255, 255, 255],
            trail_frames: 0,
        }
    }
}

/// The row of [`SkeletonStyle::body_colors`] a side uses.
pub fn side_index(side: Side) -> usize {
    match side {
        Side::Left => 0,
        Side::Right => 1,
        Side::Centre => 2,
    }
}

/// At or above this confidence a joint counts as tracked.
pub const TRACKED: f32 = 0.99;
/// How far above the floor a foot still touches it (world units; metres for Kinect).
const CONTACT: f32 = 0.04;

/// How a joint's tracking confidence is shown, from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tracking {
    /// Tracked, or the source records no confidence.
    Tracked,
    /// Inferred or low confidence: drawn translucent.
    Low,
    /// Not tracked (confidence 0): a hollow ring, its bones thin and faint.
    Untracked,
}

impl Tracking {
    pub fn of(confidence: Option<f32>) -> Self {
        match confidence {
            None => Self::Tracked,
            Some(c) if c >= TRACKED => Self::Tracked,
            Some(c) if c > 0.0 => Self::Low,
            Some(_) => Self::Untracked,
        }
    }

    fn alpha(self) -> f32 {
        match self {
            Self::Tracked => 1.0,
            Self::Low => 0.55,
            Self::Untracked => 0.35,
        }
    }
}

fn with_alpha(c: Rgba8, alpha: f32) -> Rgba8 {
    [c[0], c[1], c[2], (f32::from(c[3]) * alpha).round() as u8]
}

/// Fills `scene` with the floor grid, the bodies' shadows and every present body of `frame` (with its hand and foot
/// trails when asked for), each body's bones and joints sorted back to front for `view` (there is no depth buffer),
/// the farther body first.
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
    if let Some(floor) = floor {
        push_shadows(scene, seq, frame, floor, style, bodies.iter().map(|b| b.0));
    }

    let mut bones: Vec<(f32, SegmentInstance)> = Vec::with_capacity(layout.bones.len());
    let mut joints: Vec<(f32, DiscInstance)> = Vec::with_capacity(layout.num_joints());
    for (body, _) in bodies {
        let color_of = |joint: usize| -> Rgba8 {
            style
                .joint_colors
                .as_ref()
                .and_then(|c| c.get(joint).copied())
                .unwrap_or(style.body_colors[body.min(1)][side_index(layout.side(joint))])
        };
        let tracking = |joint: usize| Tracking::of(seq.confidence(frame, body, joint));
        if style.trail_frames > 0 {
            push_trails(scene, seq, frame, body, style, &color_of);
        }
        bones.clear();
        for &(child, parent) in layout.bones {
            let a = seq.joint(frame, body, parent);
            let b = seq.joint(frame, body, child);
            let mid = std::array::from_fn(|k| 0.5 * (a[k] + b[k]));
            // A bone is as reliable as its weaker end.
            let weaker = tracking(child).max(tracking(parent));
            let radius = match weaker {
                Tracking::Untracked => style.bone_radius * 0.6,
                _ => style.bone_radius,
            };
            bones.push((
                view.depth_of(mid),
                SegmentInstance {
                    a,
                    b,
                    radius,
                    color: with_alpha(color_of(child), weaker.alpha()),
                },
            ));
        }
        bones.sort_by(|x, y| y.0.total_cmp(&x.0));
        scene.push_segments(bones.iter().map(|(_, s)| *s));

        joints.clear();
        for joint in 0..layout.num_joints() {
            let center = seq.joint(frame, body, joint);
            let highlighted = style.highlight == Some((body, joint));
            let t = tracking(joint);
            let disc = if highlighted {
                DiscInstance {
                    center,
                    radius: style.joint_radius * 1.8,
                    color: style.highlight_color,
                    ring: 0.0,
                }
            } else {
                DiscInstance {
                    center,
                    radius: style.joint_radius,
                    color: match t {
                        Tracking::Untracked => color_of(joint),
                        _ => with_alpha(color_of(joint), t.alpha()),
                    },
                    ring: if t == Tracking::Untracked { 0.4 } else { 0.0 },
                }
            };
            joints.push((view.depth_of(center), disc));
        }
        joints.sort_by(|x, y| y.0.total_cmp(&x.0));
        scene.push_discs(joints.iter().map(|(_, d)| *d));
    }
}

/// Each body's bones projected straight down onto the floor, and a mark under every foot that touches it.
fn push_shadows(
    scene: &mut Scene,
    seq: &Sequence,
    frame: usize,
    floor: &Floor,
    style: &SkeletonStyle,
    bodies: impl Iterator<Item = usize> + Clone,
) {
    let layout = seq.layout();
    let down = |p: [f32; 3]| floor.onto(p);
    let shadows = bodies.clone().flat_map(|body| {
        layout
            .bones
            .iter()
            .map(move |&(child, parent)| SegmentInstance {
                a: down(seq.joint(frame, body, parent)),
                b: down(seq.joint(frame, body, child)),
                radius: style.bone_radius * 1.6,
                color: style.shadow_color,
            })
    });
    scene.push_segments(shadows);
    let contacts = bodies.flat_map(|body| {
        layout
            .feet()
            .map(move |j| seq.joint(frame, body, j))
            .filter(|&p| floor.above(p) < CONTACT)
            .map(|p| DiscInstance {
                center: down(p),
                radius: style.joint_radius * 1.7,
                color: style.shadow_color,
                ring: 0.0,
            })
    });
    scene.push_discs(contacts);
}

/// The paths of the hands and feet over the last `style.trail_frames` frames, fading with age.
fn push_trails(
    scene: &mut Scene,
    seq: &Sequence,
    frame: usize,
    body: usize,
    style: &SkeletonStyle,
    color_of: &dyn Fn(usize) -> Rgba8,
) {
    let n = style.trail_frames.min(frame);
    let trails = seq.layout().extremities().flat_map(|j| {
        (1..=n)
            .take_while(move |&k| seq.body_present(frame - k, body))
            .map(move |k| {
                let fade = 1.0 - k as f32 / (n + 1) as f32;
                SegmentInstance {
                    a: seq.joint(frame - k, body, j),
                    b: seq.joint(frame - k + 1, body, j),
                    radius: style.bone_radius * (0.3 + 0.4 * fade),
                    color: with_alpha(color_of(j), 0.8 * fade),
                }
            })
    });
    scene.push_segments(trails);
}

fn push_grid(scene: &mut Scene, floor: &Floor, style: &SkeletonStyle) {
    let n = (floor.half_extent / floor.spacing).round() as i32;
    let (ax, az) = level_basis(floor.up);
    let c = floor.center;
    let e = floor.half_extent;
    let at = |u: f32, v: f32| -> [f32; 3] { std::array::from_fn(|k| c[k] + u * ax[k] + v * az[k]) };
    let lines = (-n..=n).flat_map(|i| {
        let o = i as f32 * floor.spacing;
        let line = |a, b| SegmentInstance {
            a,
            b,
            radius: style.grid_radius,
            color: style.grid_color,
        };
        [line(at(o, -e), at(o, e)), line(at(-e, o), at(e, o))]
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
        assert!(
            scene.segments[..24]
                .iter()
                .all(|s| style.body_colors[1].contains(&s.color))
        );
        assert!(
            scene.discs[25..]
                .iter()
                .all(|d| style.body_colors[0].contains(&d.color))
        );
        // Left, right and centre each have their colour: spine base (centre), left hip, right hip.
        let disc_of =
            |scene: &Scene, p: [f32; 3]| scene.discs.iter().find(|d| d.center == p).unwrap().color;
        let row = &style.body_colors[0];
        assert_eq!(
            disc_of(&scene, seq.joint(0, 0, 0)),
            row[side_index(Side::Centre)]
        );
        assert_eq!(
            disc_of(&scene, seq.joint(0, 0, 12)),
            row[side_index(Side::Left)]
        );
        assert_eq!(
            disc_of(&scene, seq.joint(0, 0, 16)),
            row[side_index(Side::Right)]
        );
        let all: Vec<Rgba8> = style.body_colors.iter().flatten().copied().collect();
        for (i, c) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(c), "colour {c:?} is used twice");
        }

        build_frame_scene(&mut scene, &seq, 1, None, &style, &view);
        assert_eq!(scene.discs.len(), 25);
        build_frame_scene(&mut scene, &seq, 7, None, &style, &view);
        assert!(scene.draws.is_empty());
    }

    #[test]
    fn untracked_joints_are_rings_low_confidence_translucent() {
        let seq = two_bodies();
        let (frames, bodies, joints) = (seq.frames(), seq.bodies(), seq.joints());
        let mut conf = vec![1.0; frames * bodies * joints];
        conf[3] = 0.0; // body 0, frame 0: head not tracked
        conf[7] = 0.5; // left hand inferred
        let seq = seq.with_confidence(conf).unwrap();
        let view = OrbitCamera::default().view([100.0, 100.0]);
        let style = SkeletonStyle::default();
        let mut scene = Scene::default();
        build_frame_scene(&mut scene, &seq, 0, None, &style, &view);
        let disc = |j: usize| {
            *scene
                .discs
                .iter()
                .find(|d| d.center == seq.joint(0, 0, j))
                .unwrap()
        };
        assert!(disc(3).ring > 0.0);
        assert_eq!(disc(7).ring, 0.0);
        assert!(disc(7).color[3] < 200);
        assert_eq!(disc(1).ring, 0.0);
        assert_eq!(disc(1).color[3], 255);
        // The neck-head bone is faint and thin, a tracked one is not.
        let bone = |child: usize| {
            *scene
                .segments
                .iter()
                .find(|s| s.b == seq.joint(0, 0, child))
                .unwrap()
        };
        assert!(bone(3).radius < style.bone_radius && bone(3).color[3] < 128);
        assert_eq!(bone(1).radius, style.bone_radius);
        assert_eq!(Tracking::of(None), Tracking::Tracked);
    }

    #[test]
    fn shadows_lie_on_the_floor_and_trails_follow_the_hands_and_feet() {
        let mut seq = Sequence::zeros(LayoutId::Ntu25, 40, 1).unwrap();
        for f in 0..40 {
            for j in 0..25 {
                // Feet (15, 19) at y = 0.1, the rest higher; everything moves along x.
                let y = if j == 15 || j == 19 {
                    0.1
                } else {
                    0.5 + j as f32 * 0.05
                };
                seq.set_joint(f, 0, j, [0.1 * f as f32, y, 3.0]);
            }
        }
        // One noisy frame with a foot far below does not sink the floor.
        seq.set_joint(9, 0, 15, [0.9, -3.0, 3.0]);
        assert_eq!(Bounds::of_sequence(&seq).unwrap().min[1], -3.0);
        let floor = Floor::under_feet(&seq).unwrap();
        assert_eq!(floor.height, 0.1);
        let view = OrbitCamera::framing([0.0, 0.0, 2.0], [4.0, 2.0, 4.0]).view([200.0, 200.0]);
        let mut style = SkeletonStyle::default();
        let mut scene = Scene::default();
        build_frame_scene(&mut scene, &seq, 5, Some(&floor), &style, &view);
        let shadows: Vec<_> = scene
            .segments
            .iter()
            .filter(|s| s.color == style.shadow_color)
            .collect();
        assert_eq!(shadows.len(), 24);
        assert!(
            shadows
                .iter()
                .all(|s| (s.a[1] - 0.1).abs() < 1e-6 && (s.b[1] - 0.1).abs() < 1e-6)
        );
        // Both feet touch the floor: two contact marks, plus 25 joints.
        assert_eq!(scene.discs.len(), 2 + 25);
        let without = scene.segments.len();

        style.trail_frames = 3;
        build_frame_scene(&mut scene, &seq, 5, Some(&floor), &style, &view);
        // 4 extremities x 3 past frames.
        assert_eq!(scene.segments.len(), without + 12);
        // At frame 1 only one past frame exists.
        build_frame_scene(&mut scene, &seq, 1, Some(&floor), &style, &view);
        assert_eq!(scene.segments.len(), without + 4);
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
