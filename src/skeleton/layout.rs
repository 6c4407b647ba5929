//! Joint layouts as data: joint names, bones, body-part groups, and mappings onto the NTU 25-joint layout.

use serde::{Deserialize, Serialize};

/// Which joint layout a sequence uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayoutId {
    /// Kinect v2 / NTU RGB+D / PKU-MMD, 25 joints.
    Ntu25,
    /// Kinect v1 SDK order, 20 joints (UTKinect-Action3D).
    KinectV1,
    /// MSR Action3D's own order of the 20 Kinect v1 joints (head last).
    Msr20,
}

impl LayoutId {
    pub fn layout(self) -> &'static JointLayout {
        match self {
            Self::Ntu25 => &NTU25,
            Self::KinectV1 => &KINECT_V1,
            Self::Msr20 => &MSR20,
        }
    }

    pub fn num_joints(self) -> usize {
        self.layout().joints.len()
    }
}

/// How one joint of the NTU layout is obtained from another layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JointSource {
    /// Copy this joint of the source layout.
    Joint(usize),
    /// The midpoint of two joints of the source layout.
    Mid(usize, usize),
}

/// A skeleton layout: names, bones (child, parent) and, for NTU25, the mapping of other layouts onto it.
#[derive(Debug)]
pub struct JointLayout {
    pub id: LayoutId,
    pub name: &'static str,
    pub joints: &'static [&'static str],
    /// Bones as (child, parent) pairs of 0-based joint indices (the ST-GCN "inward" edges for NTU25).
    pub bones: &'static [(usize, usize)],
    /// The joint preprocessing centres on (the middle of the spine for NTU25).
    pub center: usize,
    /// Left and right shoulders, used to rotate shoulders parallel to the x axis.
    pub shoulders: (usize, usize),
    /// For each NTU25 joint, where it comes from in this layout (`None` for NTU25 itself).
    pub to_ntu25: Option<&'static [JointSource; 25]>,
}

impl JointLayout {
    pub fn num_joints(&self) -> usize {
        self.joints.len()
    }

    pub fn joint_index(&self, name: &str) -> Option<usize> {
        self.joints
            .iter()
            .position(|j| j.eq_ignore_ascii_case(name))
    }

    /// The subject's side a joint belongs to (every layout names its joints "left …" / "right …").
    pub fn side(&self, joint: usize) -> Side {
        match self.joints.get(joint) {
            Some(name) if name.starts_with("left") => Side::Left,
            Some(name) if name.starts_with("right") => Side::Right,
            _ => Side::Centre,
        }
    }

    /// The hands and feet (left hand, right hand, left foot, right foot), the joints whose paths show an action.
    pub fn extremities(&self) -> impl Iterator<Item = usize> + '_ {
        ["left hand", "right hand", "left foot", "right foot"]
            .into_iter()
            .filter_map(|name| self.joint_index(name))
    }

    /// The bottom and top of the spine (hip centre or spine base, and shoulder centre or spine shoulder).
    pub fn spine_ends(&self) -> Option<(usize, usize)> {
        let find = |names: [&str; 2]| names.into_iter().find_map(|n| self.joint_index(n));
        Some((
            find(["spine base", "hip center"])?,
            find(["spine shoulder", "shoulder center"])?,
        ))
    }

    /// The feet and ankles, which stand on the floor.
    pub fn feet(&self) -> impl Iterator<Item = usize> + '_ {
        ["left foot", "right foot", "left ankle", "right ankle"]
            .into_iter()
            .filter_map(|name| self.joint_index(name))
    }
}

/// The side of the body a joint is on, from the subject's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
    /// Head, neck and spine.
    Centre,
}

pub static NTU25: JointLayout = JointLayout {
    id: LayoutId::Ntu25,
    name: "NTU RGB+D / Kinect v2 (25 joints)",
    joints: &[
        "spine base",
        "spine middle",
        "neck",
        "head",
        "left shoulder",
        "left elbow",
        "left wrist",
        "left hand",
        "right shoulder",
        "right elbow",
        "right wrist",
        "right hand",
        "left hip",
        "left knee",
        "left ankle",
        "left foot",
        "right hip",
        "right knee",
        "right ankle",
        "right foot",
        "spine shoulder",
        "left hand tip",
        "left thumb",
        "right hand tip",
        "right thumb",
    ],
    // ST-GCN's NTU graph, 0-based (1-based in the reference: (1,2),(2,21),...,(25,12)).
    bones: &[
        (0, 1),
        (1, 20),
        (2, 20),
        (3, 2),
        (4, 20),
        (5, 4),
        (6, 5),
        (7, 6),
        (8, 20),
        (9, 8),
        (10, 9),
        (11, 10),
        (12, 0),
        (13, 12),
        (14, 13),
        (15, 14),
        (16, 0),
        (17, 16),
        (18, 17),
        (19, 18),
        (21, 22),
        (22, 7),
        (23, 24),
        (24, 11),
    ],
    center: 1,
    shoulders: (4, 8),
    to_ntu25: None,
};

pub static KINECT_V1: JointLayout = JointLayout {
    id: LayoutId::KinectV1,
    name: "Kinect v1 SDK order (20 joints)",
    joints: &[
        "hip center",
        "spine",
        "shoulder center",
        "head",
        "left shoulder",
        "left elbow",
        "left wrist",
        "left hand",
        "right shoulder",
        "right elbow",
        "right wrist",
        "right hand",
        "left hip",
        "left knee",
        "left ankle",
        "left foot",
        "right hip",
        "right knee",
        "right ankle",
        "right foot",
    ],
    bones: &[
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 4),
        (6, 5),
        (7, 6),
        (8, 2),
        (9, 8),
        (10, 9),
        (11, 10),
        (12, 0),
        (13, 12),
        (14, 13),
        (15, 14),
        (16, 0),
        (17, 16),
        (18, 17),
        (19, 18),
    ],
    center: 1,
    shoulders: (4, 8),
    to_ntu25: Some(&[
        JointSource::Joint(0),
        JointSource::Joint(1),
        // The neck lies between the head and the shoulder centre.
        JointSource::Mid(3, 2),
        JointSource::Joint(3),
        JointSource::Joint(4),
        JointSource::Joint(5),
        JointSource::Joint(6),
        JointSource::Joint(7),
        JointSource::Joint(8),
        JointSource::Joint(9),
        JointSource::Joint(10),
        JointSource::Joint(11),
        JointSource::Joint(12),
        JointSource::Joint(13),
        JointSource::Joint(14),
        JointSource::Joint(15),
        JointSource::Joint(16),
        JointSource::Joint(17),
        JointSource::Joint(18),
        JointSource::Joint(19),
        JointSource::Joint(2),
        // Kinect v1 has no hand tips or thumbs: take them from the hand.
        JointSource::Joint(7),
        JointSource::Joint(7),
        JointSource::Joint(11),
        JointSource::Joint(11),
    ]),
};

pub static MSR20: JointLayout = JointLayout {
    id: LayoutId::Msr20,
    name: "MSR Action3D order (20 joints)",
    joints: &[
        "left shoulder",
        "right shoulder",
        "shoulder center",
        "spine",
        "left hip",
        "right hip",
        "hip center",
        "left elbow",
        "right elbow",
        "left wrist",
        "right wrist",
        "left hand",
        "right hand",
        "left knee",
        "right knee",
        "left ankle",
        "right ankle",
        "left foot",
        "right foot",
        "head",
    ],
    bones: &[
        (3, 6),
        (2, 3),
        (19, 2),
        (0, 2),
        (7, 0),
        (9, 7),
        (11, 9),
        (1, 2),
        (8, 1),
        (10, 8),
        (12, 10),
        (4, 6),
        (13, 4),
        (15, 13),
        (17, 15),
        (5, 6),
        (14, 5),
        (16, 14),
        (18, 16),
    ],
    center: 3,
    shoulders: (0, 1),
    to_ntu25: Some(&[
        JointSource::Joint(6),
        JointSource::Joint(3),
        JointSource::Mid(19, 2),
        JointSource::Joint(19),
        JointSource::Joint(0),
        JointSource::Joint(7),
        JointSource::Joint(9),
        JointSource::Joint(11),
        JointSource::Joint(1),
        JointSource::Joint(8),
        JointSource::Joint(10),
        JointSource::Joint(12),
        JointSource::Joint(4),
        JointSource::Joint(13),
        JointSource::Joint(15),
        JointSource::Joint(17),
        JointSource::Joint(5),
        JointSource::Joint(14),
        JointSource::Joint(16),
        JointSource::Joint(18),
        JointSource::Joint(2),
        JointSource::Joint(11),
        JointSource::Joint(11),
        JointSource::Joint(12),
        JointSource::Joint(12),
    ]),
};

/// Body-part groupings of the NTU25 joints used by STAR (2, 4 or 6 parts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartScheme {
    Two,
    Four,
    Six,
}

/// One body part: a name and its 0-based NTU25 joints.
#[derive(Debug)]
pub struct BodyPart {
    pub name: &'static str,
    pub joints: &'static [usize],
}

const HEAD: &[usize] = &[2, 3, 20];
const HAND: &[usize] = &[7, 11, 21, 22, 23, 24];
const ARM: &[usize] = &[4, 5, 6, 8, 9, 10];
const HIP: &[usize] = &[0, 1];
const LEG: &[usize] = &[12, 13, 16, 17];
const FOOT: &[usize] = &[14, 15, 18, 19];

static SIX_PARTS: [BodyPart; 6] = [
    BodyPart {
        name: "head",
        joints: HEAD,
    },
    BodyPart {
        name: "hand",
        joints: HAND,
    },
    BodyPart {
        name: "arm",
        joints: ARM,
    },
    BodyPart {
        name: "hip",
        joints: HIP,
    },
    BodyPart {
        name: "leg",
        joints: LEG,
    },
    BodyPart {
        name: "foot",
        joints: FOOT,
    },
];

static FOUR_PARTS: [BodyPart; 4] = [
    BodyPart {
        name: "head",
        joints: HEAD,
    },
    BodyPart {
        name: "hand-arm",
        joints: &[7, 11, 21, 22, 23, 24, 4, 5, 6, 8, 9, 10],
    },
    BodyPart {
        name: "hip",
        joints: HIP,
    },
    BodyPart {
        name: "leg-foot",
        joints: &[12, 13, 16, 17, 14, 15, 18, 19],
    },
];

static TWO_PARTS: [BodyPart; 2] = [
    BodyPart {
        name: "upper",
        joints: &[2, 3, 20, 7, 11, 21, 22, 23, 24, 4, 5, 6, 8, 9, 10],
    },
    BodyPart {
        name: "lower",
        joints: &[0, 1, 12, 13, 16, 17, 14, 15, 18, 19],
    },
];

impl PartScheme {
    pub fn parts(self) -> &'static [BodyPart] {
        match self {
            Self::Two => &TWO_PARTS,
            Self::Four => &FOUR_PARTS,
            Self::Six => &SIX_PARTS,
        }
    }

    pub fn from_count(n: usize) -> Option<Self> {
        match n {
            2 => Some(Self::Two),
            4 => Some(Self::Four),
            6 => Some(Self::Six),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_has_both_sides_and_four_extremities() {
        for layout in [&NTU25, &KINECT_V1, &MSR20] {
            let count = |side| {
                (0..layout.num_joints())
                    .filter(|&j| layout.side(j) == side)
                    .count()
            };
            assert_eq!(count(Side::Left), count(Side::Right), "{}", layout.name);
            assert!(count(Side::Left) >= 8, "{}", layout.name);
            assert_eq!(layout.side(layout.center), Side::Centre);
            assert_eq!(layout.extremities().count(), 4, "{}", layout.name);
            assert_eq!(layout.feet().count(), 4, "{}", layout.name);
            assert!(layout.spine_ends().is_some(), "{}", layout.name);
        }
        assert_eq!(NTU25.side(4), Side::Left);
        assert_eq!(MSR20.side(1), Side::Right);
    }

    #[test]
    fn bones_are_trees() {
        for layout in [&NTU25, &KINECT_V1, &MSR20] {
            let n = layout.num_joints();
            assert_eq!(layout.bones.len(), n - 1, "{}", layout.name);
            let mut child_seen = vec![false; n];
            for &(c, p) in layout.bones {
                assert!(c < n && p < n && c != p);
                assert!(!child_seen[c], "{} joint {c} has two parents", layout.name);
                child_seen[c] = true;
            }
        }
    }

    #[test]
    fn part_schemes_cover_every_ntu_joint_once() {
        for scheme in [PartScheme::Two, PartScheme::Four, PartScheme::Six] {
            let mut all: Vec<usize> = scheme
                .parts()
                .iter()
                .flat_map(|p| p.joints.iter().copied())
                .collect();
            all.sort_unstable();
            assert_eq!(all, (0..25).collect::<Vec<_>>(), "{scheme:?}");
        }
    }

    #[test]
    fn mappings_name_the_same_joints() {
        for layout in [&KINECT_V1, &MSR20] {
            let map = layout.to_ntu25.expect("mapping");
            for (ntu, src) in map.iter().enumerate() {
                if let JointSource::Joint(j) = *src {
                    let ntu_name = NTU25.joints[ntu];
                    let src_name = layout.joints[j];
                    // Names agree except where the mapping is documented as an approximation.
                    let approx = matches!(ntu, 0 | 1 | 20 | 21 | 22 | 23 | 24);
                    assert!(
                        approx || ntu_name == src_name,
                        "{ntu_name} <- {src_name} in {}",
                        layout.name
                    );
                }
            }
        }
    }
}
