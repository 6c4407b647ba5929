//! The t-SNE map's sample markers as one plot item: drawn by the GPU where eframe runs on wgpu (a paint callback to
//! [`crate::render::DotsRenderer`], which keeps the markers between frames and takes only the plot's mapping each
//! frame), else as one mesh built on the CPU.
//!
//! egui_plot's `Points` pushes a shape per marker (a `Vec` per diamond) and the tessellator then builds a feathered
//! polygon per shape: with the map of NTU-120's cross-subject test split (50,000 points) that was 7.0 ms of UI pass
//! and 3.5 ms of tessellation a frame (`cargo bench --bench explorer_scale`, load ~6.7), 6.0 and 2.1 ms here. Every
//! marker is a few vertices in one mesh, and markers outside the plot are skipped (a zoomed-in map draws only what
//! it shows). Small maps keep egui's look: up to [`FEATHER_MAX`] markers each gets a 1-pixel anti-aliased edge as
//! egui's own circles have; above it the edge is hard (three times fewer vertices, and invisible at that density).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use egui::epaint::{Mesh, Vertex, WHITE_UV};
use egui::{Color32, Pos2, Shape, Ui, Vec2, vec2};
use egui_plot::{PlotBounds, PlotGeometry, PlotItem, PlotItemBase, PlotPoint, PlotTransform};

use crate::render::{DotInstance, DotSet, DotShape, DotsMapping};

/// Up to this many markers are drawn with anti-aliased edges.
pub const FEATHER_MAX: usize = 10_000;

/// A marker's shape, as egui_plot's markers of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Diamond,
    Cross,
}

/// One marker: where (plot coordinates), its colour and shape.
#[derive(Clone, Copy, Debug)]
pub struct Dot {
    pub at: [f32; 2],
    pub color: Color32,
    pub marker: Marker,
    /// Radius in points (egui_plot's `Points::radius`).
    pub radius: f32,
}

/// The markers as one plot item (no hover of its own: the view finds the nearest point itself).
pub struct Dots<'a> {
    base: PlotItemBase,
    dots: &'a [Dot],
    bounds: PlotBounds,
    /// The same markers for the GPU renderer; `None` draws the mesh.
    gpu: Option<DotSet>,
}

impl<'a> Dots<'a> {
    pub fn new(name: &str, dots: &'a [Dot]) -> Self {
        let mut bounds = PlotBounds::NOTHING;
        for d in dots {
            bounds.extend_with(&PlotPoint::new(f64::from(d.at[0]), f64::from(d.at[1])));
        }
        Self {
            base: PlotItemBase::new(name.to_owned()),
            dots,
            bounds,
            gpu: None,
        }
    }

    /// Drawn by the GPU renderer from `set` (the same markers, from [`GpuDots::update`]).
    pub fn on_gpu(mut self, set: DotSet) -> Self {
        self.gpu = Some(set);
        self
    }
}

/// The markers as the GPU renderer takes them, kept between frames: a frame whose markers equal the last frame's
/// hands over the same set and version, so nothing is uploaded.
#[derive(Default)]
pub struct GpuDots {
    last: Option<DotSet>,
}

impl GpuDots {
    pub fn update(&mut self, dots: &[Dot]) -> DotSet {
        let fresh: Vec<DotInstance> = dots.iter().map(instance).collect();
        if let Some(last) = &self.last
            && *last.dots == fresh
        {
            return last.clone();
        }
        // One counter for every view: a new view's first set never reuses a version the renderer holds.
        static NEXT_VERSION: AtomicU64 = AtomicU64::new(0);
        let set = DotSet {
            version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed),
            dots: Arc::new(fresh),
        };
        self.last = Some(set.clone());
        set
    }
}

fn instance(d: &Dot) -> DotInstance {
    let shape = match d.marker {
        Marker::Circle => DotShape::Circle,
        Marker::Diamond => DotShape::Diamond,
        Marker::Cross => DotShape::Cross,
    };
    DotInstance::new(d.at, d.radius, shape, d.color.to_srgba_unmultiplied())
}

/// The paint callback drawing `set` in the plot's frame, with the plot's mapping from plot coordinates to the
/// window's physical pixels.
fn gpu_shape(ui: &Ui, transform: &PlotTransform, set: DotSet) -> Shape {
    let ppp = ui.ctx().pixels_per_point();
    let px = |x: f64, y: f64| {
        let p = transform.position_from_point(&PlotPoint::new(x, y));
        [p.x * ppp, p.y * ppp]
    };
    let (p0, p1) = (px(0.0, 0.0), px(1.0, 1.0));
    let mapping = DotsMapping {
        scale: [p1[0] - p0[0], p1[1] - p0[1]],
        offset: p0,
        viewport: [0.0; 2],
        pixels_per_point: ppp,
        srgb: 0.0,
    };
    let rect = *transform.frame();
    crate::bridge::dots_callback(rect, mapping, set)
}

impl PlotItem for Dots<'_> {
    fn shapes(&self, ui: &Ui, transform: &PlotTransform, shapes: &mut Vec<Shape>) {
        if let Some(set) = &self.gpu {
            shapes.push(gpu_shape(ui, transform, set.clone()));
            return;
        }
        let feather = if self.dots.len() <= FEATHER_MAX {
            1.0 / ui.ctx().pixels_per_point()
        } else {
            0.0
        };
        // Built every frame, not kept: a mesh shared with a cache is copied once more when egui tessellates it
        // (8.4 ms a frame at 50,000 markers, against 1 ms to build it anew).
        shapes.push(Shape::mesh(mesh(self.dots, transform, feather)));
    }

    fn initialize(&mut self, _x_range: std::ops::RangeInclusive<f64>) {}

    fn color(&self) -> Color32 {
        Color32::TRANSPARENT
    }

    fn allow_hover(&self) -> bool {
        false
    }

    fn geometry(&self) -> PlotGeometry<'_> {
        PlotGeometry::None
    }

    fn bounds(&self) -> PlotBounds {
        self.bounds
    }

    fn base(&self) -> &PlotItemBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut PlotItemBase {
        &mut self.base
    }
}

/// The markers of `dots` inside the plot's frame (and a margin), edges anti-aliased over `feather` points (0: hard).
fn mesh(dots: &[Dot], transform: &PlotTransform, feather: f32) -> Mesh {
    let visible = transform.frame().expand(10.0);
    let sides = if feather > 0.0 { 12 } else { 6 };
    let unit_circle: Vec<Vec2> = (0..sides)
        .map(|k| {
            let a = k as f32 / sides as f32 * std::f32::consts::TAU;
            vec2(a.cos(), a.sin())
        })
        .collect();
    // Reserved up front: growing a mesh of 300,000 vertices by doubling copied it over and over.
    let (vertices, indices) = if feather > 0.0 { (24, 102) } else { (8, 12) };
    let mut mesh = Mesh::default();
    mesh.vertices.reserve(dots.len() * vertices);
    mesh.indices.reserve(dots.len() * indices);
    for d in dots {
        let c =
            transform.position_from_point(&PlotPoint::new(f64::from(d.at[0]), f64::from(d.at[1])));
        if visible.contains(c) {
            add_marker(&mut mesh, c, d, &unit_circle, feather);
        }
    }
    mesh
}

/// `unit_circle`: a circle's corners at radius 1 (a circle of radius 3 points is 6 pixels wide: six corners are
/// enough without anti-aliasing, twelve with it).
fn add_marker(mesh: &mut Mesh, c: Pos2, d: &Dot, unit_circle: &[Vec2], feather: f32) {
    let r = d.radius;
    match d.marker {
        Marker::Circle => {
            add_convex(
                mesh,
                c,
                unit_circle.iter().map(|&v| v * r),
                d.color,
                feather,
            );
        }
        Marker::Diamond => {
            let corners = [vec2(0.0, r), vec2(-r, 0.0), vec2(0.0, -r), vec2(r, 0.0)];
            add_convex(mesh, c, corners.into_iter(), d.color, feather);
        }
        Marker::Cross => {
            // Two strokes corner to corner, as egui_plot's cross (stroke width radius / 5, at least a pixel).
            let a = r * std::f32::consts::FRAC_1_SQRT_2;
            let w = (r / 5.0).max(1.0) / 2.0;
            for (from, to) in [(vec2(-a, -a), vec2(a, a)), (vec2(a, -a), vec2(-a, a))] {
                let n = (to - from).normalized().rot90() * w;
                let quad = [from - n, to - n, to + n, from + n];
                add_convex(mesh, c, quad.into_iter(), d.color, feather);
            }
        }
    }
}

/// A convex polygon (corners around `c`, in order) filled with `color`; with `feather > 0` its edge fades to
/// transparent over `feather` points, as egui's tessellator does it.
fn add_convex(
    mesh: &mut Mesh,
    c: Pos2,
    corners: impl Iterator<Item = Vec2>,
    color: Color32,
    feather: f32,
) {
    let first = mesh.vertices.len() as u32;
    let vertex = |pos: Pos2, color| Vertex {
        pos,
        uv: WHITE_UV,
        color,
    };
    if feather <= 0.0 {
        let mut n = 0u32;
        for v in corners {
            mesh.vertices.push(vertex(c + v, color));
            n += 1;
        }
        for k in 1..n.saturating_sub(1) {
            mesh.indices
                .extend_from_slice(&[first, first + k, first + k + 1]);
        }
        return;
    }
    // Inner corners half a feather in, outer ones half a feather out (transparent), each moved along the mitre of
    // its two edges: a fan inside, a ring around.
    let mut buf = [Vec2::ZERO; 12];
    let mut n = 0;
    for v in corners.take(buf.len()) {
        buf[n] = v;
        n += 1;
    }
    let pts = &buf[..n];
    let centre = pts.iter().fold(Vec2::ZERO, |a, &v| a + v) / n.max(1) as f32;
    for (k, &v) in pts.iter().enumerate() {
        let (prev, next) = (pts[(k + n - 1) % n], pts[(k + 1) % n]);
        let (e0, e1) = (
            (v - prev).normalized().rot90(),
            (next - v).normalized().rot90(),
        );
        let mut m = (e0 + e1) / 2.0;
        m /= m.length_sq().max(1e-3);
        if m.dot(v - centre) < 0.0 {
            m = -m;
        }
        mesh.vertices
            .push(vertex(c + v - m * (feather / 2.0), color));
        mesh.vertices
            .push(vertex(c + v + m * (feather / 2.0), Color32::TRANSPARENT));
    }
    let n = n as u32;
    for k in 1..n.saturating_sub(1) {
        mesh.indices
            .extend_from_slice(&[first, first + 2 * k, first + 2 * (k + 1)]);
    }
    for k in 0..n {
        let (i0, o0) = (first + 2 * k, first + 2 * k + 1);
        let (i1, o1) = (first + 2 * ((k + 1) % n), first + 2 * ((k + 1) % n) + 1);
        mesh.indices.extend_from_slice(&[i0, o0, o1, i0, o1, i1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::Rect;

    fn dot(at: [f32; 2], marker: Marker) -> Dot {
        Dot {
            at,
            color: Color32::RED,
            marker,
            radius: 3.0,
        }
    }

    /// A 100 x 100 point plot over [0, 10] x [0, 10].
    fn transform() -> PlotTransform {
        PlotTransform::new(
            Rect::from_min_size(egui::pos2(0.0, 0.0), vec2(100.0, 100.0)),
            PlotBounds::from_min_max([0.0, 0.0], [10.0, 10.0]),
            false,
        )
    }

    #[test]
    fn each_marker_is_a_few_triangles_around_its_point() {
        let t = transform();
        for (marker, hard, soft) in [
            (Marker::Circle, 6, 24),
            (Marker::Diamond, 4, 8),
            (Marker::Cross, 8, 16),
        ] {
            for (feather, vertices) in [(0.0, hard), (1.0, soft)] {
                let m = mesh(&[dot([5.0, 5.0], marker)], &t, feather);
                assert_eq!(m.vertices.len(), vertices, "{marker:?} feather {feather}");
                assert!(m.is_valid(), "{marker:?}");
                assert_eq!(m.indices.len() % 3, 0);
                // Around the point's screen position (50, 50): within the radius (a cross's strokes end on it and
                // are half a pixel wide) and the feather.
                for v in &m.vertices {
                    let d = v.pos.distance(egui::pos2(50.0, 50.0));
                    assert!(d <= 3.1 + feather, "{marker:?} feather {feather}: {d}");
                }
                // Feathered: the outer ring is transparent, the inside opaque.
                if feather > 0.0 {
                    assert!(m.vertices.iter().any(|v| v.color == Color32::TRANSPARENT));
                    assert!(m.vertices.iter().any(|v| v.color == Color32::RED));
                }
            }
        }
    }

    /// Markers out of the plot's frame are not drawn (a zoomed-in map draws only what it shows); the item's bounds
    /// still cover them all, so the plot fits the whole map.
    #[test]
    fn markers_outside_the_frame_are_skipped() {
        let dots = [
            dot([5.0, 5.0], Marker::Circle),
            dot([50.0, 5.0], Marker::Circle),
            dot([5.0, -20.0], Marker::Diamond),
        ];
        assert_eq!(mesh(&dots, &transform(), 0.0).vertices.len(), 6);
        let b = Dots::new("samples", &dots).bounds();
        assert_eq!((b.min(), b.max()), ([5.0, -20.0], [50.0, 5.0]));
    }
}
