//! STAR's online augmentation (the official feeders' `valid_crop_resize` and `random_rot`, cseeyangchen/STAR
//! feeders/tools.py): at every training step each sample is cropped to a random 50-100 % of its valid frames (first
//! to last non-empty; at least 64 frames, the official lower bound, or all of them when fewer), resampled to the encoder's window,
//! rotated by random angles in [-0.3, 0.3] rad about the three axes, and encoded again by the frozen encoder.
//!
//! The official code resizes to its backbone's 64-frame window; skelzero's encoders read the preprocessing's window
//! (50 frames), which the test features are extracted at too, so the crop is resampled to that. The official test
//! feeders also crop and rotate at random; skelzero's test features stay the fixed, unaugmented ones.

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{Device, Tensor};
use rand::Rng;
use rand::rngs::StdRng;

use crate::dataset::Dataset;
use crate::nn::encoder::Encoder;
use crate::skeleton::Sequence;
use crate::skeleton::preprocess::{PreprocessConfig, batch_from_sequences};
use crate::zsl::trainer::BatchSource;
use crate::zsl::{FeatureBatch, Result as ZslResult, ZslError};

/// The official crop interval `p_interval` and its lower bound on the cropped length.
pub const CROP_INTERVAL: (f64, f64) = (0.5, 1.0);
pub const MIN_CROP_FRAMES: usize = 64;
/// `random_rot`'s `theta`: each axis's angle is uniform in `[-theta, theta]`.
pub const MAX_ANGLE: f32 = 0.3;

/// Fresh STAR features of a split's training samples ([`BatchSource`]).
pub struct OnlineAugment<'a> {
    enc: &'a Encoder,
    ds: &'a Dataset,
    /// Dataset row of each training row (`pipeline::features::seen_train_rows`).
    rows: Vec<usize>,
    preprocess: PreprocessConfig,
    /// Nanoseconds spent drawing batches, for the cost report.
    nanos: AtomicU64,
}

impl<'a> OnlineAugment<'a> {
    pub fn new(
        enc: &'a Encoder,
        ds: &'a Dataset,
        rows: Vec<usize>,
        preprocess: PreprocessConfig,
    ) -> Self {
        Self {
            enc,
            ds,
            rows,
            preprocess,
            nanos: AtomicU64::new(0),
        }
    }

    /// Seconds spent in [`BatchSource::batch`] so far.
    pub fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }
}

/// `valid_crop_resize`'s crop: `(start, length)` of a sequence of `frames` frames.
pub fn crop_window(frames: usize, rng: &mut impl Rng) -> (usize, usize) {
    let p = rng.random_range(CROP_INTERVAL.0..CROP_INTERVAL.1);
    let len = ((frames as f64 * p).floor() as usize)
        .max(MIN_CROP_FRAMES)
        .min(frames);
    let start = rng.random_range(0..=frames - len);
    (start, len)
}

/// `_rot`'s rotation `Rz Ry Rx` (row-major 3 x 3) for angles `(x, y, z)`.
pub fn rotation(a: [f32; 3]) -> [[f32; 3]; 3] {
    let (cx, sx) = (a[0].cos(), a[0].sin());
    let (cy, sy) = (a[1].cos(), a[1].sin());
    let (cz, sz) = (a[2].cos(), a[2].sin());
    let rx = [[1.0, 0.0, 0.0], [0.0, cx, sx], [0.0, -sx, cx]];
    let ry = [[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]];
    let rz = [[cz, sz, 0.0], [-sz, cz, 0.0], [0.0, 0.0, 1.0]];
    let mul = |a: [[f32; 3]; 3], b: [[f32; 3]; 3]| -> [[f32; 3]; 3] {
        std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
    };
    mul(mul(rz, ry), rx)
}

/// Rotates one preprocessed sample `(3, T, V, M)`, flattened, in place: `x' = R x` at every point.
fn rotate_sample(values: &mut [f32], r: &[[f32; 3]; 3]) {
    let n = values.len() / 3;
    let (xs, rest) = values.split_at_mut(n);
    let (ys, zs) = rest.split_at_mut(n);
    for ((x, y), z) in xs.iter_mut().zip(ys.iter_mut()).zip(zs.iter_mut()) {
        let p = [*x, *y, *z];
        *x = r[0][0] * p[0] + r[0][1] * p[1] + r[0][2] * p[2];
        *y = r[1][0] * p[0] + r[1][1] * p[1] + r[1][2] * p[2];
        *z = r[2][0] * p[0] + r[2][1] * p[1] + r[2][2] * p[2];
    }
}

impl BatchSource for OnlineAugment<'_> {
    fn batch(&self, rows: &[usize], rng: &mut StdRng) -> ZslResult<FeatureBatch> {
        let start = std::time::Instant::now();
        let mut seqs: Vec<Sequence> = Vec::with_capacity(rows.len());
        let mut angles = Vec::with_capacity(rows.len());
        for &r in rows {
            let sample = self
                .rows
                .get(r)
                .and_then(|&i| self.ds.samples.get(i))
                .ok_or_else(|| ZslError::Invalid(format!("training row {r} has no sample")))?;
            // The official crop runs over the valid frames (`valid_frame_num`, its data being zero-padded at
            // the end); here, the span from the first to the last non-empty frame.
            let seq = &sample.seq;
            let first = (0..seq.frames())
                .find(|&f| !seq.frame_empty(f))
                .unwrap_or(0);
            let last = (0..seq.frames())
                .rev()
                .find(|&f| !seq.frame_empty(f))
                .map_or(seq.frames(), |f| f + 1);
            let (from, len) = crop_window(last.saturating_sub(first), rng);
            seqs.push(seq.slice_frames(first + from, first + from + len));
            angles.push(std::array::from_fn::<f32, 3, _>(|_| {
                rng.random_range(-MAX_ANGLE..MAX_ANGLE)
            }));
        }
        let mut flat = batch_from_sequences(seqs.iter().collect::<Vec<_>>(), &self.preprocess)
            .map_err(|e| ZslError::Invalid(format!("online augmentation: {e}")))?;
        let shape = self.preprocess.sample_shape();
        let per = shape.iter().product::<usize>();
        for (values, a) in flat.chunks_exact_mut(per).zip(&angles) {
            rotate_sample(values, &rotation(*a));
        }
        let [c, t, v, m] = shape;
        let x = Tensor::from_vec(flat, (rows.len(), c, t, v, m), &Device::Cpu)?;
        let out = self.enc.encode(&x, false)?;
        let batch = FeatureBatch {
            pooled: out.pooled.detach(),
            masked: None,
            map: Some(out.map.mean(1)?.detach()),
        };
        self.nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn augmented_batches_are_seeded_fresh_and_shaped_like_the_fixed_features() -> ZslResult<()> {
        use crate::nn::encoder::{EncoderConfig, EncoderKind};
        let ds = crate::pipeline::fixture::fixture_dataset();
        let cfg = EncoderConfig::default_for(EncoderKind::Stgcn);
        let vm = candle_nn::VarMap::new();
        let enc = Encoder::new_seeded(&cfg, 0, &vm, &Device::Cpu, 3)?;
        let pre = PreprocessConfig::default();
        let rows: Vec<usize> = (0..ds.samples.len()).collect();
        let aug = OnlineAugment::new(&enc, &ds, rows.clone(), pre.clone());
        let pick = [0, 2, 5];
        let draw = |seed: u64| -> ZslResult<FeatureBatch> {
            aug.batch(&pick, &mut StdRng::seed_from_u64(seed))
        };
        let flat = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>());
        let (a, b, c) = (draw(7)?, draw(7)?, draw(8)?);
        assert_eq!(flat(&a.pooled)?, flat(&b.pooled)?, "same seed, same batch");
        assert_ne!(
            flat(&a.pooled)?,
            flat(&c.pooled)?,
            "another seed crops and rotates anew"
        );
        let opts = crate::pipeline::FeatureOptions {
            preprocess: pre,
            mask_frames: 0,
            ..Default::default()
        };
        let picked: Vec<usize> = pick.iter().map(|&i| rows[i]).collect();
        let (fixed, _) =
            crate::pipeline::features::features_of_rows(&enc, &ds, &picked, &opts, &mut |_| true)
                .map_err(|e| ZslError::Invalid(e.to_string()))?;
        assert_eq!(a.pooled.dims(), fixed.pooled.dims());
        assert_eq!(
            a.map.as_ref().map(Tensor::dims),
            fixed.map.as_ref().map(Tensor::dims)
        );
        assert_ne!(
            flat(&a.pooled)?,
            flat(&fixed.pooled)?,
            "augmented, not the fixed features"
        );
        assert!(aug.seconds() > 0.0);
        Ok(())
    }

    #[test]
    fn crops_follow_the_official_interval_and_lower_bound() {
        let mut rng = StdRng::seed_from_u64(0);
        for _ in 0..200 {
            let (s, l) = crop_window(300, &mut rng);
            assert!((150..=300).contains(&l) && s + l <= 300, "{s} {l}");
            // Shorter than the 64-frame bound: kept whole.
            assert_eq!(crop_window(40, &mut rng), (0, 40));
            let (s, l) = crop_window(100, &mut rng);
            assert!(l >= 64 && s + l <= 100, "{s} {l}");
        }
    }

    #[test]
    fn rotation_is_the_official_rz_ry_rx() {
        // About x alone: y' = cos y + sin z (the official rx's second row is (0, cos, sin)).
        let r = rotation([0.3, 0.0, 0.0]);
        assert!((r[1][1] - 0.3f32.cos()).abs() < 1e-6 && (r[1][2] - 0.3f32.sin()).abs() < 1e-6);
        let r = rotation([0.1, -0.2, 0.25]);
        // Orthonormal: R R^T = I.
        for i in 0..3 {
            for j in 0..3 {
                let d: f32 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                assert!((d - f32::from(u8::from(i == j))).abs() < 1e-6);
            }
        }
        // Two points, coordinate-major as a preprocessed sample: x = [1, 0], y = [0, 0], z = [2, 0].
        let mut v = vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0];
        rotate_sample(&mut v, &rotation([0.0, 0.0, 0.5]));
        // Point (1, 0, 2) about z: x' = cos 0.5, y' = -sin 0.5, z' = 2.
        assert!((v[0] - 0.5f32.cos()).abs() < 1e-6 && (v[2] + 0.5f32.sin()).abs() < 1e-6);
        assert!((v[4] - 2.0).abs() < 1e-6);
    }
}
