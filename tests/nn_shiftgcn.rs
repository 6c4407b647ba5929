//! Shift-GCN: shift operators (permutation, adjoint, interpolation), shapes, names, and a few training steps.
#![allow(clippy::unwrap_used)] // tests may unwrap

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use skelzero::nn::kernels::shift_ops::{
    spatial_shift, spatial_shift_index, spatial_shift_reference, temporal_shift,
    temporal_shift_reference,
};
use skelzero::nn::optim::trainable_vars;
use skelzero::nn::shiftgcn::{ShiftGcn, ShiftGcnConfig};

mod tensors;
use tensors::max_diff;

#[test]
fn spatial_shift_indices_follow_reference_and_grads_match() {
    // Reference: index[i*C + j] = (i*C + j + j*C) % (C*25) (inward), (i*C + j - j*C) mod (C*25) (outward).
    let idx = spatial_shift_index(25, 4, true);
    assert_eq!(idx[0], 0);
    assert_eq!(idx[1], 4 + 1); // joint 0, channel 1 <- joint 1, channel 1
    assert_eq!(idx[24 * 4 + 3], ((24 * 4 + 3 + 3 * 4) % 100) as u32);
    let out = spatial_shift_index(25, 4, false);
    assert_eq!(out[1], (100 + 1 - 4) as u32); // joint 0, channel 1 <- joint 24, channel 1
    // Outward undoes inward.
    for p in 0..100 {
        assert_eq!(idx[out[p] as usize] as usize, p);
    }
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (6, 100), &Device::Cpu).unwrap()).unwrap();
    let s = Var::from_tensor(&Tensor::randn(1f32, 0.3, 100, &Device::Cpu).unwrap()).unwrap();
    let w = Tensor::randn(0f32, 1.0, (6, 100), &Device::Cpu).unwrap();
    let fast = spatial_shift(x.as_tensor(), &idx, s.as_tensor()).unwrap();
    let slow = spatial_shift_reference(x.as_tensor(), &idx, s.as_tensor()).unwrap();
    assert_eq!(max_diff(&fast, &slow), 0.0);
    let gf = (fast * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let gs = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
    for v in [x.as_tensor(), s.as_tensor()] {
        assert!(max_diff(gf.get(v).unwrap(), gs.get(v).unwrap()) < 1e-5);
    }
    assert!(spatial_shift(x.as_tensor(), &vec![0u32; 100], s.as_tensor()).is_err());
}

#[test]
fn temporal_shift_interpolates_and_backward_is_adjoint() {
    let dev = Device::Cpu;
    let x = Tensor::arange(0f32, 10.0, &dev)
        .unwrap()
        .reshape((1, 10, 1, 1))
        .unwrap();
    // Integer shift +2: out[t] = x[t + 2], zero past the end.
    let out = temporal_shift(&x, &Tensor::new(&[2f32], &dev).unwrap(), 1).unwrap();
    assert_eq!(
        out.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![2., 3., 4., 5., 6., 7., 8., 9., 0., 0.]
    );
    // Fractional -0.25: out[t] = 0.25 x[t-1] + 0.75 x[t].
    let out = temporal_shift(&x, &Tensor::new(&[-0.25f32], &dev).unwrap(), 1)
        .unwrap()
        .to_vec1_flat();
    assert!((out[4] - (0.25 * 3.0 + 0.75 * 4.0)).abs() < 1e-6);
    // Stride 2 adds 0.5 to the position and halves the length: out[t] = 0.5 x[2t] + 0.5 x[2t + 1].
    let out = temporal_shift(&x, &Tensor::new(&[0f32], &dev).unwrap(), 2)
        .unwrap()
        .to_vec1_flat();
    assert_eq!(out.len(), 5);
    assert!((out[1] - 2.5).abs() < 1e-6);

    for stride in [1, 2] {
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 9, 3, 4), &dev).unwrap()).unwrap();
        let y = Var::from_tensor(&Tensor::new(&[-1.3f32, 0.4, 2.0, -0.7], &dev).unwrap()).unwrap();
        let out = temporal_shift(x.as_tensor(), y.as_tensor(), stride).unwrap();
        assert_eq!(out.dims(), &[2, 9 / stride, 3, 4]);
        let g = Tensor::randn(0f32, 1.0, out.dims(), &dev).unwrap();
        let lhs = (&out * &g)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let grads = (out * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let dx = grads.get(x.as_tensor()).unwrap();
        // The op is linear in x, so <A x, g> = <x, A^T g>.
        let rhs = (dx * x.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
            "stride {stride}: {lhs} vs {rhs}"
        );
        // Shift-GCN's constrained position gradient: +-0.01.
        for d in grads.get(y.as_tensor()).unwrap().to_vec1::<f32>().unwrap() {
            assert!(
                (d.abs() - 0.01).abs() < 1e-7 || (d - 1e-4).abs() < 1e-9,
                "{d}"
            );
        }
    }
}

trait Flat {
    fn to_vec1_flat(&self) -> Vec<f32>;
}
impl Flat for Tensor {
    fn to_vec1_flat(&self) -> Vec<f32> {
        self.flatten_all().unwrap().to_vec1().unwrap()
    }
}

/// The plain-candle temporal shift (what a GPU runs) equals the CPU kernel, values and both gradients, including
/// shifts that read past either end of the sequence.
#[test]
fn temporal_shift_reference_matches_kernel() {
    let dev = Device::Cpu;
    for stride in [1, 2] {
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 11, 3, 5), &dev).unwrap()).unwrap();
        let y = Var::from_tensor(&Tensor::new(&[-1.3f32, 0.4, 2.0, -0.7, 12.5], &dev).unwrap())
            .unwrap();
        let fast = temporal_shift(x.as_tensor(), y.as_tensor(), stride).unwrap();
        let slow = temporal_shift_reference(x.as_tensor(), y.as_tensor(), stride).unwrap();
        assert_eq!(fast.dims(), slow.dims());
        assert!(max_diff(&fast, &slow) < 1e-6, "stride {stride}");
        let w = Tensor::randn(0f32, 1.0, fast.dims(), &dev).unwrap();
        let gf = (fast * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let gs = (slow * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let d = max_diff(
            gf.get(x.as_tensor()).unwrap(),
            gs.get(x.as_tensor()).unwrap(),
        );
        assert!(d < 1e-4, "stride {stride}: gradient of x differs by {d}");
        // The kernel follows Shift-GCN's constrained position update, 0.01 * sign(true gradient); the plain ops
        // give the true gradient.
        let kernel = gf.get(y.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let exact = gs.get(y.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        // A channel shifted wholly past the end (12.5) gets no true gradient, and the kernel's 1e-4 nudge.
        assert_eq!(exact[4], 0.0);
        assert!((kernel[4] - 1e-4).abs() < 1e-9, "{}", kernel[4]);
        for (k, e) in kernel.iter().zip(&exact).take(4) {
            assert!(
                e.abs() > 1e-6,
                "stride {stride}: degenerate position gradient {e}"
            );
            assert!(
                (k - 0.01 * e.signum()).abs() < 1e-7,
                "stride {stride}: {k} vs sign of {e}"
            );
        }
    }
}

#[test]
fn shapes_names_and_training_steps() {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let cfg = ShiftGcnConfig {
        base_channels: 4,
        ..Default::default()
    };
    let net = ShiftGcn::new(&cfg, 3, vb).unwrap();
    {
        let data = vm.data().lock().unwrap();
        let shape = |k: &str| data.get(k).map(|v| v.as_tensor().dims().to_vec());
        assert_eq!(shape("data_bn.weight"), Some(vec![150]));
        assert_eq!(shape("l1.gcn1.Linear_weight"), Some(vec![3, 4]));
        assert_eq!(shape("l1.gcn1.Feature_Mask"), Some(vec![1, 25, 3]));
        assert_eq!(shape("l1.gcn1.bn.running_var"), Some(vec![100]));
        assert_eq!(shape("l1.gcn1.down.0.weight"), Some(vec![4, 3, 1, 1]));
        assert_eq!(shape("l5.residual.conv.weight"), Some(vec![8, 4, 1, 1]));
        assert_eq!(shape("l10.tcn1.shift_out.ypos"), Some(vec![16]));
        assert_eq!(
            shape("l10.tcn1.temporal_linear.weight"),
            Some(vec![16, 16, 1, 1])
        );
        assert_eq!(shape("l1.residual.conv.weight"), None);
        assert_eq!(shape("l2.gcn1.down.0.weight"), None);
    }
    let x = Tensor::randn(0f32, 1.0, (6, 3, 12, 25, 2), &Device::Cpu).unwrap();
    let out = net.encode(&x, false).unwrap();
    assert_eq!(out.map.dims(), &[6, 2, 3, 25, 16]);
    assert_eq!(out.pooled.dims(), &[6, 16]);
    let y = Tensor::new(&[0u32, 1, 2, 0, 1, 2], &Device::Cpu).unwrap();
    let mut opt = candle_nn::AdamW::new(
        trainable_vars(&vm),
        candle_nn::ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    let mut losses = Vec::new();
    for _ in 0..15 {
        let out = net.encode(&x, true).unwrap();
        let loss = candle_nn::loss::cross_entropy(&net.classify(&out.pooled).unwrap(), &y).unwrap();
        losses.push(loss.to_scalar::<f32>().unwrap());
        opt.backward_step(&loss).unwrap();
    }
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(
        losses[14] < 0.5 * losses[0],
        "loss did not fall: {losses:?}"
    );
}
