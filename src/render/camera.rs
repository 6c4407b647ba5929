//! Orbit camera and the small amount of 4x4 matrix math the renderer needs (column-major, as WGSL expects).

use serde::{Deserialize, Serialize};

/// Column-major 4x4 matrix: `m[column][row]`.
pub type Mat4 = [[f32; 4]; 4];

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn dot3(a: [f32; 3], b: [f32; 3]) -> f32 {
    dot(a, b)
}

/// Two unit vectors spanning the plane perpendicular to the unit vector `up`: the world x and z axes tilted along
/// with it, so `up = y` gives exactly x and z.
pub fn level_basis(up: [f32; 3]) -> ([f32; 3], [f32; 3]) {
    let z = [0.0, 0.0, 1.0];
    let mut along = normalize_or_zero(sub(z, scale(up, dot(z, up))));
    if along == [0.0; 3] {
        along = normalize_or_zero(sub([1.0, 0.0, 0.0], scale(up, up[0])));
    }
    (cross(up, along), along)
}

fn scale(a: [f32; 3], k: f32) -> [f32; 3] {
    [a[0] * k, a[1] * k, a[2] * k]
}

fn normalize_or_zero(a: [f32; 3]) -> [f32; 3] {
    let len = dot(a, a).sqrt();
    if len > 1e-12 {
        [a[0] / len, a[1] / len, a[2] / len]
    } else {
        [0.0; 3]
    }
}

pub fn mat4_mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut out = [[0.0; 4]; 4];
    for (c, col) in out.iter_mut().enumerate() {
        for (r, v) in col.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[k][r] * b[c][k]).sum();
        }
    }
    out
}

pub fn mat4_transform(m: &Mat4, p: [f32; 3]) -> [f32; 4] {
    std::array::from_fn(|r| m[0][r] * p[0] + m[1][r] * p[1] + m[2][r] * p[2] + m[3][r])
}

/// Right-handed view matrix looking from `eye` at `target`.
pub fn view_from_world(eye: [f32; 3], target: [f32; 3], up: [f32; 3]) -> Mat4 {
    let f = normalize_or_zero(sub(target, eye));
    let s = normalize_or_zero(cross(f, up));
    let u = cross(s, f);
    [
        [s[0], u[0], -f[0], 0.0],
        [s[1], u[1], -f[1], 0.0],
        [s[2], u[2], -f[2], 0.0],
        [-dot(s, eye), -dot(u, eye), dot(f, eye), 1.0],
    ]
}

/// Right-handed perspective projection onto wgpu's clip space (depth 0..1).
pub fn clip_from_view(fov_y_radians: f32, aspect: f32, near: f32, far: f32) -> Mat4 {
    let f = 1.0 / (fov_y_radians * 0.5).tan();
    let range = far / (near - far);
    [
        [f / aspect.max(1e-6), 0.0, 0.0, 0.0],
        [0.0, f, 0.0, 0.0],
        [0.0, 0.0, range, -1.0],
        [0.0, 0.0, range * near, 0.0],
    ]
}

/// Camera orbiting a target point about an up axis: y (as in Kinect camera space) unless the sensor was tilted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrbitCamera {
    pub target: [f32; 3],
    /// Unit vector the camera keeps upright; yaw turns about it and pitch rises along it.
    pub up: [f32; 3],
    /// Rotation about the y axis, radians; 0 looks along +z (from the Kinect sensor at the subject).
    pub yaw: f32,
    /// Elevation, radians, positive looks down.
    pub pitch: f32,
    pub distance: f32,
    pub fov_y: f32,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        Self {
            target: [0.0, 0.0, 3.0],
            up: [0.0, 1.0, 0.0],
            yaw: 0.0,
            pitch: 0.25,
            distance: 4.0,
            fov_y: 45f32.to_radians(),
        }
    }
}

/// Camera matrices for one viewport.
#[derive(Clone, Copy, Debug)]
pub struct CameraView {
    pub clip_from_world: Mat4,
    pub eye: [f32; 3],
    pub forward: [f32; 3],
    /// Physical pixels per world unit at view distance 1 (`projection[1][1] * height / 2`).
    pub pixels_per_unit: f32,
    pub viewport_px: [f32; 2],
}

impl CameraView {
    /// Screen position in physical pixels (origin top-left) and view depth, or `None` behind the camera.
    pub fn screen_from_world(&self, p: [f32; 3]) -> Option<([f32; 2], f32)> {
        let c = mat4_transform(&self.clip_from_world, p);
        if c[3] <= 1e-4 {
            return None;
        }
        let x = (c[0] / c[3] * 0.5 + 0.5) * self.viewport_px[0];
        let y = (0.5 - c[1] / c[3] * 0.5) * self.viewport_px[1];
        Some(([x, y], c[3]))
    }

    /// Distance from the eye along the view direction (larger is farther).
    pub fn depth_of(&self, p: [f32; 3]) -> f32 {
        dot(sub(p, self.eye), self.forward)
    }
}

impl OrbitCamera {
    /// Frames an axis-aligned box in a three-quarter view: from the Kinect side (-z), turned 40° towards the
    /// subject's left and 20° from above, so depth (a punch, a kick forward) reads as well as left and right.
    pub fn framing(min: [f32; 3], max: [f32; 3]) -> Self {
        let target = std::array::from_fn(|k| 0.5 * (min[k] + max[k]));
        let extent = (0..3)
            .map(|k| max[k] - min[k])
            .fold(0.0f32, f32::max)
            .max(0.5);
        let fov_y = 45f32.to_radians();
        Self {
            target,
            up: [0.0, 1.0, 0.0],
            yaw: 40f32.to_radians(),
            pitch: 20f32.to_radians(),
            distance: extent / (fov_y * 0.5).tan() * 0.75 + extent * 0.5,
            fov_y,
        }
    }

    pub fn eye(&self) -> [f32; 3] {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        // Looking along +z (tilted with `up`) at yaw 0: the eye sits on the -z side of the target.
        let (x, z) = level_basis(self.up);
        let d = self.distance;
        std::array::from_fn(|k| {
            self.target[k] - d * cp * sy * x[k] - d * cp * cy * z[k] + d * sp * self.up[k]
        })
    }

    pub fn view(&self, viewport_px: [f32; 2]) -> CameraView {
        let eye = self.eye();
        let aspect = viewport_px[0] / viewport_px[1].max(1.0);
        let near = (self.distance * 0.01).max(0.01);
        let far = self.distance * 10.0 + 10.0;
        let proj = clip_from_view(self.fov_y, aspect, near, far);
        let view = view_from_world(eye, self.target, self.up);
        CameraView {
            clip_from_world: mat4_mul(&proj, &view),
            eye,
            forward: normalize_or_zero(sub(self.target, eye)),
            pixels_per_unit: proj[1][1] * viewport_px[1] * 0.5,
            viewport_px,
        }
    }

    /// Rotates by a drag of `dx`, `dy` pixels.
    pub fn orbit(&mut self, dx: f32, dy: f32) {
        self.yaw = (self.yaw - dx * 0.008).rem_euclid(std::f32::consts::TAU);
        self.pitch = (self.pitch + dy * 0.008).clamp(-1.45, 1.45);
    }

    /// Moves the target in the view plane by a drag of `dx`, `dy` pixels in a viewport `height_px` tall.
    pub fn pan(&mut self, dx: f32, dy: f32, height_px: f32) {
        let eye = self.eye();
        let f = normalize_or_zero(sub(self.target, eye));
        let right = normalize_or_zero(cross(f, self.up));
        let up = cross(right, f);
        let scale = 2.0 * self.distance * (self.fov_y * 0.5).tan() / height_px.max(1.0);
        for k in 0..3 {
            self.target[k] += (-dx * right[k] + dy * up[k]) * scale;
        }
    }

    /// Zooms by `steps` (positive = closer).
    pub fn zoom(&mut self, steps: f32) {
        self.distance = (self.distance * (-steps * 0.1).exp()).clamp(0.2, 100.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_projects_to_viewport_centre() {
        let cam = OrbitCamera::default();
        let view = cam.view([200.0, 100.0]);
        let (px, depth) = view.screen_from_world(cam.target).unwrap();
        assert!((px[0] - 100.0).abs() < 1e-3 && (px[1] - 50.0).abs() < 1e-3);
        assert!((depth - cam.distance).abs() < 1e-3);
        assert!((view.depth_of(cam.target) - cam.distance).abs() < 1e-4);
    }

    #[test]
    fn up_is_up_and_kinect_x_is_left_from_the_sensor() {
        let cam = OrbitCamera {
            yaw: 0.0,
            pitch: 0.0,
            ..OrbitCamera::default()
        };
        let view = cam.view([200.0, 200.0]);
        let t = cam.target;
        let (above, _) = view.screen_from_world([t[0], t[1] + 0.5, t[2]]).unwrap();
        let (plus_x, _) = view.screen_from_world([t[0] + 0.5, t[1], t[2]]).unwrap();
        assert!(above[1] < 100.0);
        // Kinect's +x is the sensor's left, so it appears on the left of a view from the sensor.
        assert!(plus_x[0] < 100.0);
    }

    #[test]
    fn a_tilted_up_axis_stays_upright_on_screen() {
        let up = normalize_or_zero([0.0, 0.95, -0.3]);
        let cam = OrbitCamera {
            up,
            yaw: 0.7,
            ..OrbitCamera::default()
        };
        let view = cam.view([200.0, 200.0]);
        let t = cam.target;
        let (centre, _) = view.screen_from_world(t).unwrap();
        assert!((centre[0] - 100.0).abs() < 1e-3 && (centre[1] - 100.0).abs() < 1e-3);
        // A point along `up` from the target is straight above it on screen.
        let (above, _) = view
            .screen_from_world(std::array::from_fn(|k| t[k] + 0.5 * up[k]))
            .unwrap();
        assert!((above[0] - 100.0).abs() < 1e-3, "{above:?}");
        assert!(above[1] < 90.0);
        let (x, z) = level_basis(up);
        assert!(dot(x, up).abs() < 1e-6 && dot(z, up).abs() < 1e-6 && dot(x, z).abs() < 1e-6);
        assert_eq!(
            level_basis([0.0, 1.0, 0.0]),
            ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
        );
    }

    #[test]
    fn orbit_keeps_distance_and_zoom_moves_closer() {
        let mut cam = OrbitCamera::default();
        cam.orbit(120.0, -40.0);
        let eye = cam.eye();
        let d = dot(sub(eye, cam.target), sub(eye, cam.target)).sqrt();
        assert!((d - cam.distance).abs() < 1e-4);
        let before = cam.distance;
        cam.zoom(2.0);
        assert!(cam.distance < before);
    }
}
