//! Nearest neighbours for the affinities: exact, through blocks of the Gram matrix (candle's GEMM). Large inputs are
//! first projected onto their top 50 principal axes, as is usual before t-SNE (Kobak & Berens 2019; scikit-learn's
//! and openTSNE's guides recommend it, neither does it for you): at 50,000 x 256 the full-width Gram matrix alone was
//! 1.3 TFLOP.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use candle_core::{Device, Tensor};
use rand::SeedableRng as _;
use rand_distr::Distribution as _;
use rayon::prelude::*;

use super::TsneError;
use crate::nn::kernels::gemm::gemm_rows;

fn cerr(e: candle_core::Error) -> TsneError {
    TsneError::Compute(e.to_string())
}

/// `gram(start, len)`: rows `start..start + len` of X X^T, row-major.
fn gram_rows(x: &Tensor, xt: &Tensor, start: usize, len: usize) -> Result<Vec<f32>, TsneError> {
    x.narrow(0, start, len)
        .and_then(|b| b.matmul(xt))
        .and_then(|g| g.flatten_all())
        .and_then(|g| g.to_vec1::<f32>())
        .map_err(cerr)
}

fn tensors(data: &[f32], n: usize, dim: usize) -> Result<(Tensor, Tensor), TsneError> {
    let x = Tensor::from_slice(data, (n, dim), &Device::Cpu).map_err(cerr)?;
    let xt = x.t().and_then(|t| t.contiguous()).map_err(cerr)?;
    Ok((x, xt))
}

fn row_norms(data: &[f32], dim: usize) -> Vec<f32> {
    data.chunks_exact(dim)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect()
}

/// The `k` nearest neighbours (squared Euclidean distance) of every row, by full selection over each Gram row (the
/// small-input path, unchanged so that small maps stay as they were).
pub(super) fn exact_selected(
    data: &[f32],
    n: usize,
    dim: usize,
    k: usize,
) -> Result<(Vec<u32>, Vec<f32>), TsneError> {
    let (x, xt) = tensors(data, n, dim)?;
    let norms = row_norms(data, dim);
    let mut idx = vec![0u32; n * k];
    let mut d2 = vec![0f32; n * k];
    const BLOCK: usize = 512;
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        let gram = gram_rows(&x, &xt, start, len)?;
        idx[start * k..(start + len) * k]
            .par_chunks_mut(k)
            .zip(d2[start * k..(start + len) * k].par_chunks_mut(k))
            .enumerate()
            .for_each_init(Vec::new, |row, (r, (out_i, out_d))| {
                let i = start + r;
                let g = &gram[r * n..(r + 1) * n];
                row.clear();
                row.extend(
                    (0..n)
                        .filter(|&j| j != i)
                        .map(|j| ((norms[i] + norms[j] - 2.0 * g[j]).max(0.0), j as u32)),
                );
                row.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                for (slot, &(d, j)) in row[..k].iter().enumerate() {
                    out_i[slot] = j;
                    out_d[slot] = d;
                }
            });
    }
    Ok((idx, d2))
}

/// A candidate neighbour ordered by distance, then index (a total order, so the result does not depend on the scan).
#[derive(Clone, Copy, PartialEq)]
struct Candidate(f32, u32);

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// The same neighbours as [`exact_selected`] (up to ties), found with a bounded max-heap: after the first `k`
/// columns almost every candidate is rejected by one comparison, where the full selection moved all N of them.
pub(super) fn exact_heap(
    data: &[f32],
    n: usize,
    dim: usize,
    k: usize,
) -> Result<(Vec<u32>, Vec<f32>), TsneError> {
    let norms = row_norms(data, dim);
    let mut idx = vec![0u32; n * k];
    let mut d2 = vec![0f32; n * k];
    const BLOCK: usize = 256;
    // One buffer for every block: a fresh 50 MB block each time was mostly page faults.
    let mut gram = vec![0f32; BLOCK.min(n) * n];
    let threads = rayon::current_num_threads();
    for start in (0..n).step_by(BLOCK) {
        let len = BLOCK.min(n - start);
        let gram = &mut gram[..len * n];
        // X[start..start + len] X^T, with X^T read in place (row stride 1, column stride dim).
        gemm_rows(
            (len, n, dim),
            gram,
            false,
            (&data[start * dim..(start + len) * dim], dim as isize, 1),
            (data, 1, dim as isize),
            threads,
        );
        let gram = &*gram;
        idx[start * k..(start + len) * k]
            .par_chunks_mut(k)
            .zip(d2[start * k..(start + len) * k].par_chunks_mut(k))
            .enumerate()
            .for_each_init(
                || BinaryHeap::with_capacity(k + 1),
                |heap, (r, (out_i, out_d))| {
                    let i = start + r;
                    let g = &gram[r * n..(r + 1) * n];
                    heap.clear();
                    // norms[i] is the same for the whole row: added at the end.
                    let mut worst = f32::INFINITY;
                    const CHUNK: usize = 16;
                    let mut keys = [0f32; CHUNK];
                    for (c, (nc, gc)) in norms.chunks(CHUNK).zip(g.chunks(CHUNK)).enumerate() {
                        // A vectorisable pass first: most chunks hold no candidate at all.
                        let mut best = f32::INFINITY;
                        for ((key, &nj), &gj) in keys.iter_mut().zip(nc).zip(gc) {
                            *key = nj - 2.0 * gj;
                            best = best.min(*key);
                        }
                        if best > worst {
                            continue;
                        }
                        for (o, &key) in keys[..nc.len()].iter().enumerate() {
                            let j = c * CHUNK + o;
                            if key > worst || j == i {
                                continue;
                            }
                            heap.push(Candidate(key, j as u32));
                            if heap.len() > k {
                                heap.pop();
                            }
                            if heap.len() == k {
                                worst = heap.peek().map_or(f32::INFINITY, |c: &Candidate| c.0);
                            }
                        }
                    }
                    let sorted = std::mem::take(heap).into_sorted_vec();
                    for (slot, c) in sorted.iter().enumerate() {
                        out_i[slot] = c.1;
                        out_d[slot] = (c.0 + norms[i]).max(0.0);
                    }
                },
            );
    }
    Ok((idx, d2))
}

/// The rows, centred, in the coordinates of their top `out` principal axes (`out` < `dim`). The axes come from
/// subspace iteration on the covariance matrix from a seeded start; any orthonormal basis of the subspace gives the
/// same distances, so the axes need not be sorted or separated.
pub(super) fn pca(
    data: &[f32],
    n: usize,
    dim: usize,
    out: usize,
    seed: u64,
) -> Result<Vec<f32>, TsneError> {
    let mut mean = vec![0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += f64::from(*v);
        }
    }
    let centred: Vec<f32> = data
        .chunks_exact(dim)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(v, m)| (f64::from(*v) - m / n as f64) as f32)
        })
        .collect();
    let (x, xt) = tensors(&centred, n, dim)?;
    let cov: Vec<f64> = xt
        .matmul(&x)
        .and_then(|c| c.flatten_all())
        .and_then(|c| c.to_vec1::<f32>())
        .map_err(cerr)?
        .into_iter()
        .map(f64::from)
        .collect();
    // Column-major basis: q[c * dim + d].
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let normal =
        rand_distr::Normal::new(0.0f64, 1.0).map_err(|e| TsneError::Compute(e.to_string()))?;
    let mut q: Vec<f64> = (0..out * dim).map(|_| normal.sample(&mut rng)).collect();
    orthonormalise(&mut q, dim);
    for _ in 0..30 {
        let next: Vec<f64> = q
            .par_chunks(dim)
            .flat_map_iter(|col| {
                cov.chunks_exact(dim)
                    .map(move |crow| crow.iter().zip(col).map(|(a, b)| a * b).sum::<f64>())
            })
            .collect();
        q = next;
        orthonormalise(&mut q, dim);
    }
    // Row-major dim x out for the projection.
    let basis: Vec<f32> = (0..dim)
        .flat_map(|d| (0..out).map(move |c| (d, c)))
        .map(|(d, c)| q[c * dim + d] as f32)
        .collect();
    let b = Tensor::from_slice(&basis, (dim, out), &Device::Cpu).map_err(cerr)?;
    x.matmul(&b)
        .and_then(|z| z.flatten_all())
        .and_then(|z| z.to_vec1::<f32>())
        .map_err(cerr)
}

/// Modified Gram-Schmidt on the columns of a column-major `dim`-row matrix.
fn orthonormalise(q: &mut [f64], dim: usize) {
    let cols = q.len() / dim;
    for c in 0..cols {
        let (done, rest) = q.split_at_mut(c * dim);
        let col = &mut rest[..dim];
        for prev in done.chunks_exact(dim) {
            let dot: f64 = prev.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
            for (v, p) in col.iter_mut().zip(prev) {
                *v -= dot * p;
            }
        }
        let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
        for v in col.iter_mut() {
            *v /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_and_selection_find_the_same_neighbours() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
        let (n, dim, k) = (700, 12, 9);
        let data: Vec<f32> = (0..n * dim).map(|_| normal.sample(&mut rng)).collect();
        let (ia, da) = exact_selected(&data, n, dim, k).unwrap();
        let (ib, db) = exact_heap(&data, n, dim, k).unwrap();
        for i in 0..n {
            let mut a: Vec<u32> = ia[i * k..(i + 1) * k].to_vec();
            a.sort_unstable();
            let mut b: Vec<u32> = ib[i * k..(i + 1) * k].to_vec();
            b.sort_unstable();
            assert_eq!(a, b, "row {i}");
            let sa: f32 = da[i * k..(i + 1) * k].iter().sum();
            let sb: f32 = db[i * k..(i + 1) * k].iter().sum();
            assert!((sa - sb).abs() < 1e-3 * sa.max(1.0), "row {i}: {sa} {sb}");
        }
    }

    /// Data that lies in a 3-D subspace of 10-D keeps its distances through a 3-axis projection.
    #[test]
    fn pca_keeps_distances_within_the_principal_subspace() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
        let axes: Vec<f32> = (0..3 * 10).map(|_| normal.sample(&mut rng)).collect();
        let n = 200;
        let data: Vec<f32> = (0..n)
            .flat_map(|_| {
                let c: Vec<f32> = (0..3).map(|_| normal.sample(&mut rng)).collect();
                (0..10)
                    .map(|d| (0..3).map(|a| c[a] * axes[a * 10 + d]).sum::<f32>() + 5.0)
                    .collect::<Vec<_>>()
            })
            .collect();
        let z = pca(&data, n, 10, 3, 1).unwrap();
        let dist = |v: &[f32], w: usize, i: usize, j: usize| -> f32 {
            (0..w)
                .map(|d| (v[i * w + d] - v[j * w + d]).powi(2))
                .sum::<f32>()
        };
        for (i, j) in [(0, 1), (5, 77), (100, 199)] {
            let (a, b) = (dist(&data, 10, i, j), dist(&z, 3, i, j));
            assert!(
                (a - b).abs() < 1e-3 * a.max(1.0),
                "{i},{j}: {a} against {b}"
            );
        }
    }
}
