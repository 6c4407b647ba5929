//! A pretrained skeleton encoder's frozen features of one zero-shot split: pooled features, SMIE's keyframe-masked
//! view and the pre-pooling map STAR's part prompts attend over.

use candle_core::{Device, IndexOp, Tensor};
use rand::SeedableRng;

use super::{PipelineError, Result};
use crate::dataset::Dataset;
use crate::dataset::protocol::Partition;
use crate::nn::encoder::Encoder;
use crate::skeleton::preprocess::{PreprocessConfig, batch_from_sequences};
use crate::zsl::FeatureBatch;
use crate::zsl::features::SplitFeatures;
use crate::zsl::smie::{keyframe_mask, motion_attention};

/// What to compute besides the pooled features.
#[derive(Clone, Debug)]
pub struct FeatureOptions {
    pub preprocess: PreprocessConfig,
    /// Samples per encoder forward (bounds memory).
    pub batch_size: usize,
    /// SMIE's masked keyframes per sequence (0: no masked view).
    pub mask_frames: usize,
    /// Keep the (N, T', V, C) map, mean over bodies (STAR needs it).
    pub with_map: bool,
    /// Keep that map in half precision: half the file and the memory (19 GB instead of 38 for NTU-120), at a
    /// relative rounding of about 5e-4 on STAR's input.
    pub map_f16: bool,
    /// Seed of the random part of SMIE's mask.
    pub seed: u64,
    /// Where the encoder's variables live (its [`crate::nn::encoder::Encoder`] was built there); the features
    /// come back on the CPU.
    pub device: Device,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        Self {
            preprocess: PreprocessConfig::default(),
            batch_size: 32,
            mask_frames: crate::zsl::smie::SmieConfig::default().mask_frames,
            with_map: true,
            map_f16: false,
            seed: 0,
            device: Device::Cpu,
        }
    }
}

/// Features of `part`'s training samples (seen classes only) and GZSL test samples.
///
/// `progress(done, total)` is called after every batch; returning `false` cancels with an error.
pub fn split_features_from_dataset(
    enc: &Encoder,
    ds: &Dataset,
    part: &Partition,
    opts: &FeatureOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<SplitFeatures> {
    let train_rows = seen_train_rows(ds, part);
    let total = train_rows.len() + part.gzsl_test.len();
    let mut done = 0;
    let mut step = |n: usize| {
        done += n;
        progress(done, total)
    };
    let (train, train_labels) = features_of_rows(enc, ds, &train_rows, opts, &mut step)?;
    let (test, test_labels) = features_of_rows(enc, ds, &part.gzsl_test, opts, &mut step)?;
    let ids = |rows: &[usize]| -> Vec<String> {
        rows.iter()
            .filter_map(|&i| ds.samples.get(i).map(|s| s.meta.id.clone()))
            .collect()
    };
    Ok(SplitFeatures {
        train,
        train_labels,
        test,
        test_labels,
        seen: part.seen.clone(),
        unseen: part.unseen.clone(),
        train_ids: Some(ids(&train_rows)),
        test_ids: Some(ids(&part.gzsl_test)),
    })
}

/// The dataset rows of `part`'s training samples of seen classes, in the order of [`SplitFeatures::train`].
pub fn seen_train_rows(ds: &Dataset, part: &Partition) -> Vec<usize> {
    part.train
        .iter()
        .copied()
        .filter(|&i| {
            ds.samples
                .get(i)
                .is_some_and(|s| part.seen.contains(&s.meta.label))
        })
        .collect()
}

/// Encodes the samples `rows` of `ds`; returns their features and dataset class labels.
pub fn features_of_rows(
    enc: &Encoder,
    ds: &Dataset,
    rows: &[usize],
    opts: &FeatureOptions,
    step: &mut dyn FnMut(usize) -> bool,
) -> Result<(FeatureBatch, Vec<usize>)> {
    let dev = &opts.device;
    let host = |t: Tensor| t.detach().to_device(&Device::Cpu);
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let (mut pooled, mut masked, mut labels) = (vec![], vec![], vec![]);
    let mut maps = MapRows::new(opts.map_f16);
    for chunk in rows.chunks(opts.batch_size.max(1)) {
        let samples = samples_of_rows(ds, chunk)?;
        let flat = batch_from_sequences(
            samples.iter().map(|s| &s.seq).collect::<Vec<_>>(),
            &opts.preprocess,
        )?;
        let [c, t, v, m] = opts.preprocess.sample_shape();
        let x = Tensor::from_vec(flat, (chunk.len(), c, t, v, m), dev)?;
        // Detached: a kept output would otherwise hold the whole batch's activations alive through its op graph.
        let out = enc.encode(&x, false)?;
        pooled.push(host(out.pooled.clone())?);
        if opts.with_map {
            maps.push(&host(out.map.mean(1)?)?, rows.len())?;
        }
        drop(out);
        if opts.mask_frames > 0 {
            let xm = keyframe_masked_batch(&x, opts.mask_frames, &mut rng)?;
            masked.push(host(enc.encode(&xm, false)?.pooled)?);
        }
        labels.extend(samples.iter().map(|s| s.meta.label));
        if !step(chunk.len()) {
            return Err(PipelineError::Invalid("cancelled".into()));
        }
    }
    let cat = |v: Vec<Tensor>| -> Result<Option<Tensor>> {
        if v.is_empty() {
            Ok(None)
        } else {
            Ok(Some(Tensor::cat(&v, 0)?))
        }
    };
    let pooled = cat(pooled)?.ok_or_else(|| {
        PipelineError::Invalid("no samples to encode in this part of the split".into())
    })?;
    let batch = FeatureBatch {
        pooled,
        masked: cat(masked)?,
        map: maps.finish()?,
    };
    batch.validate()?;
    Ok((batch, labels))
}

/// The map's rows appended in place as the chunks are encoded: collecting the chunks and concatenating them held
/// the map twice at the end (76 GB in f32 for NTU-120).
enum MapRows {
    F32(Vec<f32>, Vec<usize>),
    F16(Vec<half::f16>, Vec<usize>),
}

impl MapRows {
    fn new(f16: bool) -> Self {
        if f16 {
            Self::F16(vec![], vec![])
        } else {
            Self::F32(vec![], vec![])
        }
    }

    /// Appends `chunk (n, T', V, C)`; the first chunk reserves room for all `total` rows, so the buffer is never
    /// regrown (a doubling would briefly hold it one and a half times).
    fn push(&mut self, chunk: &Tensor, total: usize) -> Result<()> {
        fn extend<T: candle_core::WithDType>(
            buf: &mut Vec<T>,
            dims: &mut Vec<usize>,
            chunk: &Tensor,
            total: usize,
        ) -> Result<()> {
            if dims.is_empty() {
                let (_, t, v, c) = chunk.dims4()?;
                *dims = vec![0, t, v, c];
                buf.reserve_exact(total * t * v * c);
            }
            dims[0] += chunk.dim(0)?;
            buf.extend(chunk.flatten_all()?.to_vec1::<T>()?);
            Ok(())
        }
        match self {
            Self::F32(buf, dims) => extend(buf, dims, chunk, total),
            Self::F16(buf, dims) => {
                extend(buf, dims, &chunk.to_dtype(candle_core::DType::F16)?, total)
            }
        }
    }

    fn finish(self) -> Result<Option<Tensor>> {
        let cpu = &Device::Cpu;
        Ok(match self {
            Self::F32(_, dims) | Self::F16(_, dims) if dims.is_empty() => None,
            Self::F32(buf, dims) => Some(Tensor::from_vec(buf, dims, cpu)?),
            Self::F16(buf, dims) => Some(Tensor::from_vec(buf, dims, cpu)?),
        })
    }
}

/// The samples `rows` of `ds`; an index past the end is an error.
pub(crate) fn samples_of_rows<'a>(
    ds: &'a Dataset,
    rows: &[usize],
) -> Result<Vec<&'a crate::dataset::Sample>> {
    rows.iter()
        .map(|&i| {
            ds.samples
                .get(i)
                .ok_or_else(|| PipelineError::Invalid(format!("sample index {i} out of range")))
        })
        .collect()
}

/// SMIE's temporally-constrained view of a preprocessed batch: per sample, the frames [`keyframe_mask`] keeps.
///
/// # Shapes
/// `x`: (N, 3, T, V, M) -> (N, 3, T - 2 * mask, V, M)
pub fn keyframe_masked_batch(x: &Tensor, mask: usize, rng: &mut impl rand::Rng) -> Result<Tensor> {
    let (n, _, t, _, _) = x.dims5()?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let xi = x.i(i)?;
        // Frame-major values for the motion attention.
        let frames = xi
            .transpose(0, 1)?
            .contiguous()?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let keep = keyframe_mask(&motion_attention(&frames, t), mask, rng);
        let idx = crate::zsl::index_tensor(&keep, x.device())?;
        out.push(xi.index_select(&idx, 1)?);
    }
    Ok(Tensor::stack(&out, 0)?)
}
