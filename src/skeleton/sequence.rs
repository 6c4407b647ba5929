//! A skeleton sequence: frames x bodies x joints x xyz.

use super::layout::{JointLayout, JointSource, LayoutId, NTU25};

/// Most bodies a sequence holds (NTU and PKU-MMD keep two).
pub const MAX_BODIES: usize = 2;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SequenceError {
    #[error(
        "expected {expected} values for {frames} frames x {bodies} bodies x {joints} joints x 3, got {got}"
    )]
    Length {
        frames: usize,
        bodies: usize,
        joints: usize,
        expected: usize,
        got: usize,
    },
    #[error("expected {expected} joint confidences, got {got}")]
    ConfidenceLength { expected: usize, got: usize },
    #[error("confidence {value} at frame {frame}, body {body}, joint {joint} is not in 0..=1")]
    Confidence {
        frame: usize,
        body: usize,
        joint: usize,
        value: f32,
    },
    #[error("a sequence holds 1 to {MAX_BODIES} bodies, not {0}")]
    Bodies(usize),
    #[error("non-finite coordinate at frame {frame}, body {body}, joint {joint}")]
    NonFinite {
        frame: usize,
        body: usize,
        joint: usize,
    },
}

/// Joint coordinates of one sequence, row-major `[frame][body][joint][xyz]`, in the units of the source (metres for
/// Kinect). An absent body is all zeros, as in the NTU and PKU-MMD files.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    layout: LayoutId,
    frames: usize,
    bodies: usize,
    data: Vec<f32>,
    /// Per-joint tracking confidence in 0..=1, `[frame][body][joint]`, from the readers whose files carry one
    /// (MSR Action3D's fourth column, NTU's trackingState); `None` when the source has none (UTKinect, PKU-MMD,
    /// the NTU arrays, preprocessed tensors).
    confidence: Option<Vec<f32>>,
    /// Native frame rate, for playback.
    pub fps: f32,
}

/// Kinect v1 and v2 both record at 30 frames per second.
pub const KINECT_FPS: f32 = 30.0;

impl Sequence {
    /// Wraps `data` (`frames * bodies * joints * 3` values); rejects wrong lengths and NaN/inf.
    pub fn new(
        layout: LayoutId,
        frames: usize,
        bodies: usize,
        data: Vec<f32>,
    ) -> Result<Self, SequenceError> {
        if bodies == 0 || bodies > MAX_BODIES {
            return Err(SequenceError::Bodies(bodies));
        }
        let joints = layout.num_joints();
        let expected = frames * bodies * joints * 3;
        if data.len() != expected {
            return Err(SequenceError::Length {
                frames,
                bodies,
                joints,
                expected,
                got: data.len(),
            });
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            let per_frame = bodies * joints * 3;
            return Err(SequenceError::NonFinite {
                frame: i / per_frame,
                body: (i % per_frame) / (joints * 3),
                joint: (i % (joints * 3)) / 3,
            });
        }
        Ok(Self {
            layout,
            frames,
            bodies,
            data,
            confidence: None,
            fps: KINECT_FPS,
        })
    }

    /// Attaches per-joint confidences (`frames * bodies * joints` values, `[frame][body][joint]`, each in 0..=1).
    pub fn with_confidence(mut self, confidence: Vec<f32>) -> Result<Self, SequenceError> {
        let expected = self.frames * self.bodies * self.joints();
        if confidence.len() != expected {
            return Err(SequenceError::ConfidenceLength {
                expected,
                got: confidence.len(),
            });
        }
        if let Some(i) = confidence
            .iter()
            .position(|c| !c.is_finite() || !(0.0..=1.0).contains(c))
        {
            return Err(SequenceError::Confidence {
                frame: i / (self.bodies * self.joints()),
                body: (i / self.joints()) % self.bodies,
                joint: i % self.joints(),
                value: confidence[i],
            });
        }
        self.confidence = Some(confidence);
        Ok(self)
    }

    /// The tracking confidence of one joint (1 tracked, 0 not tracked), or `None` when the source has none.
    pub fn confidence(&self, frame: usize, body: usize, joint: usize) -> Option<f32> {
        let c = self.confidence.as_ref()?;
        c.get((frame * self.bodies + body) * self.joints() + joint)
            .copied()
    }

    /// Whether the source recorded per-joint confidences.
    pub fn has_confidence(&self) -> bool {
        self.confidence.is_some()
    }

    pub fn zeros(layout: LayoutId, frames: usize, bodies: usize) -> Result<Self, SequenceError> {
        Self::new(
            layout,
            frames,
            bodies,
            vec![0.0; frames * bodies * layout.num_joints() * 3],
        )
    }

    pub fn layout_id(&self) -> LayoutId {
        self.layout
    }

    pub fn layout(&self) -> &'static JointLayout {
        self.layout.layout()
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn bodies(&self) -> usize {
        self.bodies
    }

    pub fn joints(&self) -> usize {
        self.layout.num_joints()
    }

    /// All coordinates, `[frame][body][joint][xyz]`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    fn offset(&self, frame: usize, body: usize, joint: usize) -> usize {
        ((frame * self.bodies + body) * self.joints() + joint) * 3
    }

    pub fn joint(&self, frame: usize, body: usize, joint: usize) -> [f32; 3] {
        let o = self.offset(frame, body, joint);
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }

    pub fn set_joint(&mut self, frame: usize, body: usize, joint: usize, xyz: [f32; 3]) {
        let o = self.offset(frame, body, joint);
        self.data[o..o + 3].copy_from_slice(&xyz);
    }

    /// The joints of one body in one frame, `[joint][xyz]` flattened.
    pub fn body_frame(&self, frame: usize, body: usize) -> &[f32] {
        let o = self.offset(frame, body, 0);
        &self.data[o..o + self.joints() * 3]
    }

    /// A body is present in a frame when any of its coordinates is non-zero.
    pub fn body_present(&self, frame: usize, body: usize) -> bool {
        self.body_frame(frame, body).iter().any(|&v| v != 0.0)
    }

    /// A frame is empty when no body is present in it.
    pub fn frame_empty(&self, frame: usize) -> bool {
        (0..self.bodies).all(|b| !self.body_present(frame, b))
    }

    /// Frames `start..end` (clamped to the sequence) as a new sequence.
    pub fn slice_frames(&self, start: usize, end: usize) -> Self {
        let end = end.min(self.frames);
        let start = start.min(end);
        let per_frame = self.bodies * self.joints() * 3;
        let per_conf = self.bodies * self.joints();
        Self {
            layout: self.layout,
            frames: end - start,
            bodies: self.bodies,
            data: self.data[start * per_frame..end * per_frame].to_vec(),
            confidence: self
                .confidence
                .as_ref()
                .map(|c| c[start * per_conf..end * per_conf].to_vec()),
            fps: self.fps,
        }
    }

    /// The same motion on the NTU 25-joint layout (joints missing from the source layout are derived from their
    /// neighbours, see [`JointLayout::to_ntu25`]).
    pub fn ntu25_from_self(&self) -> Self {
        let Some(map) = self.layout().to_ntu25 else {
            return self.clone();
        };
        let src_joints = self.joints();
        let mut data = Vec::with_capacity(self.frames * self.bodies * 25 * 3);
        for chunk in self.data.chunks_exact(src_joints * 3) {
            for source in map {
                let xyz = match *source {
                    JointSource::Joint(j) => [chunk[3 * j], chunk[3 * j + 1], chunk[3 * j + 2]],
                    JointSource::Mid(a, b) => {
                        std::array::from_fn(|k| 0.5 * (chunk[3 * a + k] + chunk[3 * b + k]))
                    }
                };
                data.extend_from_slice(&xyz);
            }
        }
        // A derived joint is as trustworthy as the weaker of its sources.
        let confidence = self.confidence.as_ref().map(|c| {
            c.chunks_exact(src_joints)
                .flat_map(|body| {
                    map.iter().map(|source| match *source {
                        JointSource::Joint(j) => body[j],
                        JointSource::Mid(a, b) => body[a].min(body[b]),
                    })
                })
                .collect()
        });
        Self {
            layout: NTU25.id,
            frames: self.frames,
            bodies: self.bodies,
            data,
            confidence,
            fps: self.fps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_length_and_nan() {
        assert!(matches!(
            Sequence::new(LayoutId::Ntu25, 2, 1, vec![0.0; 10]),
            Err(SequenceError::Length { expected: 150, .. })
        ));
        let mut data = vec![0.0; 2 * 25 * 3];
        data[75 + 3 * 4 + 1] = f32::NAN;
        assert_eq!(
            Sequence::new(LayoutId::Ntu25, 2, 1, data),
            Err(SequenceError::NonFinite {
                frame: 1,
                body: 0,
                joint: 4
            })
        );
        assert_eq!(
            Sequence::zeros(LayoutId::Ntu25, 1, 3),
            Err(SequenceError::Bodies(3))
        );
    }

    #[test]
    fn msr_maps_onto_ntu() {
        let mut seq = Sequence::zeros(LayoutId::Msr20, 1, 1).unwrap();
        seq.set_joint(0, 0, 19, [0.0, 2.0, 0.0]); // head
        seq.set_joint(0, 0, 2, [0.0, 1.0, 0.0]); // shoulder centre
        seq.set_joint(0, 0, 11, [5.0, 0.0, 0.0]); // left hand
        let ntu = seq.ntu25_from_self();
        assert_eq!(ntu.joints(), 25);
        assert_eq!(ntu.joint(0, 0, 3), [0.0, 2.0, 0.0]);
        assert_eq!(ntu.joint(0, 0, 2), [0.0, 1.5, 0.0]);
        assert_eq!(ntu.joint(0, 0, 20), [0.0, 1.0, 0.0]);
        for tip in [7, 21, 22] {
            assert_eq!(ntu.joint(0, 0, tip), [5.0, 0.0, 0.0]);
        }
        assert!(!ntu.has_confidence());
    }

    #[test]
    fn confidence_is_checked_sliced_and_mapped() {
        let seq = Sequence::zeros(LayoutId::Msr20, 2, 1).unwrap();
        assert_eq!(
            seq.clone().with_confidence(vec![1.0; 3]),
            Err(SequenceError::ConfidenceLength {
                expected: 40,
                got: 3
            })
        );
        let mut bad = vec![1.0; 40];
        bad[20 + 7] = 2.0;
        assert_eq!(
            seq.clone().with_confidence(bad),
            Err(SequenceError::Confidence {
                frame: 1,
                body: 0,
                joint: 7,
                value: 2.0
            })
        );
        let mut conf = vec![1.0; 40];
        conf[20 + 2] = 0.0; // shoulder centre of frame 1 not tracked
        let seq = seq.with_confidence(conf).unwrap();
        assert_eq!(seq.confidence(1, 0, 2), Some(0.0));
        assert_eq!(seq.confidence(0, 0, 2), Some(1.0));
        let tail = seq.slice_frames(1, 2);
        assert_eq!(tail.confidence(0, 0, 2), Some(0.0));
        // NTU's neck is the mid of MSR's shoulder centre and head: the weaker source decides.
        let ntu = seq.ntu25_from_self();
        assert_eq!(ntu.confidence(1, 0, 2), Some(0.0));
        assert_eq!(ntu.confidence(1, 0, 3), Some(1.0));
        assert_eq!(ntu.confidence(0, 0, 2), Some(1.0));
    }
}
