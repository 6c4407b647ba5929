// The t-SNE map's sample markers: one instanced quad per marker, placed by the plot's affine mapping in the vertex
// shader and shaped by a signed distance in the fragment shader (circle, diamond or a diagonal cross, each with a
// one-pixel anti-aliased edge). The CPU uploads the markers once per map and colouring, and each frame only the
// mapping, so panning, zooming and hovering cost no per-marker work on the CPU.

struct Mapping {
    // Pixels from the viewport's top-left corner = at * scale + offset (y down).
    scale: vec2<f32>,
    offset: vec2<f32>,
    // Viewport size in physical pixels.
    viewport: vec2<f32>,
    pixels_per_point: f32,
    // 1 if the target is sRGB.
    srgb: f32,
};

@group(0) @binding(0) var<uniform> mapping: Mapping;

struct DotIn {
    @location(0) at: vec2<f32>,
    // In points.
    @location(1) radius: f32,
    // 0 circle, 1 diamond, 2 cross.
    @location(2) shape: u32,
    // sRGB, not premultiplied.
    @location(3) color: vec4<f32>,
};

struct DotOut {
    @builtin(position) position: vec4<f32>,
    // Pixels from the marker's centre.
    @location(0) @interpolate(linear) local: vec2<f32>,
    @location(1) @interpolate(flat) shape: u32,
    // Radius in pixels.
    @location(2) @interpolate(flat) radius: f32,
    @location(3) color: vec4<f32>,
};

fn corner(vertex_index: u32) -> vec2<f32> {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0),
    );
    return corners[vertex_index];
}

@vertex
fn vs_dot(@builtin(vertex_index) vertex_index: u32, dot: DotIn) -> DotOut {
    var out: DotOut;
    let radius = dot.radius * mapping.pixels_per_point;
    // One pixel beyond the shape for its anti-aliased edge.
    let local = corner(vertex_index) * (radius + 1.0);
    let px = dot.at * mapping.scale + mapping.offset + local;
    out.position = vec4<f32>(
        px.x / mapping.viewport.x * 2.0 - 1.0,
        1.0 - px.y / mapping.viewport.y * 2.0,
        0.0,
        1.0,
    );
    out.local = local;
    out.shape = dot.shape;
    out.radius = radius;
    out.color = dot.color;
    return out;
}

// Signed distance (pixels, negative inside) to a box of half-sizes `half` centred at the origin.
fn box_distance(p: vec2<f32>, half: vec2<f32>) -> f32 {
    let q = abs(p) - half;
    return length(max(q, vec2<f32>(0.0))) + min(max(q.x, q.y), 0.0);
}

@fragment
fn fs_dot(in: DotOut) -> @location(0) vec4<f32> {
    let p = in.local;
    let r = in.radius;
    var d: f32;
    switch in.shape {
        case 0u: {
            d = length(p) - r;
        }
        case 1u: {
            // Corners at distance r on the axes, as egui_plot's diamond.
            d = (abs(p.x) + abs(p.y) - r) * 0.70710678;
        }
        default: {
            // Two strokes corner to corner of the square inscribed in the circle (egui_plot's cross): each 2r long
            // along a diagonal, max(r / 5, 1) points wide.
            let w = max(r / 5.0, mapping.pixels_per_point) * 0.5;
            let u = vec2<f32>(p.x + p.y, p.x - p.y) * 0.70710678;
            d = min(box_distance(u, vec2<f32>(r, w)), box_distance(u.yx, vec2<f32>(r, w)));
        }
    }
    let alpha = clamp(0.5 - d, 0.0, 1.0) * in.color.a;
    if (alpha <= 0.0) {
        discard;
    }
    var c = in.color.rgb;
    if (mapping.srgb > 0.5) {
        // Colours are given in sRGB like egui's; an sRGB target would encode them a second time.
        c = pow(c, vec3<f32>(2.2));
    }
    // Premultiplied alpha, as egui blends.
    return vec4<f32>(c * alpha, alpha);
}
