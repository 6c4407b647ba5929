//! Graph partition and custom-op gradient checks against plain candle formulations.
#![allow(clippy::unwrap_used)] // tests may unwrap

use candle_core::{Device, Tensor, Var};
use skelzero::nn::graph::Graph;
use skelzero::nn::kernels::batch_norm::{self, BnMode};
use skelzero::nn::kernels::ops;
use skelzero::nn::kernels::pointwise::{pointwise_conv, pointwise_conv_reference};
use skelzero::nn::kernels::spatial_conv::{GraphPattern, spatial_conv, spatial_conv_reference};
use skelzero::nn::kernels::temporal_conv::{TemporalGeom, temporal_conv, temporal_conv_reference};

mod tensors;
use tensors::{grad_diffs, max_diff, rand};

#[test]
fn ntu_spatial_partition() {
    let g = Graph::ntu_spatial();
    assert_eq!(g.k, 3);
    assert_eq!(g.a.len(), 3 * 25 * 25);
    // Root partition: self links (1/deg) plus same-distance neighbours; 25 self links + 24 bones * 2 directions.
    let nnz = g.a.iter().filter(|x| **x != 0.0).count();
    assert_eq!(nnz, 25 + 48);
    // The partitions sum to the column-normalised adjacency: every column sums to 1.
    for w in 0..25 {
        let s: f32 = (0..3)
            .map(|k| (0..25).map(|v| g.part(k)[v * 25 + w]).sum::<f32>())
            .sum();
        assert!((s - 1.0).abs() < 1e-6, "column {w} sums to {s}");
    }
    // Joint 21 (index 20, the centre) has 5 neighbours (2, 3, 5, 9 and itself) -> 1/5 per entry.
    let a0 = g.part(0);
    assert!((a0[20 * 25 + 20] - 0.2).abs() < 1e-6);
    // With max_hop = 1 the reference's hop distance to the centre is `inf` beyond one hop, and the partition compares
    // those distances as numpy does (inf == inf -> root, inf > 1 -> "close"). Joint 2 (idx 1) is one hop from the
    // centre, joint 1 (idx 0) is "inf": a[1][0] lands in the centrifugal part, a[0][1] in root + centripetal.
    assert!(g.part(2)[25] > 0.0);
    assert_eq!(g.part(1)[25], 0.0);
    assert!(g.part(1)[1] > 0.0);
    assert_eq!(g.part(2)[1], 0.0);
    // Two joints both beyond one hop (idx 0 and 12) are "root" neighbours, merged into partition 1.
    assert!(g.part(1)[12 * 25] > 0.0 && g.part(1)[12] > 0.0);
    assert!((g.part(2)[25] - 0.25).abs() < 1e-6);
}

#[test]
fn spatial_conv_matches_reference_and_grads() {
    let g = Graph::ntu_spatial();
    let pattern = GraphPattern::from_dense(&g.a, 3, 25);
    let a0 = Tensor::from_slice(&g.a, (3, 25, 25), &Device::Cpu).unwrap();
    let imp = Var::from_tensor(&(rand(&[3, 25, 25], 7) + 1.5).unwrap()).unwrap();
    // A few frames (blocks of one or two frames) and many (several frames per block, the last one short).
    for (frames, c_in, c) in [(3, 4, 5), (61, 3, 2)] {
        let x = Var::from_tensor(&rand(&[frames, 25, c_in], 1)).unwrap();
        let w = Var::from_tensor(&rand(&[3 * c, c_in, 1, 1], 3)).unwrap();
        let b = Var::from_tensor(&rand(&[3 * c], 4)).unwrap();
        let probe = rand(&[frames, 25, c], 2);
        let a = (&a0 * imp.as_tensor()).unwrap();
        let (xs, ws, bs) = (x.as_tensor(), w.as_tensor(), b.as_tensor());
        let fast = spatial_conv(xs, ws, bs, &a, &pattern).unwrap();
        let slow = spatial_conv_reference(xs, ws, bs, &a).unwrap();
        assert_eq!(fast.dims(), &[frames, 25, c]);
        assert!(max_diff(&fast, &slow) < 1e-5);
        for d in grad_diffs(&fast, &slow, &probe, &[xs, ws, bs, imp.as_tensor()]) {
            assert!(d < 1e-4, "{frames} frames: grad diff {d}");
        }
    }
    // A weight whose output channels do not split into the partitions is refused.
    let x = rand(&[2, 25, 4], 5);
    let a = (&a0 * imp.as_tensor()).unwrap();
    let err = spatial_conv(&x, &rand(&[7, 4, 1, 1], 6), &rand(&[7], 7), &a, &pattern).unwrap_err();
    assert!(err.to_string().contains("spatial_conv"), "{err}");
}

#[test]
fn temporal_conv_matches_reference_and_grads() {
    // Small batches (gemm splits each product) and large ones (split by sequences), strides 1 to 3, odd lengths
    // (phases of unequal length) and sequences shorter than the kernel.
    for (b, t, stride, c_out) in [
        (2, 11, 1, 4),
        (2, 11, 2, 6),
        (9, 7, 2, 5),
        (8, 3, 1, 4),
        (5, 10, 3, 4),
    ] {
        let g = TemporalGeom {
            b,
            t,
            v: 3,
            c: 4,
            kernel: 9,
            pad: 4,
            stride,
        };
        let x = Var::from_tensor(&rand(&[b, t, 3, 4], 11)).unwrap();
        let w = Var::from_tensor(&rand(&[c_out, 4, 9, 1], 12)).unwrap();
        let bias = Var::from_tensor(&rand(&[c_out], 13)).unwrap();
        let fast = temporal_conv(x.as_tensor(), w.as_tensor(), bias.as_tensor(), g).unwrap();
        let slow =
            temporal_conv_reference(x.as_tensor(), w.as_tensor(), bias.as_tensor(), g).unwrap();
        assert_eq!(fast.dims(), &[b, g.t_out(), 3, c_out]);
        assert!(max_diff(&fast, &slow) < 1e-5, "{g:?}");
        let probe = rand(fast.dims(), 14);
        let vars = [x.as_tensor(), w.as_tensor(), bias.as_tensor()];
        for d in grad_diffs(&fast, &slow, &probe, &vars) {
            assert!(d < 1e-4, "{g:?}: grad diff {d}");
        }
    }
    // A weight whose kernel does not match the geometry is refused.
    let g = TemporalGeom {
        b: 1,
        t: 5,
        v: 2,
        c: 3,
        kernel: 9,
        pad: 4,
        stride: 1,
    };
    let err = temporal_conv(
        &rand(&[1, 5, 2, 3], 1),
        &rand(&[3, 3, 5, 1], 2),
        &rand(&[3], 3),
        g,
    )
    .unwrap_err();
    assert!(err.to_string().contains("temporal_conv"), "{err}");
}

/// A batch norm's input and affine parameters, as variables, and the two formulations of the layer on them.
struct BnInputs {
    x: Var,
    gamma: Var,
    beta: Var,
}

impl BnInputs {
    /// `rows` x `c` inputs spread as `u * spread.0 + spread.1` (u uniform), gamma around 1.
    fn new(rows: usize, c: usize, seed: u64, spread: (f64, f64)) -> Self {
        let var = |t: Tensor| Var::from_tensor(&t).unwrap();
        Self {
            x: var(rand(&[rows, c], seed).affine(spread.0, spread.1).unwrap()),
            gamma: var((rand(&[c], seed + 1) + 1.0).unwrap()),
            beta: var(rand(&[c], seed + 2)),
        }
    }

    fn vars(&self) -> [&Tensor; 3] {
        [
            self.x.as_tensor(),
            self.gamma.as_tensor(),
            self.beta.as_tensor(),
        ]
    }

    fn fast(&self, stats: (&[f32], &[f32]), mode: BnMode) -> Tensor {
        let [x, gamma, beta] = self.vars();
        batch_norm::batch_norm_cl(x, gamma, beta, stats, 1e-5, mode).unwrap()
    }

    fn plain(&self, relu: bool, stats: Option<(&[f32], &[f32])>) -> Tensor {
        let [x, gamma, beta] = self.vars();
        batch_norm::batch_norm_cl_reference(x, gamma, beta, 1e-5, relu, stats).unwrap()
    }
}

#[test]
fn batch_norm_matches_reference_and_grads() {
    for (relu, train) in [(false, true), (true, true), (true, false)] {
        let bn = BnInputs::new(300, 6, 5, (3.0, 2.0));
        let (mean, var) = if train {
            batch_norm::channel_stats(bn.x.as_tensor()).unwrap()
        } else {
            (vec![0.5; 6], vec![4.0; 6])
        };
        let mode = BnMode {
            relu,
            train,
            ..Default::default()
        };
        let fast = bn.fast((&mean, &var), mode);
        let slow = bn.plain(relu, (!train).then_some((mean.as_slice(), var.as_slice())));
        assert!(
            max_diff(&fast, &slow) < 1e-4,
            "forward relu={relu} train={train}"
        );
        let w = rand(&[300, 6], 9);
        for d in grad_diffs(&fast, &slow, &w, &bn.vars()) {
            assert!(d < 1e-3, "grad diff {d} relu={relu} train={train}");
        }
    }
}

#[test]
fn batch_norm_dropout_masks_and_scales() {
    // Dropout fused after the batch norm (and ReLU): every value is either dropped (0) or the plain BN output scaled
    // by 1 / (1 - p); about p of them are dropped; the gradients are the plain BN's through that same mask. Rows span
    // several of the op's chunks, so the mask offsets per chunk are exercised.
    let p = 0.3f32;
    for relu in [false, true] {
        let bn = BnInputs::new(1000, 7, 21, (2.0, -1.0));
        let (mean, var) = batch_norm::channel_stats(bn.x.as_tensor()).unwrap();
        let mode = BnMode {
            relu,
            train: true,
            dropout: p,
            dropout_seed: 11,
        };
        let fast = bn.fast((&mean, &var), mode);
        let plain = bn.plain(relu, None);
        let (f, q) = (
            fast.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            plain.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        let scale = 1.0 / (1.0 - p);
        let mut dropped = 0usize;
        let mask: Vec<f32> = f
            .iter()
            .zip(&q)
            .map(|(f, q)| {
                if *f == 0.0 && q.abs() > 1e-6 {
                    dropped += 1;
                    0.0
                } else {
                    assert!(
                        (f - q * scale).abs() < 1e-4,
                        "kept value {f} vs {q} * {scale}"
                    );
                    scale
                }
            })
            .collect();
        let live = q.iter().filter(|q| q.abs() > 1e-6).count();
        let rate = dropped as f32 / live as f32;
        assert!((rate - p).abs() < 0.03, "dropped {rate}, expected {p}");
        // The mask is a function of the seed: the same seed draws it again, another seed draws another.
        let again = bn.fast((&mean, &var), mode);
        assert_eq!(max_diff(&fast, &again), 0.0);
        let other = bn.fast(
            (&mean, &var),
            BnMode {
                dropout_seed: 12,
                ..mode
            },
        );
        assert!(max_diff(&fast, &other) > 0.0);
        let slow = (plain * Tensor::from_vec(mask, (1000, 7), &Device::Cpu).unwrap()).unwrap();
        let w = rand(&[1000, 7], 24);
        for d in grad_diffs(&fast, &slow, &w, &bn.vars()) {
            assert!(d < 1e-3, "grad diff {d} relu={relu}");
        }
        // Eval ignores dropout.
        let eval = bn.fast(
            (&mean, &var),
            BnMode {
                train: false,
                ..mode
            },
        );
        assert!(max_diff(&eval, &bn.plain(relu, Some((&mean, &var)))) < 1e-4);
    }
}

#[test]
fn add_bias_and_relu_grads() {
    let x = Var::from_tensor(&rand(&[50, 7], 10)).unwrap();
    let b = Var::from_tensor(&rand(&[7], 11)).unwrap();
    let w = rand(&[50, 7], 12);
    let fast = ops::relu(&ops::add_bias(x.as_tensor(), b.as_tensor()).unwrap()).unwrap();
    let slow = x
        .as_tensor()
        .broadcast_add(b.as_tensor())
        .unwrap()
        .relu()
        .unwrap();
    assert_eq!(max_diff(&fast, &slow), 0.0);
    for d in grad_diffs(&fast, &slow, &w, &[x.as_tensor(), b.as_tensor()]) {
        assert!(d < 1e-5, "grad diff {d}");
    }
}

#[test]
fn add_relu_matches_add_then_relu_and_grads() {
    let x = Var::from_tensor(&rand(&[40, 6], 30)).unwrap();
    let r = Var::from_tensor(&rand(&[40, 6], 31)).unwrap();
    let w = rand(&[40, 6], 32);
    let fast = ops::add_relu(x.as_tensor(), r.as_tensor()).unwrap();
    let slow = (x.as_tensor() + r.as_tensor()).unwrap().relu().unwrap();
    assert_eq!(max_diff(&fast, &slow), 0.0);
    for d in grad_diffs(&fast, &slow, &w, &[x.as_tensor(), r.as_tensor()]) {
        assert!(d < 1e-6, "grad diff {d}");
    }
    assert!(ops::add_relu(x.as_tensor(), &rand(&[40, 5], 33)).is_err());
}

#[test]
fn pointwise_conv_matches_matmul_and_grads() {
    let x = Var::from_tensor(&rand(&[300, 5], 50)).unwrap();
    let w = Var::from_tensor(&rand(&[7, 5, 1, 1], 51)).unwrap();
    let b = Var::from_tensor(&rand(&[7], 52)).unwrap();
    let fast = pointwise_conv(x.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
    let slow = pointwise_conv_reference(x.as_tensor(), w.as_tensor(), b.as_tensor()).unwrap();
    assert_eq!(fast.dims(), &[300, 7]);
    assert!(max_diff(&fast, &slow) < 1e-5);
    let probe = rand(&[300, 7], 53);
    let vars = [x.as_tensor(), w.as_tensor(), b.as_tensor()];
    for d in grad_diffs(&fast, &slow, &probe, &vars) {
        assert!(d < 1e-4, "grad diff {d}");
    }
    assert!(pointwise_conv(x.as_tensor(), &rand(&[7, 4, 1, 1], 54), b.as_tensor()).is_err());
}

#[test]
fn mean_middle_matches_mean_and_grads() {
    let x = Var::from_tensor(&rand(&[3, 4, 5, 6], 60)).unwrap();
    let fast = skelzero::nn::layers::mean_middle(x.as_tensor()).unwrap();
    let slow = x.as_tensor().reshape((3, 20, 6)).unwrap().mean(1).unwrap();
    assert_eq!(fast.dims(), &[3, 6]);
    assert!(max_diff(&fast, &slow) < 1e-6);
    let probe = rand(&[3, 6], 61);
    let d = grad_diffs(&fast, &slow, &probe, &[x.as_tensor()])[0];
    assert!(d < 1e-6, "grad diff {d}");
}

#[test]
fn eval_batch_norm_folds_into_the_convolution_before_it() {
    use candle_nn::{VarBuilder, VarMap};
    use skelzero::nn::layers::{BatchNorm, Pointwise, fold_affine};
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, candle_core::DType::F32, &Device::Cpu);
    let conv = Pointwise::new(5, 4, true, vb.pp("conv")).unwrap();
    let bn = BatchNorm::new(4, vb.pp("bn")).unwrap();
    // Non-trivial running statistics and affine parameters.
    for (name, v) in vm.data().lock().unwrap().iter() {
        if name.starts_with("bn.") {
            let r = (rand(v.dims(), name.len() as u64) + 1.5).unwrap();
            v.set(&r).unwrap();
        }
    }
    let x = rand(&[30, 5], 70);
    let unfolded = bn
        .forward(&conv.forward(&x).unwrap(), false, false)
        .unwrap();
    let (scale, shift) = bn.eval_affine().unwrap();
    let folded = conv.folded(&scale, &shift).unwrap().forward(&x).unwrap();
    assert!(max_diff(&unfolded, &folded) < 1e-5);
    // The same fold on a temporal convolution.
    let g = TemporalGeom {
        b: 2,
        t: 7,
        v: 3,
        c: 5,
        kernel: 9,
        pad: 4,
        stride: 1,
    };
    let (w, b) = (rand(&[4, 5, 9, 1], 71), rand(&[4], 72));
    let x = rand(&[2, 7, 3, 5], 73);
    let y = temporal_conv(&x, &w, &b, g).unwrap();
    let unfolded = bn.forward(&y, false, false).unwrap();
    let (wf, bf) = fold_affine(&w, &b, &scale, &shift).unwrap();
    let folded = temporal_conv(&x, &wf, &bf, g).unwrap();
    assert!(max_diff(&unfolded, &folded) < 1e-5);
}

#[test]
fn repeat_rows_matches_broadcast_and_grads() {
    let x = Var::from_tensor(&rand(&[3, 4, 5], 20)).unwrap();
    let w = rand(&[6, 3, 4, 5], 21);
    let fast = ops::repeat_rows(x.as_tensor(), 6).unwrap();
    let slow = x
        .as_tensor()
        .unsqueeze(0)
        .unwrap()
        .broadcast_as((6, 3, 4, 5))
        .unwrap()
        .contiguous()
        .unwrap();
    assert_eq!(fast.dims(), &[6, 3, 4, 5]);
    assert_eq!(max_diff(&fast, &slow), 0.0);
    let d = grad_diffs(&fast, &slow, &w, &[x.as_tensor()])[0];
    assert!(d < 1e-5, "grad diff {d}");
}

#[test]
fn softmax_matches_candle_and_grads() {
    let x = Var::from_tensor(&(rand(&[4, 3, 9], 30) * 3.0).unwrap()).unwrap();
    let w = rand(&[4, 3, 9], 31);
    let fast = ops::softmax_last_dim(x.as_tensor()).unwrap();
    // candle_nn::ops::softmax is built from differentiable ops (the reference).
    let slow = candle_nn::ops::softmax(x.as_tensor(), candle_core::D::Minus1).unwrap();
    assert!(max_diff(&fast, &slow) < 1e-6);
    let gf = (fast * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let gs = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let (a, b) = (
        gf.get(x.as_tensor()).unwrap(),
        gs.get(x.as_tensor()).unwrap(),
    );
    assert!(max_diff(a, b) < 1e-5, "grad diff {}", max_diff(a, b));
    // A gradient flows (candle_nn::ops::softmax_last_dim stops it).
    assert!(
        a.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 1e-3
    );
    // Masked entries (-inf) get probability 0 and no gradient.
    let m = Tensor::new(&[[0.5f32, f32::NEG_INFINITY, 1.0]], &Device::Cpu).unwrap();
    let mv = Var::from_tensor(&m).unwrap();
    let y = ops::softmax_last_dim(mv.as_tensor()).unwrap();
    let yv = y.to_vec2::<f32>().unwrap();
    assert_eq!(yv[0][1], 0.0);
    let g = (y * Tensor::new(&[[1f32, 2.0, 3.0]], &Device::Cpu).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gv = g.get(mv.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(gv[0][1], 0.0);
    assert!(gv[0][0] < 0.0 && gv[0][2] > 0.0);
}

#[test]
fn matmul_const_input_matches_matmul_and_weight_grad() {
    let x = rand(&[40, 6], 40);
    let w = Var::from_tensor(&rand(&[5, 6], 41)).unwrap();
    let g = rand(&[40, 5], 42);
    let fast = ops::matmul_const_input(&x, w.as_tensor()).unwrap();
    let slow = x.matmul(&w.as_tensor().t().unwrap()).unwrap();
    assert!(max_diff(&fast, &slow) < 1e-6);
    let gf = (fast * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let gs = (slow * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let d = max_diff(
        gf.get(w.as_tensor()).unwrap(),
        gs.get(w.as_tensor()).unwrap(),
    );
    assert!(d < 1e-5, "weight grad diff {d}");
    assert!(gf.get(&x).is_none());
}
