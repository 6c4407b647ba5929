// Skeleton pass: bones and floor-grid lines as instanced screen-space capsules, joints as instanced discs.
// wgpu lines and points are 1 px wide, so every primitive is a quad expanded in the vertex shader and shaped
// (rounded, anti-aliased) in the fragment shader. There is no depth buffer (egui's pass has none): the CPU sorts
// instances back to front and they are alpha-blended in that order.

struct Camera {
    view_proj: mat4x4<f32>,
    // x, y: viewport size in physical pixels; z: pixels per world unit at clip w = 1; w: 1 if the target is sRGB.
    viewport: vec4<f32>,
};

@group(0) @binding(0) var<uniform> camera: Camera;

struct SegmentIn {
    @location(0) a: vec3<f32>,
    @location(1) b: vec3<f32>,
    @location(2) radius: f32,
    @location(3) color: vec4<f32>,
};

struct SegmentOut {
    @builtin(position) position: vec4<f32>,
    // x: pixels along the segment from a; y: pixels across; z: segment length in pixels; w: radius in pixels.
    @location(0) @interpolate(linear) local: vec4<f32>,
    @location(1) color: vec4<f32>,
    // Coverage factor for segments thinner than a pixel (far grid lines fade instead of flickering).
    @location(2) @interpolate(linear) coverage: f32,
};

fn screen_from_clip(clip: vec4<f32>) -> vec2<f32> {
    return clip.xy / clip.w * camera.viewport.xy * 0.5;
}

fn clip_from_screen(screen: vec2<f32>, depth: f32) -> vec4<f32> {
    return vec4<f32>(screen / (camera.viewport.xy * 0.5), depth, 1.0);
}

// Quad corner for vertex 0..5 of two triangles: x in {0, 1} (start/end), y in {-1, 1} (side).
fn corner(vertex_index: u32) -> vec2<f32> {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(0.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 1.0),
    );
    return corners[vertex_index];
}

@vertex
fn vs_segment(@builtin(vertex_index) vertex_index: u32, inst: SegmentIn) -> SegmentOut {
    var out: SegmentOut;
    let ca = camera.view_proj * vec4<f32>(inst.a, 1.0);
    let cb = camera.view_proj * vec4<f32>(inst.b, 1.0);
    out.color = inst.color;
    if (ca.w <= 1e-4 || cb.w <= 1e-4) {
        // Behind the camera: a degenerate triangle draws nothing.
        out.position = vec4<f32>(0.0, 0.0, 2.0, 1.0);
        out.local = vec4<f32>(0.0);
        out.coverage = 0.0;
        return out;
    }
    let sa = screen_from_clip(ca);
    let sb = screen_from_clip(cb);
    let delta = sb - sa;
    let len = length(delta);
    var dir = vec2<f32>(1.0, 0.0);
    if (len > 1e-3) {
        dir = delta / len;
    }
    let perp = vec2<f32>(-dir.y, dir.x);
    let c = corner(vertex_index);
    let w = mix(ca.w, cb.w, c.x);
    let true_radius = inst.radius * camera.viewport.z / w;
    let radius = max(true_radius, 0.75);
    out.coverage = min(true_radius / 0.75, 1.0);
    // One pixel of margin beyond the radius for the anti-aliased edge, and radius-long caps at both ends.
    let reach = radius + 1.0;
    let along = mix(-reach, len + reach, c.x);
    let across = c.y * reach;
    let screen = sa + dir * along + perp * across;
    let depth = clamp(mix(ca.z / ca.w, cb.z / cb.w, c.x), 0.0, 1.0);
    out.position = clip_from_screen(screen, depth);
    out.local = vec4<f32>(along, across, len, radius);
    return out;
}

fn output_color(rgb: vec3<f32>, alpha: f32) -> vec4<f32> {
    var c = rgb;
    if (camera.viewport.w > 0.5) {
        // Colours are given in sRGB like egui's; an sRGB target would encode them a second time.
        c = pow(c, vec3<f32>(2.2));
    }
    // Premultiplied alpha, as egui blends.
    return vec4<f32>(c * alpha, alpha);
}

@fragment
fn fs_segment(in: SegmentOut) -> @location(0) vec4<f32> {
    let along = in.local.x;
    let len = in.local.z;
    let radius = in.local.w;
    let beyond = max(max(-along, along - len), 0.0);
    let d = length(vec2<f32>(beyond, in.local.y));
    let alpha = clamp(radius - d + 0.5, 0.0, 1.0) * in.coverage * in.color.a;
    if (alpha <= 0.0) {
        discard;
    }
    // Tube shading: darker towards the rim.
    let rim = clamp(d / radius, 0.0, 1.0);
    let shade = 1.0 - 0.35 * rim * rim;
    return output_color(in.color.rgb * shade, alpha);
}

struct DiscIn {
    @location(0) center: vec3<f32>,
    @location(1) radius: f32,
    @location(2) color: vec4<f32>,
    // 0: a filled disc; otherwise a ring this fraction of the radius wide (an untracked joint).
    @location(3) ring: f32,
};

struct DiscOut {
    @builtin(position) position: vec4<f32>,
    // xy: pixel offset from the centre; z: radius in pixels; w: ring width in pixels (0 for a filled disc).
    @location(0) @interpolate(linear) local: vec4<f32>,
    @location(1) color: vec4<f32>,
};

@vertex
fn vs_disc(@builtin(vertex_index) vertex_index: u32, inst: DiscIn) -> DiscOut {
    var out: DiscOut;
    let clip = camera.view_proj * vec4<f32>(inst.center, 1.0);
    out.color = inst.color;
    if (clip.w <= 1e-4) {
        out.position = vec4<f32>(0.0, 0.0, 2.0, 1.0);
        out.local = vec4<f32>(0.0);
        return out;
    }
    let radius = max(inst.radius * camera.viewport.z / clip.w, 1.5);
    let c = corner(vertex_index);
    let offset = vec2<f32>(c.x * 2.0 - 1.0, c.y) * (radius + 1.0);
    out.position = clip_from_screen(screen_from_clip(clip) + offset, clamp(clip.z / clip.w, 0.0, 1.0));
    out.local = vec4<f32>(offset, radius, max(inst.ring * radius, 1.5) * step(1e-6, inst.ring));
    return out;
}

@fragment
fn fs_disc(in: DiscOut) -> @location(0) vec4<f32> {
    let radius = in.local.z;
    let d = length(in.local.xy);
    var alpha = clamp(radius - d + 0.5, 0.0, 1.0) * in.color.a;
    let ring = in.local.w;
    if (ring > 0.0) {
        // Hollow: only the outer `ring` pixels, anti-aliased on the inside edge too; flat colour.
        alpha = alpha * clamp(d - (radius - ring) + 0.5, 0.0, 1.0);
        if (alpha <= 0.0) {
            discard;
        }
        return output_color(in.color.rgb, alpha);
    }
    if (alpha <= 0.0) {
        discard;
    }
    // Sphere shading with the light from the upper left.
    let p = in.local.xy / radius;
    let n = vec3<f32>(p.x, p.y, sqrt(max(1.0 - dot(p, p), 0.0)));
    let light = max(dot(n, normalize(vec3<f32>(-0.4, 0.5, 0.8))), 0.0);
    let shade = 0.55 + 0.45 * light;
    return output_color(in.color.rgb * shade, alpha);
}
