//! Preprocessing of the SMIE / AimCLR lineage: sequences in any layout become fixed-size `(3, 50, 25, 2)` tensors.
//!
//! The reference is AimCLR's `feeder/NTUDatasets.py::NTUMotionProcessor` with `data_type='relative'`,
//! `sampling='resize'`, `y_rotation=True`, `t_length=50` (SMIE's README: "the same dataset processing as AimCLR";
//! AimCLR's `feeder/preprocess_{ntu,pku}.py` write the `*_frame50` arrays SMIE and InfoCPL train on). Its steps, in
//! order, which [`PreprocessConfig::default`] reproduces:
//!
//! 1. the raw arrays hold at most 300 frames (`max_frame = 300` in `tools/ntu_gendata.py`);
//! 2. every frame, each body is centred on **its own joint 20** (0-based; "spine shoulder"; the reference's
//!    `center = 21`, 1-based), not on the spine-middle joint 1 that 2s-AGCN's `pre_normalization` subtracts;
//! 3. the valid frames are resized to 50 with `cv2.resize(INTER_LINEAR)`: linear interpolation on half-pixel
//!    centres (`src = (dst + 0.5) * L / 50 - 0.5`, clamped), so when downsampling the end frames are blends;
//! 4. each frame of each body is rotated about the vertical y axis so that the shoulder vector (joint 8 minus
//!    joint 4, y dropped) points along +x. The reference picks the rotation's sign once per body from the sum of the
//!    shoulder vectors' z over all frames, and divides by `norm + 1e-4`; both quirks are kept for parity. It does
//!    **not** align the spine with z (2s-AGCN / CTR-GCN `pre_normalization` does; [`Rotation::FirstFrameY`] is the
//!    nearest sequence-level alternative here, and keeps a body's turning visible).
//!
//! Differences from the reference, on purpose: any layout is first mapped onto NTU25
//! ([`Sequence::ntu25_from_self`]); frames with no body at all are dropped wherever they are (the reference keeps the
//! first `length` frames, where `length` counts frames with body 0 present, which misplaces interior gaps).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::sequence::{MAX_BODIES, Sequence};

/// Joints per body in the output tensors (NTU25).
pub const NUM_JOINTS: usize = 25;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PreprocessError {
    #[error(
        "the sequence has no non-empty frame (every joint of every body is zero in all {frames} frames)"
    )]
    NoValidFrames { frames: usize },
    #[error("centre joint {0} does not exist in the 25-joint layout")]
    CenterJoint(usize),
    #[error("the output frame count must be at least 1")]
    ZeroFrames,
    #[error("bodies per sample must be 1 or {MAX_BODIES}, not {0}")]
    Bodies(usize),
    #[error("the sequence has {frames} frames, not the {want} of a preprocessed sample")]
    NotPreprocessed { frames: usize, want: usize },
    #[error("sample {index}: {source}")]
    Sample {
        index: usize,
        #[source]
        source: Box<PreprocessError>,
    },
}

/// Where each frame's coordinates are measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Centering {
    /// Keep camera coordinates.
    None,
    /// Subtract each body's own centre joint in every frame (AimCLR).
    PerFrame,
    /// Subtract body 0's centre joint of the first valid frame from everything (2s-AGCN), keeping translation.
    FirstFrame,
}

/// How the valid frames become the output frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resampling {
    /// Linear interpolation on half-pixel centres, as `cv2.resize(INTER_LINEAR)` and
    /// `F.interpolate(align_corners=False)` (AimCLR, CTR-GCN `valid_crop_resize`).
    HalfPixel,
    /// Linear interpolation that maps the first and last valid frames onto the first and last output frames.
    AlignCorners,
    /// Keep the first frames and pad with zeros (the raw 300-frame arrays).
    PadOrCrop,
}

/// How bodies are turned to face the camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    None,
    /// Rotate every frame of every body about y so its shoulders lie along x (AimCLR `parallel_skeleton`).
    PerFrameY,
    /// One rotation about y for the whole sequence, from body 0's shoulders in the first frame.
    FirstFrameY,
}

/// Each preprocessing step; the default reproduces the AimCLR `*_frame50` arrays (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreprocessConfig {
    /// Drop frames in which no body is present.
    pub drop_empty_frames: bool,
    /// Keep at most this many valid frames (the first ones), before resampling.
    pub max_input_frames: Option<usize>,
    /// 0-based NTU25 joint to centre on (20 = spine shoulder in AimCLR, 1 = spine middle in 2s-AGCN).
    pub center_joint: usize,
    pub centering: Centering,
    /// Output frames per sample.
    pub frames: usize,
    pub resampling: Resampling,
    pub rotation: Rotation,
    /// Left and right shoulder joints used by the rotation.
    pub shoulders: (usize, usize),
    /// Added to the shoulder vector's length in [`Rotation::PerFrameY`] (the reference's `1e-4`). It leaves about
    /// 0.02 rad of rotation for a 0.4 m shoulder width; 0 aligns exactly.
    pub shoulder_epsilon: f64,
    /// Bodies per output sample: 2 (the reference), or 1 for single-actor datasets (MSR Action3D, UTKinect), where
    /// a second, all-zero body only skews the input batch norm and doubles the encoder's work.
    pub bodies: usize,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            drop_empty_frames: true,
            max_input_frames: Some(300),
            center_joint: 20,
            centering: Centering::PerFrame,
            frames: 50,
            resampling: Resampling::HalfPixel,
            rotation: Rotation::PerFrameY,
            shoulders: (4, 8),
            shoulder_epsilon: 1e-4,
            bodies: MAX_BODIES,
        }
    }
}

impl PreprocessConfig {
    /// Values in one output sample: `3 * frames * 25 * bodies`.
    pub fn sample_len(&self) -> usize {
        3 * self.frames * NUM_JOINTS * self.bodies
    }

    /// The shape of one output sample, `(C, T, V, M)`.
    pub fn sample_shape(&self) -> [usize; 4] {
        [3, self.frames, NUM_JOINTS, self.bodies]
    }

    /// Whether `bodies` is a possible body count per sample (1 or 2): for options and config files too.
    pub fn check_bodies(bodies: usize) -> Result<(), PreprocessError> {
        if (1..=MAX_BODIES).contains(&bodies) {
            Ok(())
        } else {
            Err(PreprocessError::Bodies(bodies))
        }
    }

    fn validate(&self) -> Result<(), PreprocessError> {
        if self.frames == 0 {
            return Err(PreprocessError::ZeroFrames);
        }
        Self::check_bodies(self.bodies)?;
        for j in [self.center_joint, self.shoulders.0, self.shoulders.1] {
            if j >= NUM_JOINTS {
                return Err(PreprocessError::CenterJoint(j));
            }
        }
        Ok(())
    }
}

/// Runs every configured step and returns the result as a sequence (NTU25, two bodies, `cfg.frames` frames), e.g.
/// to play the normalised motion back. `seq` itself is left untouched.
pub fn preprocessed_from_sequence(
    seq: &Sequence,
    cfg: &PreprocessConfig,
) -> Result<Sequence, PreprocessError> {
    cfg.validate()?;
    let ntu = seq.ntu25_from_self();
    let mut frames = frames_from_sequence(&ntu, cfg.drop_empty_frames);
    if frames.is_empty() || frames.iter().all(frame_is_empty) {
        return Err(PreprocessError::NoValidFrames {
            frames: seq.frames(),
        });
    }
    if let Some(max) = cfg.max_input_frames {
        frames.truncate(max.max(1));
    }
    center(&mut frames, cfg.centering, cfg.center_joint);
    let mut frames = resample(&frames, cfg.frames, cfg.resampling);
    rotate(
        &mut frames,
        cfg.rotation,
        cfg.shoulders,
        cfg.shoulder_epsilon,
    );
    let data: Vec<f32> = frames
        .iter()
        .flat_map(|f| f.iter().flat_map(|b| b.iter().flatten().copied()))
        .collect();
    let mut out = Sequence::new(ntu.layout_id(), cfg.frames, MAX_BODIES, data)
        .map_err(|_| PreprocessError::NoValidFrames { frames: 0 })?;
    out.fps = seq.fps * cfg.frames as f32 / seq.frames().max(1) as f32;
    Ok(out)
}

/// One sample as the PyTorch feeders hold it: `(C=3, T, V=25, M)` row-major, `M = cfg.bodies` (the first bodies).
///
/// # Shapes
/// - returns `3 * cfg.frames * 25 * cfg.bodies` values.
pub fn tensor_from_sequence(
    seq: &Sequence,
    cfg: &PreprocessConfig,
) -> Result<Vec<f32>, PreprocessError> {
    let pre = preprocessed_from_sequence(seq, cfg)?;
    Ok(ctvm_of_bodies(&pre, cfg.bodies))
}

/// A batch `(N, 3, T, 25, M)` from `N` sequences, processed in parallel; the output order is the input order. Each
/// sample is written straight into the one output buffer, so the batch is never held twice.
///
/// # Shapes
/// - returns `N * 3 * cfg.frames * 25 * cfg.bodies` values.
pub fn batch_from_sequences<'a, I>(
    seqs: I,
    cfg: &PreprocessConfig,
) -> Result<Vec<f32>, PreprocessError>
where
    I: IntoParallelIterator<Item = &'a Sequence>,
    I::Iter: IndexedParallelIterator,
{
    fill_batch(seqs, cfg.sample_len(), |seq| {
        preprocessed_from_sequence(seq, cfg).map(|pre| ctvm_of_bodies(&pre, cfg.bodies))
    })
}

/// [`batch_from_sequences`] for sequences already run through [`preprocessed_from_sequence`] with `cfg` (e.g. by a
/// streaming reader): only the layout step is left, and the result is the same, value for value.
///
/// # Shapes
/// - returns `N * 3 * cfg.frames * 25 * cfg.bodies` values.
pub fn batch_from_preprocessed<'a, I>(
    seqs: I,
    cfg: &PreprocessConfig,
) -> Result<Vec<f32>, PreprocessError>
where
    I: IntoParallelIterator<Item = &'a Sequence>,
    I::Iter: IndexedParallelIterator,
{
    cfg.validate()?;
    fill_batch(seqs, cfg.sample_len(), |seq| {
        if seq.frames() == cfg.frames && seq.joints() == NUM_JOINTS {
            Ok(ctvm_of_bodies(seq, cfg.bodies))
        } else {
            Err(PreprocessError::NotPreprocessed {
                frames: seq.frames(),
                want: cfg.frames,
            })
        }
    })
}

fn fill_batch<'a, I>(
    seqs: I,
    per: usize,
    sample: impl Fn(&Sequence) -> Result<Vec<f32>, PreprocessError> + Sync,
) -> Result<Vec<f32>, PreprocessError>
where
    I: IntoParallelIterator<Item = &'a Sequence>,
    I::Iter: IndexedParallelIterator,
{
    let seqs = seqs.into_par_iter();
    let mut out = vec![0.0f32; seqs.len() * per];
    out.par_chunks_mut(per)
        .zip(seqs)
        .enumerate()
        .try_for_each(|(index, (dst, seq))| {
            let wrap = |e| PreprocessError::Sample {
                index,
                source: Box::new(e),
            };
            let values = sample(seq).map_err(wrap)?;
            dst.copy_from_slice(&values);
            Ok(())
        })?;
    Ok(out)
}

/// A sequence with `[frame][body][joint][xyz]` data as `(C, T, V, M)`; joints beyond 25 or bodies beyond 2 are not
/// expected (callers pass preprocessed NTU25 sequences), missing bodies are zero.
///
/// # Shapes
/// - returns `3 * frames * joints * 2` values.
pub fn ctvm_from_sequence(seq: &Sequence) -> Vec<f32> {
    ctvm_of_bodies(seq, MAX_BODIES)
}

/// [`ctvm_from_sequence`] with `m_len` bodies (the first ones).
fn ctvm_of_bodies(seq: &Sequence, m_len: usize) -> Vec<f32> {
    let (t_len, v_len) = (seq.frames(), seq.joints());
    let mut out = vec![0.0; 3 * t_len * v_len * m_len];
    for t in 0..t_len {
        for m in 0..seq.bodies().min(m_len) {
            for v in 0..v_len {
                let xyz = seq.joint(t, m, v);
                for (c, value) in xyz.into_iter().enumerate() {
                    out[((c * t_len + t) * v_len + v) * m_len + m] = value;
                }
            }
        }
    }
    out
}

/// `[body][joint] -> xyz` for one frame, always two bodies (a missing body is zeros).
type Frame = [[[f32; 3]; NUM_JOINTS]; MAX_BODIES];

fn body_is_empty(body: &[[f32; 3]; NUM_JOINTS]) -> bool {
    body.iter().flatten().all(|&v| v == 0.0)
}

fn frame_is_empty(frame: &Frame) -> bool {
    frame.iter().all(body_is_empty)
}

fn frames_from_sequence(seq: &Sequence, drop_empty: bool) -> Vec<Frame> {
    (0..seq.frames())
        .filter(|&t| !drop_empty || !seq.frame_empty(t))
        .map(|t| {
            let mut frame = [[[0.0; 3]; NUM_JOINTS]; MAX_BODIES];
            for (b, body) in frame.iter_mut().enumerate().take(seq.bodies()) {
                for (v, joint) in body.iter_mut().enumerate() {
                    *joint = seq.joint(t, b, v);
                }
            }
            frame
        })
        .collect()
}

fn center(frames: &mut [Frame], mode: Centering, joint: usize) {
    match mode {
        Centering::None => {}
        Centering::PerFrame => {
            for body in frames.iter_mut().flatten() {
                // An absent body stays all zeros (the reference subtracts 0 from 0).
                if !body_is_empty(body) {
                    let c = body[joint];
                    for p in body.iter_mut() {
                        *p = std::array::from_fn(|k| p[k] - c[k]);
                    }
                }
            }
        }
        Centering::FirstFrame => {
            let Some(c) = frames
                .iter()
                .find(|f| !body_is_empty(&f[0]))
                .map(|f| f[0][joint])
            else {
                return;
            };
            for body in frames.iter_mut().flatten() {
                if !body_is_empty(body) {
                    for p in body.iter_mut() {
                        *p = std::array::from_fn(|k| p[k] - c[k]);
                    }
                }
            }
        }
    }
}

fn lerp_frames(a: &Frame, b: &Frame, w: f32) -> Frame {
    let mut out = *a;
    for (ob, bb) in out.iter_mut().zip(b) {
        for (oj, bj) in ob.iter_mut().zip(bb) {
            for (o, &bv) in oj.iter_mut().zip(bj) {
                *o += w * (bv - *o);
            }
        }
    }
    out
}

fn resample(frames: &[Frame], target: usize, mode: Resampling) -> Vec<Frame> {
    let len = frames.len();
    let zero = [[[0.0; 3]; NUM_JOINTS]; MAX_BODIES];
    (0..target)
        .map(|dst| {
            let src = match mode {
                Resampling::PadOrCrop => return frames.get(dst).copied().unwrap_or(zero),
                Resampling::HalfPixel => {
                    ((dst as f64 + 0.5) * len as f64 / target as f64 - 0.5).max(0.0)
                }
                Resampling::AlignCorners if target > 1 => {
                    dst as f64 * (len - 1) as f64 / (target - 1) as f64
                }
                Resampling::AlignCorners => 0.0,
            };
            let i0 = (src.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            let w = (src - i0 as f64) as f32;
            if i0 == i1 || w == 0.0 {
                frames[i0]
            } else {
                lerp_frames(&frames[i0], &frames[i1], w)
            }
        })
        .collect()
}

/// Rotation about y by `theta` as in AimCLR's `_y_transmat`: `x' = c x - s z`, `z' = s x + c z`.
fn rotate_y(p: [f32; 3], theta: f64) -> [f32; 3] {
    let (s, c) = theta.sin_cos();
    let (x, z) = (f64::from(p[0]), f64::from(p[2]));
    [(c * x - s * z) as f32, p[1], (s * x + c * z) as f32]
}

/// The reference's angle for one shoulder vector (y dropped): `acos(x / (|v| + eps))`, negated when `flip`.
fn shoulder_angle(v: [f32; 3], flip: bool, eps: f64) -> f64 {
    let (x, z) = (f64::from(v[0]), f64::from(v[2]));
    let denominator = (x * x + z * z).sqrt() + eps;
    if denominator == 0.0 {
        return 0.0;
    }
    let theta = (x / denominator).clamp(-1.0, 1.0).acos();
    if flip { -theta } else { theta }
}

fn shoulder_vector(body: &[[f32; 3]; NUM_JOINTS], (left, right): (usize, usize)) -> [f32; 3] {
    std::array::from_fn(|k| body[right][k] - body[left][k])
}

fn rotate(frames: &mut [Frame], mode: Rotation, shoulders: (usize, usize), eps: f64) {
    match mode {
        Rotation::None => {}
        Rotation::PerFrameY => {
            for b in 0..MAX_BODIES {
                // One sign per body, from the summed z of its shoulder vectors (the reference's `isv`).
                let z_sum: f64 = frames
                    .iter()
                    .map(|f| f64::from(shoulder_vector(&f[b], shoulders)[2]))
                    .sum();
                let flip = z_sum >= 0.0;
                for frame in frames.iter_mut() {
                    let body = &mut frame[b];
                    let theta = shoulder_angle(shoulder_vector(body, shoulders), flip, eps);
                    for p in body.iter_mut() {
                        *p = rotate_y(*p, theta);
                    }
                }
            }
        }
        Rotation::FirstFrameY => {
            let Some(v) = frames
                .iter()
                .find(|f| !body_is_empty(&f[0]))
                .map(|f| shoulder_vector(&f[0], shoulders))
            else {
                return;
            };
            let theta = shoulder_angle(v, v[2] >= 0.0, 0.0);
            for p in frames.iter_mut().flatten().flatten() {
                *p = rotate_y(*p, theta);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::LayoutId;

    /// A standing body: shoulders along x, spine along y, offset from the origin, moving a little per frame.
    fn body_sequence(frames: usize) -> Sequence {
        let mut seq = Sequence::zeros(LayoutId::Ntu25, frames, 1).unwrap();
        for t in 0..frames {
            let dx = t as f32 * 0.1;
            for v in 0..25 {
                seq.set_joint(
                    t,
                    0,
                    v,
                    [1.0 + dx + 0.01 * v as f32, 0.5 + 0.02 * v as f32, 3.0],
                );
            }
            seq.set_joint(t, 0, 4, [0.8 + dx, 1.4, 3.0]);
            seq.set_joint(t, 0, 8, [1.2 + dx, 1.4, 3.0]);
            seq.set_joint(t, 0, 20, [1.0 + dx, 1.4, 3.0]);
        }
        seq
    }

    fn rotated(seq: &Sequence, theta: f64) -> Sequence {
        let mut out = seq.clone();
        for t in 0..seq.frames() {
            for v in 0..25 {
                out.set_joint(t, 0, v, rotate_y(seq.joint(t, 0, v), theta));
            }
        }
        out
    }

    #[test]
    fn per_frame_centring_puts_the_centre_joint_at_the_origin() {
        let seq = body_sequence(10);
        let cfg = PreprocessConfig {
            rotation: Rotation::None,
            ..Default::default()
        };
        let out = preprocessed_from_sequence(&seq, &cfg).unwrap();
        for t in 0..out.frames() {
            assert_eq!(out.joint(t, 0, 20), [0.0; 3]);
            // The absent second body stays zero.
            assert!(!out.body_present(t, 1));
        }
        // Other joints keep their offsets from the centre.
        let expected = [0.8 - 1.0, 0.0, 0.0];
        let got = out.joint(0, 0, 4);
        for k in 0..3 {
            assert!((got[k] - expected[k]).abs() < 1e-5, "{got:?}");
        }
    }

    #[test]
    fn a_known_rotation_is_undone() {
        let seq = body_sequence(30);
        let cfg = PreprocessConfig {
            rotation: Rotation::None,
            ..Default::default()
        };
        let plain = preprocessed_from_sequence(&seq, &cfg).unwrap();
        for theta in [0.7_f64, -1.2, 2.5] {
            let turned = rotated(&seq, theta);
            for rotation in [Rotation::PerFrameY, Rotation::FirstFrameY] {
                let cfg = PreprocessConfig {
                    rotation,
                    shoulder_epsilon: 0.0,
                    ..Default::default()
                };
                let out = preprocessed_from_sequence(&turned, &cfg).unwrap();
                for (a, b) in out.data().iter().zip(plain.data()) {
                    assert!((a - b).abs() < 1e-3, "{theta} {rotation:?}: {a} vs {b}");
                }
                // Shoulders parallel to x: equal z, right shoulder at larger x.
                let (l, r) = (out.joint(5, 0, 4), out.joint(5, 0, 8));
                assert!((l[2] - r[2]).abs() < 1e-3 && r[0] > l[0]);
            }
        }
    }

    #[test]
    fn half_pixel_resampling_matches_cv2_linear_resize() {
        let seq = body_sequence(100);
        let cfg = PreprocessConfig {
            centering: Centering::None,
            rotation: Rotation::None,
            ..Default::default()
        };
        let out = preprocessed_from_sequence(&seq, &cfg).unwrap();
        assert_eq!(out.frames(), 50);
        // 100 -> 50: output frame i is the mean of input frames 2i and 2i+1.
        for i in [0, 17, 49] {
            let want = 0.5 * (seq.joint(2 * i, 0, 3)[0] + seq.joint(2 * i + 1, 0, 3)[0]);
            assert!((out.joint(i, 0, 3)[0] - want).abs() < 1e-5);
        }
    }

    #[test]
    fn align_corners_resampling_keeps_end_frames_and_is_linear() {
        for len in [7, 50, 123] {
            let seq = body_sequence(len);
            let cfg = PreprocessConfig {
                centering: Centering::None,
                rotation: Rotation::None,
                resampling: Resampling::AlignCorners,
                ..Default::default()
            };
            let out = preprocessed_from_sequence(&seq, &cfg).unwrap();
            assert_eq!(out.body_frame(0, 0), seq.body_frame(0, 0));
            let last = out.body_frame(49, 0);
            for (a, b) in last.iter().zip(seq.body_frame(len - 1, 0)) {
                assert!((a - b).abs() < 1e-5);
            }
            // x of every joint moves 0.1 per input frame, so it moves 0.1 * (len-1)/49 per output frame.
            let step = 0.1 * (len - 1) as f32 / 49.0;
            for t in 1..50 {
                let d = out.joint(t, 0, 3)[0] - out.joint(t - 1, 0, 3)[0];
                assert!((d - step).abs() < 1e-4, "len {len} t {t}: {d} vs {step}");
            }
        }
    }

    #[test]
    fn empty_frames_are_dropped() {
        let mut seq = body_sequence(6);
        // Frames 0, 2 and 5 hold no body.
        for t in [0, 2, 5] {
            for v in 0..25 {
                seq.set_joint(t, 0, v, [0.0; 3]);
            }
        }
        let cfg = PreprocessConfig {
            centering: Centering::None,
            rotation: Rotation::None,
            resampling: Resampling::PadOrCrop,
            frames: 4,
            ..Default::default()
        };
        let out = preprocessed_from_sequence(&seq, &cfg).unwrap();
        assert_eq!(out.body_frame(0, 0), seq.body_frame(1, 0));
        assert_eq!(out.body_frame(1, 0), seq.body_frame(3, 0));
        assert_eq!(out.body_frame(2, 0), seq.body_frame(4, 0));
        assert!(out.frame_empty(3));
        // The raw sequence is untouched.
        assert!(seq.frame_empty(0) && !seq.frame_empty(1));
    }

    #[test]
    fn only_empty_frames_is_a_clear_error() {
        let seq = Sequence::zeros(LayoutId::Msr20, 12, 2).unwrap();
        let err = tensor_from_sequence(&seq, &PreprocessConfig::default()).unwrap_err();
        assert_eq!(err, PreprocessError::NoValidFrames { frames: 12 });
        assert!(err.to_string().contains("no non-empty frame"));
        let batch =
            batch_from_sequences(vec![&body_sequence(3), &seq], &PreprocessConfig::default());
        assert!(batch.unwrap_err().to_string().starts_with("sample 1:"));
    }

    #[test]
    fn batch_layout_is_n_c_t_v_m() {
        let a = body_sequence(20);
        let b = rotated(&body_sequence(40), 0.3);
        let cfg = PreprocessConfig::default();
        let batch = batch_from_sequences(vec![&a, &b], &cfg).unwrap();
        assert_eq!(batch.len(), 2 * 3 * 50 * 25 * 2);
        let one = preprocessed_from_sequence(&b, &cfg).unwrap();
        // (n=1, c=1, t=7, v=4, m=0)
        let idx = (((3 + 1) * 50 + 7) * 25 + 4) * 2;
        assert_eq!(batch[idx], one.joint(7, 0, 4)[1]);
        assert_eq!(
            &batch[cfg.sample_len()..],
            tensor_from_sequence(&b, &cfg).unwrap()
        );
    }

    #[test]
    fn one_body_samples_keep_the_first_body() {
        let two = PreprocessConfig::default();
        let one = PreprocessConfig {
            bodies: 1,
            ..Default::default()
        };
        let seq = rotated(&body_sequence(30), 0.2);
        let full = tensor_from_sequence(&seq, &two).unwrap();
        let single = tensor_from_sequence(&seq, &one).unwrap();
        assert_eq!(single.len(), one.sample_len());
        assert_eq!(2 * single.len(), full.len());
        // Bodies are the innermost axis: the single-body values are every other value of the two-body sample.
        let first: Vec<f32> = full.iter().step_by(2).copied().collect();
        assert_eq!(single, first);
        assert!(single.iter().any(|&v| v != 0.0));
        let bad = PreprocessConfig {
            bodies: 3,
            ..Default::default()
        };
        assert_eq!(
            tensor_from_sequence(&seq, &bad),
            Err(PreprocessError::Bodies(3))
        );
    }

    #[test]
    fn config_round_trips_through_toml_and_rejects_bad_joints() {
        let cfg = PreprocessConfig::default();
        let text = toml::to_string(&cfg).unwrap();
        let back: PreprocessConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, cfg);
        let partial: PreprocessConfig =
            toml::from_str("center_joint = 1\nrotation = \"none\"").unwrap();
        assert_eq!(partial.frames, 50);
        let bad = PreprocessConfig {
            center_joint: 25,
            ..Default::default()
        };
        assert_eq!(
            tensor_from_sequence(&body_sequence(3), &bad),
            Err(PreprocessError::CenterJoint(25))
        );
    }
}
