//! The floor under a sequence: the plane its feet stand on, upright along the bodies' spines when the sensor was
//! tilted, for the grid, the shadows and the camera's up axis.

use crate::skeleton::Sequence;

use super::camera::dot3;
use super::scene::Bounds;

/// A square floor grid on the plane of points `p` with `dot(p, up) == height`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Floor {
    /// Unit normal pointing up: world y, or the bodies' mean spine direction when the sensor was tilted (NTU's
    /// cameras look down by ~17°, so their y is not vertical).
    pub up: [f32; 3],
    pub height: f32,
    /// The grid's centre, on the plane.
    pub center: [f32; 3],
    pub half_extent: f32,
    pub spacing: f32,
}

/// A body's spine may lean this far from world y and still be taken as the vertical; beyond it y is kept (a clip
/// of someone lying or bending throughout says nothing about the floor).
const MAX_TILT_DEGREES: f32 = 35.0;

impl Floor {
    /// A floor under the lowest joint of the sequence, centred under its bounding box, level with world y.
    pub fn under(bounds: Bounds) -> Self {
        let size = (bounds.max[0] - bounds.min[0])
            .max(bounds.max[2] - bounds.min[2])
            .max(1.0);
        let spacing = if size > 8.0 { 1.0 } else { 0.25 };
        let half_extent = ((size * 0.5 + 1.0) / spacing).ceil() * spacing;
        Self {
            up: [0.0, 1.0, 0.0],
            height: bounds.min[1],
            center: [
                0.5 * (bounds.min[0] + bounds.max[0]),
                bounds.min[1],
                0.5 * (bounds.min[2] + bounds.max[2]),
            ],
            half_extent,
            spacing,
        }
    }

    /// The floor the sequence stands on: perpendicular to the mean spine direction ([`up_of_sequence`]), at the
    /// height of its lowest foot (the 5th percentile over frames of the lowest foot or ankle, so a few frames of
    /// sensor noise do not sink it; the lowest joint for a layout without feet). `None` when no body is present.
    pub fn under_feet(seq: &Sequence) -> Option<Self> {
        let bounds = Bounds::of_sequence(seq)?;
        let mut floor = Self::under(bounds);
        let up = up_of_sequence(seq);
        let mut feet: Vec<usize> = seq.layout().feet().collect();
        if feet.is_empty() {
            feet = (0..seq.joints()).collect();
        }
        let mut lowest: Vec<f32> = (0..seq.frames())
            .filter_map(|f| {
                (0..seq.bodies())
                    .filter(|&b| seq.body_present(f, b))
                    .flat_map(|b| feet.iter().map(move |&j| dot3(seq.joint(f, b, j), up)))
                    .min_by(f32::total_cmp)
            })
            .collect();
        lowest.sort_by(f32::total_cmp);
        floor.up = up;
        floor.height = lowest[(lowest.len() - 1) / 20];
        floor.center = floor.onto(std::array::from_fn(|k| {
            0.5 * (bounds.min[k] + bounds.max[k])
        }));
        Some(floor)
    }

    /// `p` moved along `up` onto the floor.
    pub fn onto(&self, p: [f32; 3]) -> [f32; 3] {
        let above = self.above(p);
        std::array::from_fn(|k| p[k] - above * self.up[k])
    }

    /// How far `p` is above the floor.
    pub fn above(&self, p: [f32; 3]) -> f32 {
        dot3(p, self.up) - self.height
    }
}

/// The bodies' mean spine direction (hip centre to shoulder centre, each frame's a unit vector), taken as the
/// vertical when it leans less than [`MAX_TILT_DEGREES`] from world y; world y otherwise.
pub fn up_of_sequence(seq: &Sequence) -> [f32; 3] {
    let y = [0.0, 1.0, 0.0];
    let Some((bottom, top)) = seq.layout().spine_ends() else {
        return y;
    };
    let mut sum = [0.0f32; 3];
    for f in 0..seq.frames() {
        for b in (0..seq.bodies()).filter(|&b| seq.body_present(f, b)) {
            let (p, q) = (seq.joint(f, b, bottom), seq.joint(f, b, top));
            let v: [f32; 3] = std::array::from_fn(|k| q[k] - p[k]);
            let n = dot3(v, v).sqrt();
            if n > 1e-6 {
                for k in 0..3 {
                    sum[k] += v[k] / n;
                }
            }
        }
    }
    let n = dot3(sum, sum).sqrt();
    if n < 1e-6 || sum[1] / n < MAX_TILT_DEGREES.to_radians().cos() {
        return y;
    }
    sum.map(|v| v / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::LayoutId;

    #[test]
    fn a_tilted_sensor_tilts_the_floor_with_the_spine() {
        // A standing figure seen by a sensor pitched down by `deg`: the body's vertical is rotated about x.
        let tilted = |deg: f32| {
            let (s, c) = deg.to_radians().sin_cos();
            let mut seq = Sequence::zeros(LayoutId::Ntu25, 3, 1).unwrap();
            for f in 0..3 {
                for j in 0..25 {
                    let h = match j {
                        15 | 19 => 0.0, // feet
                        0 => 0.9,       // spine base
                        20 => 1.4,      // spine shoulder
                        _ => 0.9 + 0.02 * j as f32,
                    };
                    let x = if j == 0 || j == 20 {
                        0.0
                    } else {
                        0.01 * j as f32
                    };
                    seq.set_joint(f, 0, j, [x, h * c, 3.0 - h * s]);
                }
            }
            seq
        };
        let floor = Floor::under_feet(&tilted(17.0)).unwrap();
        let expect = [0.0, 17f32.to_radians().cos(), -17f32.to_radians().sin()];
        for (got, want) in floor.up.iter().zip(expect) {
            assert!((got - want).abs() < 1e-4, "{:?}", floor.up);
        }
        // The feet stand on it, the spine base is 0.9 above it.
        assert!(floor.above(tilted(17.0).joint(0, 0, 15)).abs() < 1e-4);
        assert!((floor.above(tilted(17.0).joint(0, 0, 0)) - 0.9).abs() < 1e-4);
        assert!(floor.above(floor.center).abs() < 1e-4);
        // Lying down is no evidence of the floor: world y is kept.
        assert_eq!(up_of_sequence(&tilted(60.0)), [0.0, 1.0, 0.0]);
    }
}
