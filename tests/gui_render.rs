//! The skeleton shaders and pass, without a window: WGSL validated by naga, and a frame rendered offscreen on the
//! environment's adapter (lavapipe on a machine with no GPU) with its pixels checked.

use skelzero::render::scene::DrawKind;
use std::sync::Arc;

use skelzero::render::{
    Bounds, DOTS_WGSL, DotInstance, DotSet, DotShape, DotsMapping, DotsRenderer, Floor, Headless,
    OrbitCamera, SKELETON_WGSL, Scene, SkeletonRenderer, SkeletonStyle, build_frame_scene,
};
use skelzero::skeleton::{LayoutId, Sequence};

/// Parses and validates a WGSL source with naga and checks it has `entry_points`.
fn validates_with_naga(source: &str, entry_points: &[&str]) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(source)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module);
    if let Err(e) = info {
        panic!("{}", e.emit_to_string(source));
    }
    let found: Vec<&str> = module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    for name in entry_points {
        assert!(found.contains(name), "missing entry point {name}");
    }
}

#[test]
fn skeleton_wgsl_validates_with_naga() {
    validates_with_naga(
        SKELETON_WGSL,
        &["vs_segment", "fs_segment", "vs_disc", "fs_disc"],
    );
}

#[test]
fn dots_wgsl_validates_with_naga() {
    validates_with_naga(DOTS_WGSL, &["vs_dot", "fs_dot"]);
}

/// The t-SNE markers offscreen: each shape lands where the plot's mapping puts it, in its colour, with its own
/// outline (a pixel inside the circle but outside the diamond; the cross's diagonals but not its axes), and a new
/// set (new version) replaces the old one while a frame with the same version keeps what was uploaded.
#[test]
fn dots_render_where_and_as_the_mapping_says() {
    let headless = Headless::new().expect("a wgpu adapter (lavapipe) must be available");
    let mut renderer = DotsRenderer::new(
        headless.device(),
        skelzero::render::headless::HEADLESS_FORMAT,
        1,
    );
    // Plot y up, image y down: plot (x, y) -> pixel (30 + 20x, 50 - 20y).
    let mapping = DotsMapping {
        scale: [20.0, -20.0],
        offset: [30.0, 50.0],
        viewport: [100.0, 80.0],
        pixels_per_point: 1.0,
        srgb: 0.0,
    };
    let (red, green, blue) = ([255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]);
    let set = DotSet {
        version: 1,
        dots: Arc::new(vec![
            DotInstance::new([0.0, 0.0], 6.0, DotShape::Circle, red),
            DotInstance::new([1.5, 0.0], 6.0, DotShape::Diamond, green),
            DotInstance::new([0.0, 1.5], 6.0, DotShape::Cross, blue),
        ]),
    };
    let black = [0, 0, 0, 255];
    let img = headless
        .render_dots(&mut renderer, &mapping, &set, black)
        .unwrap();
    let at = |img: &[u8], x: usize, y: usize| -> [u8; 4] {
        let i = (y * 100 + x) * 4;
        img[i..i + 4].try_into().unwrap()
    };
    // Centres (pixel (x, y) covers x..x+1, so its centre is 0.5 px right and down of the marker's).
    assert_eq!(at(&img, 30, 50), red);
    assert_eq!(at(&img, 60, 50), green);
    assert_eq!(at(&img, 30, 20), blue);
    // 3.5 px right and down of the centre (4.9 px away): inside the circle of radius 6, outside the diamond.
    assert_eq!(at(&img, 33, 53), red);
    assert_eq!(at(&img, 63, 53), black);
    // On the circle's edge (6.4 px away) partly covered; a pixel further out not at all.
    assert!((1..255).contains(&at(&img, 34, 54)[0]));
    assert_eq!(at(&img, 35, 55), black);
    // The cross: on a diagonal, yes; on the horizontal axis, no.
    assert_eq!(at(&img, 33, 23), blue);
    assert_eq!(at(&img, 34, 20), black);
    // Far from every marker.
    assert_eq!(at(&img, 90, 70), black);

    // Another set under a new version replaces them; the same version again is not re-uploaded.
    let moved = DotSet {
        version: 2,
        dots: Arc::new(vec![DotInstance::new(
            [2.0, -1.0],
            6.0,
            DotShape::Circle,
            red,
        )]),
    };
    let img = headless
        .render_dots(&mut renderer, &mapping, &moved, black)
        .unwrap();
    assert_eq!((at(&img, 70, 70), at(&img, 30, 50)), (red, black));
    let stale = DotSet {
        version: 2,
        dots: set.dots.clone(),
    };
    let img = headless
        .render_dots(&mut renderer, &mapping, &stale, black)
        .unwrap();
    assert_eq!((at(&img, 70, 70), at(&img, 30, 50)), (red, black));
}

/// A T-pose-ish standing figure from the NTU layout's bone list, body 0 at x=-0.4, body 1 at x=+0.4.
fn standing_pair() -> Sequence {
    let pose: [[f32; 3]; 25] = [
        [0.0, 0.0, 0.0],    // spine base
        [0.0, 0.3, 0.0],    // spine middle
        [0.0, 0.6, 0.0],    // neck
        [0.0, 0.75, 0.0],   // head
        [-0.2, 0.5, 0.0],   // left shoulder
        [-0.45, 0.5, 0.0],  // left elbow
        [-0.7, 0.5, 0.0],   // left wrist
        [-0.78, 0.5, 0.0],  // left hand
        [0.2, 0.5, 0.0],    // right shoulder
        [0.45, 0.5, 0.0],   // right elbow
        [0.7, 0.5, 0.0],    // right wrist
        [0.78, 0.5, 0.0],   // right hand
        [-0.1, -0.05, 0.0], // left hip
        [-0.12, -0.45, 0.0],
        [-0.12, -0.85, 0.0],
        [-0.12, -0.9, 0.1],
        [0.1, -0.05, 0.0],
        [0.12, -0.45, 0.0],
        [0.12, -0.85, 0.0],
        [0.12, -0.9, 0.1],
        [0.0, 0.5, 0.0], // spine shoulder
        [-0.85, 0.5, 0.0],
        [-0.78, 0.55, 0.0],
        [0.85, 0.5, 0.0],
        [0.78, 0.55, 0.0],
    ];
    let mut seq = Sequence::zeros(LayoutId::Ntu25, 1, 2).expect("valid shape");
    for (j, p) in pose.iter().enumerate() {
        seq.set_joint(0, 0, j, [p[0] * 0.5 - 0.4, p[1] + 0.9, p[2] + 3.0]);
        seq.set_joint(0, 1, j, [p[0] * 0.5 + 0.4, p[1] + 0.9, p[2] + 3.2]);
    }
    seq
}

fn count(pixels: &[u8], pred: impl Fn(&[u8]) -> bool) -> usize {
    pixels.chunks_exact(4).filter(|p| pred(p)).count()
}

#[test]
fn skeleton_pass_renders_offscreen_on_the_software_adapter() {
    let headless = Headless::new().expect("a wgpu adapter (lavapipe) must be available");
    let mut renderer = SkeletonRenderer::new(
        headless.device(),
        skelzero::render::headless::HEADLESS_FORMAT,
        1,
    );
    let seq = standing_pair();
    let bounds = Bounds::of_sequence(&seq).unwrap();
    let floor = Floor::under_feet(&seq).unwrap();
    assert_eq!(floor.height, bounds.min[1]);
    let mut camera = OrbitCamera::framing(bounds.min, bounds.max);
    camera.yaw = 0.0;
    let view = camera.view([256.0, 192.0]);
    let style = SkeletonStyle::default();
    let mut scene = Scene::default();
    build_frame_scene(&mut scene, &seq, 0, Some(&floor), &style, &view);
    // Grid, shadows, the feet's contact marks, then each body's bones and joints.
    assert_eq!(scene.draws.len(), 7);
    assert_eq!(scene.draws[0].kind, DrawKind::Segments);
    assert_eq!(scene.draws[2].kind, DrawKind::Discs);

    let background = [10, 10, 10, 255];
    let pixels = headless
        .render(&mut renderer, &view, &scene, background)
        .unwrap();
    assert_eq!(pixels.len(), 256 * 192 * 4);
    if let Ok(dir) = std::env::var("SKELZERO_DUMP") {
        image::save_buffer(
            format!("{dir}/offscreen.png"),
            &pixels,
            256,
            192,
            image::ColorType::Rgba8,
        )
        .unwrap();
    }
    // Shading darkens colours by up to ~45 %, so test for the hue. Person 1: blue left, orange right; person 2:
    // green left, pink right.
    // In i32: u8 sums such as `p[0] + 80` would wrap.
    fn rgb(p: &[u8]) -> [i32; 3] {
        [i32::from(p[0]), i32::from(p[1]), i32::from(p[2])]
    }
    let orange = |p: &[u8]| {
        let [r, g, b] = rgb(p);
        r > 120 && r > b + 80 && g > 40 && g < r && b < g
    };
    let blue = |p: &[u8]| {
        let [r, g, b] = rgb(p);
        b > 120 && b > r + 80 && b > g
    };
    let green = |p: &[u8]| {
        let [r, g, b] = rgb(p);
        g > 110 && g > r + 60 && g > b + 30
    };
    let pink = |p: &[u8]| {
        let [r, g, b] = rgb(p);
        r > 110 && r > g + 80 && b > g + 40
    };
    let grey = count(&pixels, |p| {
        p[0] > 30 && p[0] < 120 && p[0].abs_diff(p[1]) < 6 && p[1].abs_diff(p[2]) < 6
    });
    let hues: [fn(&[u8]) -> bool; 4] = [orange, blue, green, pink];
    let counts = hues.map(|hue| count(&pixels, hue));
    let [l0, r0] = [style.body_colors[0][0], style.body_colors[0][1]];
    for (n, name) in counts.iter().zip(["orange", "blue", "green", "pink"]) {
        assert!(
            *n > 100,
            "{name} pixels: {n} (person 1 left {l0:?}, right {r0:?})"
        );
    }
    assert!(grey > 200, "grid pixels: {grey}");
    // The first body stands on the left of the image (x = -0.4 appears on the right of a view from the sensor:
    // Kinect's +x is the sensor's left), so its pixels are mostly in the right half, the second body's in the left.
    let mean_x = |hue: &dyn Fn(&[u8]) -> bool| {
        let (sum, n) = pixels
            .chunks_exact(4)
            .enumerate()
            .filter(|(_, p)| hue(p))
            .fold((0usize, 0usize), |(s, n), (i, _)| (s + i % 256, n + 1));
        sum as f32 / n.max(1) as f32
    };
    let person1 = |p: &[u8]| orange(p) || blue(p);
    let person2 = |p: &[u8]| green(p) || pink(p);
    assert!(mean_x(&person1) > 128.0 && mean_x(&person2) < 128.0);
    // Facing the sensor, a person's left hand is on the right of the image: each person's cool (left) side is right
    // of its warm (right) side.
    assert!(mean_x(&blue) > mean_x(&orange));
    assert!(mean_x(&green) > mean_x(&pink));
    // Corners stay background.
    assert_eq!(&pixels[0..4], &background);
    eprintln!(
        "adapter: {:?} {}; orange, blue, green, pink {counts:?}, grid {grey}",
        headless.adapter_info.backend, headless.adapter_info.name
    );
}
