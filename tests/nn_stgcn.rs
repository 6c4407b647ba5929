//! ST-GCN shapes, parameter names and counts, and a few optimisation steps on a tiny batch.
#![allow(clippy::unwrap_used)] // tests may unwrap

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use skelzero::nn::optim::trainable_vars;
use skelzero::nn::stgcn::{StGcn, StGcnConfig};

fn tiny_cfg() -> StGcnConfig {
    StGcnConfig {
        hidden_channels: 4,
        hidden_dim: 8,
        dropout: 0.0,
        ..StGcnConfig::default()
    }
}

#[test]
fn smie_config_has_reference_parameter_count_and_names() {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    // With the 60-class head used for NTU-60 pretraining (the probe's figure); the encoder alone is 821,380.
    let _net = StGcn::new(&StGcnConfig::default(), 60, vb).unwrap();
    let data = vm.data().lock().unwrap();
    let params: usize = data
        .iter()
        .filter(|(k, _)| !k.contains("running_"))
        .map(|(_, v)| v.as_tensor().elem_count())
        .sum();
    let stats: usize = data
        .iter()
        .filter(|(k, _)| k.contains("running_"))
        .map(|(_, v)| v.as_tensor().elem_count())
        .sum();
    assert_eq!(params, 836_800);
    let head: usize = data
        .iter()
        .filter(|(k, _)| k.starts_with("fc."))
        .map(|(_, v)| v.as_tensor().elem_count())
        .sum();
    assert_eq!(params - head, 821_380);
    assert_eq!(stats, 3_030);
    let shape = |k: &str| data.get(k).map(|v| v.as_tensor().dims().to_vec());
    assert_eq!(shape("data_bn.weight"), Some(vec![75]));
    assert_eq!(
        shape("st_gcn_networks.0.gcn.conv.weight"),
        Some(vec![48, 3, 1, 1])
    );
    assert_eq!(
        shape("st_gcn_networks.9.tcn.2.weight"),
        Some(vec![256, 256, 9, 1])
    );
    assert_eq!(
        shape("st_gcn_networks.4.residual.0.weight"),
        Some(vec![32, 16, 1, 1])
    );
    assert_eq!(
        shape("st_gcn_networks.9.residual.1.running_var"),
        Some(vec![256])
    );
    assert_eq!(shape("edge_importance.3"), Some(vec![3, 25, 25]));
    assert_eq!(shape("st_gcn_networks.0.residual.0.weight"), None);
    assert_eq!(shape("st_gcn_networks.1.residual.0.weight"), None);
}

#[test]
fn forward_shapes_train_and_eval() {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let net = StGcn::new(&tiny_cfg(), 5, vb).unwrap();
    let x = Tensor::randn(0f32, 1.0, (3, 3, 10, 25, 2), &Device::Cpu).unwrap();
    for train in [true, false] {
        let out = net.encode(&x, train).unwrap();
        // Two stride-2 blocks: T 10 -> 5 -> 3.
        assert_eq!(out.map.dims(), &[3, 2, 3, 25, 8]);
        assert_eq!(out.pooled.dims(), &[3, 8]);
        assert_eq!(net.classify(&out.pooled).unwrap().dims(), &[3, 5]);
        // The pooled feature is the mean of the map over bodies, time and joints.
        let m = out.map.mean(1).unwrap().mean(1).unwrap().mean(1).unwrap();
        let d = (m - &out.pooled)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5);
    }
    // Train mode moved the running statistics off their initial values.
    let rm = vm.data().lock().unwrap()["data_bn.running_mean"]
        .as_tensor()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap();
    assert!(rm.to_scalar::<f32>().unwrap() > 0.0);
}

#[test]
fn training_steps_reduce_loss_on_tiny_batch() {
    let vm = VarMap::new();
    let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
    let net = StGcn::new(&tiny_cfg(), 3, vb).unwrap();
    let x = Tensor::randn(0f32, 1.0, (6, 3, 8, 25, 2), &Device::Cpu).unwrap();
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
