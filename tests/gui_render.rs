//! The skeleton shaders and pass, without a window: WGSL validated by naga, and a frame rendered offscreen on the
//! environment's adapter (lavapipe on a machine with no GPU) with its pixels checked.

use skelzero::render::scene::DrawKind;
use skelzero::render::{
    Bounds, Floor, Headless, OrbitCamera, SKELETON_WGSL, Scene, SkeletonRenderer, SkeletonStyle,
    build_frame_scene,
};
use skelzero::skeleton::{LayoutId, Sequence};

#[test]
fn skeleton_wgsl_validates_with_naga() {
    let module = naga::front::wgsl::parse_str(SKELETON_WGSL)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string(SKELETON_WGSL)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module);
    if let Err(e) = info {
        panic!("{}", e.emit_to_string(SKELETON_WGSL));
    }
    let entry_points: Vec<&str> = module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    for name in ["vs_segment", "fs_segment", "vs_disc", "fs_disc"] {
        assert!(entry_points.contains(&name), "missing entry point {name}");
    }
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
    let floor = Floor::under(bounds);
    let mut camera = OrbitCamera::framing(bounds.min, bounds.max);
    camera.yaw = 0.0;
    let view = camera.view([256.0, 192.0]);
    let style = SkeletonStyle::default();
    let mut scene = Scene::default();
    build_frame_scene(&mut scene, &seq, 0, Some(&floor), &style, &view);
    assert_eq!(scene.draws.len(), 5);
    assert_eq!(scene.draws[0].kind, DrawKind::Segments);

    let background = [10, 10, 10, 255];
    let pixels = headless
        .render(&mut renderer, &view, &scene, background)
        .unwrap();
    assert_eq!(pixels.len(), 256 * 192 * 4);
    let [o, b] = style.body_colors;
    // Shading darkens colours by up to ~45 %, so test for the hue: orange is red-dominant, blue is blue-dominant.
    let orange = count(&pixels, |p| {
        p[0] > 120 && p[0] > p[2] + 80 && p[1] > 40 && p[1] < p[0]
    });
    let blue = count(&pixels, |p| p[2] > 120 && p[2] > p[0] + 80);
    let grey = count(&pixels, |p| {
        p[0] > 30 && p[0] < 120 && p[0].abs_diff(p[1]) < 6 && p[1].abs_diff(p[2]) < 6
    });
    assert!(orange > 300, "body 0 ({o:?}) pixels: {orange}");
    assert!(blue > 300, "body 1 ({b:?}) pixels: {blue}");
    assert!(grey > 200, "grid pixels: {grey}");
    // The first body stands on the left of the image (x = -0.4 appears on the right of a view from the sensor:
    // Kinect's +x is the sensor's left), so its pixels are mostly in the right half.
    let orange_right = pixels
        .chunks_exact(4)
        .enumerate()
        .filter(|(i, p)| i % 256 >= 128 && p[0] > 120 && p[0] > p[2] + 80 && p[1] < p[0])
        .count();
    assert!(orange_right * 2 > orange, "{orange_right} of {orange}");
    // Corners stay background.
    assert_eq!(&pixels[0..4], &background);
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
    eprintln!(
        "adapter: {:?} {}; orange {orange}, blue {blue}, grid {grey}",
        headless.adapter_info.backend, headless.adapter_info.name
    );
}
