//! Tensor helpers shared by the numerical test files: deterministic inputs and differences.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses some of them; a failure is a test failure

use candle_core::{Device, Tensor};

/// Small deterministic pseudo-random values in [-1, 1) (no RNG state shared between tests).
pub fn rand(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// The largest absolute difference between `a` and `b`.
pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// All values of `t` on the host, flattened.
pub fn host(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// The largest absolute difference relative to the largest magnitude of `a`.
pub fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-6);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// For each of `vars`, the largest difference between its gradients through `fast` and through `slow` (two
/// formulations of one function), both reduced as `sum(out * probe)`.
pub fn grad_diffs(fast: &Tensor, slow: &Tensor, probe: &Tensor, vars: &[&Tensor]) -> Vec<f32> {
    let gf = (fast * probe)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gs = (slow * probe)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    vars.iter()
        .map(|v| max_diff(gf.get(v).unwrap(), gs.get(v).unwrap()))
        .collect()
}
