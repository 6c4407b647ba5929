//! Barnes-Hut t-SNE (van der Maaten 2014) for the explorer's embedding view and the `tsne` benchmark.
//!
//! Written here rather than taken from a crate because the explorer needs progress and cancel between iterations,
//! which neither linfa-tsne nor bhtsne offers. Exact nearest neighbours (3 x perplexity per point) come from a
//! blocked Gram matrix (candle's GEMM); the optimisation follows openTSNE's defaults (early exaggeration 12 for
//! 250 iterations, momentum 0.5 then 0.8, delta-bar-delta gains, learning rate N / exaggeration in each phase (in
//! openTSNE's gradient units, without the factor 4; at least scikit-learn's 50), steps clipped to length 5).

mod fft;
mod knn;

use rand::SeedableRng as _;
use rand_distr::Distribution as _;
use rayon::prelude::*;

use super::predictions::Predictions;
use crate::util::jobs::JobHandle;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TsneConfig {
    pub perplexity: f32,
    /// Total gradient-descent iterations, including the early-exaggeration phase.
    pub iterations: usize,
    /// Barnes-Hut accuracy: a cell is summarised when its width / distance is below theta.
    pub theta: f32,
    pub early_exaggeration: f32,
    pub exaggeration_iterations: usize,
    pub seed: u64,
}

impl Default for TsneConfig {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            iterations: 750,
            theta: 0.5,
            early_exaggeration: 12.0,
            exaggeration_iterations: 250,
            seed: 42,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TsneError {
    #[error("t-SNE needs at least 3 points, got {0}")]
    TooFewPoints(usize),
    #[error("{len} feature values do not make rows of {dim}")]
    Shape { len: usize, dim: usize },
    #[error("feature row {0} has a non-finite value")]
    NonFinite(usize),
    #[error("t-SNE: {0}")]
    Compute(String),
    #[error("cancelled")]
    Cancelled,
}

/// Sparse symmetric affinities P in compressed rows (each row's neighbours and weights).
struct Affinities {
    offsets: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f32>,
}

/// Embeds N rows of `dim` features (row-major `data`) in 2-D. `progress(done, total)` is called once per iteration;
/// returning `false` stops with [`TsneError::Cancelled`].
pub fn tsne_from_features(
    data: &[f32],
    dim: usize,
    cfg: &TsneConfig,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<[f32; 2]>, TsneError> {
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(TsneError::Shape {
            len: data.len(),
            dim,
        });
    }
    let n = data.len() / dim;
    if n < 3 {
        return Err(TsneError::TooFewPoints(n));
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(TsneError::NonFinite(i / dim));
    }
    let method = if n >= FAST_FROM {
        Method::Fast
    } else {
        Method::Exact
    };
    embed(data, n, dim, cfg, method, progress)
}

/// From this many points on, [`Method::Fast`].
const FAST_FROM: usize = 10_000;
/// Width of the principal subspace the fast path searches neighbours in.
const PCA_DIMS: usize = 50;

/// How the neighbours and the repulsive forces are computed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    /// Exact neighbours in the full feature space, Barnes-Hut forces.
    Exact,
    /// Exact neighbours among the top 50 principal components, FFT-interpolated forces.
    Fast,
}

fn embed(
    data: &[f32],
    n: usize,
    dim: usize,
    cfg: &TsneConfig,
    method: Method,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<[f32; 2]>, TsneError> {
    // The neighbourhood must fit in the data: sklearn and openTSNE clamp the same way.
    let perplexity = cfg.perplexity.clamp(1.0, ((n - 1) as f32 / 3.0).max(1.0));
    let k = ((3.0 * perplexity) as usize).clamp(1, n - 1);
    let t0 = std::time::Instant::now();
    let (idx, d2) = match method {
        Method::Exact => knn::exact_selected(data, n, dim, k)?,
        Method::Fast if dim > PCA_DIMS => {
            let z = knn::pca(data, n, dim, PCA_DIMS, cfg.seed)?;
            tracing::debug!("t-SNE PCA {:.2} s", t0.elapsed().as_secs_f64());
            knn::exact_heap(&z, n, PCA_DIMS, k)?
        }
        Method::Fast => knn::exact_heap(data, n, dim, k)?,
    };
    let t1 = std::time::Instant::now();
    let p = affinities_from_neighbours(&idx, &d2, n, k, perplexity);
    let t2 = std::time::Instant::now();
    tracing::debug!(
        "t-SNE of {n} points ({method:?}): neighbours {:.2} s, affinities {:.2} s",
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
    let total = cfg.iterations.max(1);
    if !progress(0, total) {
        return Err(TsneError::Cancelled);
    }
    let repulsion = match method {
        Method::Exact => Repulsion::BarnesHut,
        Method::Fast => Repulsion::Fft(Box::default()),
    };
    let y = optimise(&p, n, cfg, total, repulsion, progress);
    tracing::debug!("t-SNE optimisation {:.2} s", t2.elapsed().as_secs_f64());
    y
}

/// Gaussian conditionals matched to the perplexity by bisection on the precision, then symmetrised:
/// p_ij = (p_j|i + p_i|j) / 2N.
fn affinities_from_neighbours(
    idx: &[u32],
    d2: &[f32],
    n: usize,
    k: usize,
    perplexity: f32,
) -> Affinities {
    let target = f64::from(perplexity).ln();
    let cond: Vec<f32> = d2
        .par_chunks(k)
        .flat_map_iter(|d| {
            let dmin = d.iter().copied().fold(f32::INFINITY, f32::min);
            let (mut lo, mut hi, mut beta) = (0.0f64, f64::INFINITY, 1.0f64);
            let mut p = vec![0f64; k];
            for _ in 0..100 {
                let mut sum = 0.0;
                let mut dot = 0.0;
                for (pj, &dj) in p.iter_mut().zip(d) {
                    let dd = f64::from(dj - dmin);
                    *pj = (-beta * dd).exp();
                    sum += *pj;
                    dot += dd * *pj;
                }
                let entropy = sum.ln() + beta * dot / sum;
                let diff = entropy - target;
                if diff.abs() < 1e-5 {
                    break;
                }
                if diff > 0.0 {
                    lo = beta;
                    beta = if hi.is_finite() {
                        (beta + hi) / 2.0
                    } else {
                        beta * 2.0
                    };
                } else {
                    hi = beta;
                    beta = (beta + lo) / 2.0;
                }
            }
            let sum: f64 = p.iter().sum();
            p.into_iter().map(move |v| (v / sum) as f32)
        })
        .collect();
    let mut triples: Vec<(u32, u32, f32)> = Vec::with_capacity(2 * n * k);
    for i in 0..n {
        for s in 0..k {
            let j = idx[i * k + s];
            let v = cond[i * k + s];
            triples.push((i as u32, j, v));
            triples.push((j, i as u32, v));
        }
    }
    triples.par_sort_unstable_by_key(|t| (t.0, t.1));
    let scale = 1.0 / (2.0 * n as f32);
    let mut offsets = vec![0usize; n + 1];
    let mut cols = Vec::with_capacity(triples.len());
    let mut vals: Vec<f32> = Vec::with_capacity(triples.len());
    let mut last: Option<(u32, u32)> = None;
    for (i, j, v) in triples {
        if last == Some((i, j)) {
            if let Some(x) = vals.last_mut() {
                *x += v * scale;
            }
            continue;
        }
        last = Some((i, j));
        offsets[i as usize + 1] += 1;
        cols.push(j);
        vals.push(v * scale);
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    Affinities {
        offsets,
        cols,
        vals,
    }
}

/// A quadtree cell: centre and half-width of its square, its points' count and coordinate sums, and its four
/// children (`first_child == 0` marks a leaf; `point` is the one point of a single-point leaf).
#[derive(Clone, Copy)]
struct Cell {
    centre: [f32; 2],
    half: f32,
    count: u32,
    sum: [f32; 2],
    first_child: u32,
    point: u32,
}

const NO_POINT: u32 = u32::MAX;
const MAX_STEP: f32 = 5.0;
const MAX_DEPTH: usize = 40;

struct QuadTree {
    cells: Vec<Cell>,
}

impl QuadTree {
    fn from_points(y: &[[f32; 2]]) -> Self {
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in y {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let half = ((hi[0] - lo[0]).max(hi[1] - lo[1]) / 2.0).max(1e-6) * 1.0001;
        let root = Cell {
            centre: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
            half,
            count: 0,
            sum: [0.0; 2],
            first_child: 0,
            point: NO_POINT,
        };
        let mut tree = Self {
            cells: Vec::with_capacity(4 * y.len() + 1),
        };
        tree.cells.push(root);
        for (i, p) in y.iter().enumerate() {
            tree.insert(i as u32, *p, y);
        }
        tree
    }

    fn quadrant(c: &Cell, p: [f32; 2]) -> u32 {
        u32::from(p[0] >= c.centre[0]) + 2 * u32::from(p[1] >= c.centre[1])
    }

    fn insert(&mut self, i: u32, p: [f32; 2], y: &[[f32; 2]]) {
        let mut at = 0usize;
        for depth in 0.. {
            let cell = &mut self.cells[at];
            cell.count += 1;
            cell.sum[0] += p[0];
            cell.sum[1] += p[1];
            if cell.first_child == 0 {
                if cell.count == 1 {
                    cell.point = i;
                    return;
                }
                // Coincident points (or very deep trees) stay together in one leaf.
                if depth >= MAX_DEPTH || cell.point == NO_POINT {
                    cell.point = NO_POINT;
                    return;
                }
                let old = cell.point;
                self.split(at);
                let c = self.cells[at];
                let child = (c.first_child + Self::quadrant(&c, y[old as usize])) as usize;
                let ch = &mut self.cells[child];
                ch.count = 1;
                ch.sum = y[old as usize];
                ch.point = old;
            }
            let c = self.cells[at];
            at = (c.first_child + Self::quadrant(&c, p)) as usize;
        }
    }

    fn split(&mut self, at: usize) {
        let first = self.cells.len() as u32;
        let c = self.cells[at];
        let h = c.half / 2.0;
        for q in 0..4u32 {
            let dx = if q & 1 == 1 { h } else { -h };
            let dy = if q & 2 == 2 { h } else { -h };
            self.cells.push(Cell {
                centre: [c.centre[0] + dx, c.centre[1] + dy],
                half: h,
                count: 0,
                sum: [0.0; 2],
                first_child: 0,
                point: NO_POINT,
            });
        }
        self.cells[at].first_child = first;
        self.cells[at].point = NO_POINT;
    }

    /// Repulsive force numerator on point `i` and its share of the normalisation Z.
    fn repulsion(&self, i: u32, p: [f32; 2], theta2: f32, stack: &mut Vec<u32>) -> ([f32; 2], f64) {
        let mut force = [0f32; 2];
        let mut z = 0f64;
        stack.clear();
        stack.push(0);
        while let Some(at) = stack.pop() {
            let c = &self.cells[at as usize];
            if c.count == 0 || (c.count == 1 && c.point == i) {
                continue;
            }
            let n = c.count as f32;
            let com = [c.sum[0] / n, c.sum[1] / n];
            let d = [p[0] - com[0], p[1] - com[1]];
            let dist2 = d[0] * d[0] + d[1] * d[1];
            let width = 2.0 * c.half;
            if c.first_child == 0 || width * width < theta2 * dist2 {
                let w = 1.0 / (1.0 + dist2);
                z += f64::from(n * w);
                let m = n * w * w;
                force[0] += m * d[0];
                force[1] += m * d[1];
            } else {
                stack.extend(c.first_child..c.first_child + 4);
            }
        }
        (force, z)
    }
}

/// The repulsive-force method of [`optimise`].
enum Repulsion {
    BarnesHut,
    Fft(Box<fft::FftRepulsion>),
}

fn optimise(
    p: &Affinities,
    n: usize,
    cfg: &TsneConfig,
    total: usize,
    mut repulsion: Repulsion,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<[f32; 2]>, TsneError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let normal =
        rand_distr::Normal::new(0.0f32, 1e-4).map_err(|e| TsneError::Compute(e.to_string()))?;
    let mut y: Vec<[f32; 2]> = (0..n)
        .map(|_| [normal.sample(&mut rng), normal.sample(&mut rng)])
        .collect();
    let mut update = vec![[0f32; 2]; n];
    let mut gains = vec![[1f32; 2]; n];
    let mut forces = vec![[0f32; 2]; n];
    let mut rep_seconds = 0.0;
    let theta2 = cfg.theta * cfg.theta;
    for it in 0..total {
        let early = it < cfg.exaggeration_iterations;
        let exaggeration = if early { cfg.early_exaggeration } else { 1.0 };
        let momentum = if early { 0.5 } else { 0.8 };
        // The gradient below carries the factor 4 that openTSNE's omits, hence / 4.
        let learning_rate = (n as f32 / (4.0 * exaggeration.max(1.0))).max(50.0);
        let t_rep = std::time::Instant::now();
        let z = match &mut repulsion {
            Repulsion::BarnesHut => {
                let tree = QuadTree::from_points(&y);
                let rep: Vec<([f32; 2], f64)> = (0..n)
                    .into_par_iter()
                    .map_init(Vec::new, |stack, i| {
                        tree.repulsion(i as u32, y[i], theta2, stack)
                    })
                    .collect();
                for (f, r) in forces.iter_mut().zip(&rep) {
                    *f = r.0;
                }
                rep.iter().map(|r| r.1).sum::<f64>().max(f64::MIN_POSITIVE)
            }
            Repulsion::Fft(f) => f.repulsion(&y, &mut forces),
        };
        rep_seconds += t_rep.elapsed().as_secs_f64();
        let zinv = (1.0 / z) as f32;
        let grads: Vec<[f32; 2]> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut attr = [0f32; 2];
                for e in p.offsets[i]..p.offsets[i + 1] {
                    let j = p.cols[e] as usize;
                    let d = [y[i][0] - y[j][0], y[i][1] - y[j][1]];
                    let w = p.vals[e] / (1.0 + d[0] * d[0] + d[1] * d[1]);
                    attr[0] += w * d[0];
                    attr[1] += w * d[1];
                }
                let r = forces[i];
                [
                    4.0 * (exaggeration * attr[0] - r[0] * zinv),
                    4.0 * (exaggeration * attr[1] - r[1] * zinv),
                ]
            })
            .collect();
        let mut mean = [0f32; 2];
        for i in 0..n {
            for a in 0..2 {
                let g = grads[i][a];
                // Delta-bar-delta: grow the gain while the gradient keeps pushing the same way.
                gains[i][a] = if (g > 0.0) != (update[i][a] > 0.0) {
                    gains[i][a] + 0.2
                } else {
                    (gains[i][a] * 0.8).max(0.01)
                };
                update[i][a] = momentum * update[i][a] - learning_rate * gains[i][a] * g;
            }
            // openTSNE's max_step_norm: no point jumps further than 5 in one step.
            let norm = (update[i][0] * update[i][0] + update[i][1] * update[i][1]).sqrt();
            if norm > MAX_STEP {
                update[i][0] *= MAX_STEP / norm;
                update[i][1] *= MAX_STEP / norm;
            }
            for a in 0..2 {
                y[i][a] += update[i][a];
                mean[a] += y[i][a];
            }
        }
        for m in &mut mean {
            *m /= n as f32;
        }
        for v in &mut y {
            v[0] -= mean[0];
            v[1] -= mean[1];
        }
        if !progress(it + 1, total) {
            return Err(TsneError::Cancelled);
        }
    }
    let span = y
        .iter()
        .fold(0f32, |m, v| m.max(v[0].abs()).max(v[1].abs()));
    tracing::debug!("t-SNE repulsion {rep_seconds:.2} s; points within +-{span:.1}");
    if let Some(i) = y
        .iter()
        .position(|v| !v[0].is_finite() || !v[1].is_finite())
    {
        return Err(TsneError::Compute(format!(
            "point {i} diverged (non-finite coordinates)"
        )));
    }
    Ok(y)
}

/// A finished embedding: prediction rows first, then the class points (one per class column).
#[derive(Clone, Debug, PartialEq)]
pub struct TsneMap {
    pub points: Vec<[f32; 2]>,
    pub num_rows: usize,
    /// `run_key` of the predictions it was computed for.
    pub run_key: u64,
    pub seconds: f32,
    /// The settings it was computed with (the caption names them).
    pub config: TsneConfig,
}

/// Runs t-SNE over the run's sample features and class points (the worker body of the job).
pub fn tsne_job(
    p: &Predictions,
    run_key: u64,
    cfg: TsneConfig,
    handle: &JobHandle,
) -> Result<TsneMap, String> {
    let f = p.features.as_ref().ok_or("this run exported no features")?;
    let mut data = f.samples.clone();
    data.extend_from_slice(&f.classes);
    let start = std::time::Instant::now();
    let points = tsne_from_features(&data, f.dim, &cfg, &mut |done, total| {
        handle.set_progress(done as f32 / total as f32);
        !handle.cancelled()
    })
    .map_err(|e| e.to_string())?;
    Ok(TsneMap {
        points,
        num_rows: p.num_samples(),
        run_key,
        seconds: start.elapsed().as_secs_f32(),
        config: cfg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated Gaussian blobs in 16-D.
    fn blobs(per: usize) -> (Vec<f32>, Vec<usize>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let noise = rand_distr::Normal::new(0.0f32, 0.3).unwrap();
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for c in 0..3 {
            for _ in 0..per {
                for d in 0..16 {
                    let centre = if d % 3 == c { 5.0 } else { 0.0 };
                    data.push(centre + noise.sample(&mut rng));
                }
                labels.push(c);
            }
        }
        (data, labels)
    }

    #[test]
    fn separated_blobs_stay_separated() {
        let (data, labels) = blobs(40);
        let cfg = TsneConfig {
            perplexity: 10.0,
            iterations: 400,
            ..TsneConfig::default()
        };
        let mut calls = 0;
        let y = tsne_from_features(&data, 16, &cfg, &mut |_, _| {
            calls += 1;
            true
        })
        .unwrap();
        assert_eq!(y.len(), 120);
        assert!(calls >= 400);
        assert!(y.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        // Every point's nearest embedded neighbour has its own label.
        let mut agree = 0;
        for i in 0..y.len() {
            let nearest = (0..y.len())
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let da = (y[a][0] - y[i][0]).powi(2) + (y[a][1] - y[i][1]).powi(2);
                    let db = (y[b][0] - y[i][0]).powi(2) + (y[b][1] - y[i][1]).powi(2);
                    da.total_cmp(&db)
                })
                .unwrap();
            agree += usize::from(labels[nearest] == labels[i]);
        }
        assert!(agree >= 118, "{agree} of 120 nearest neighbours agree");
        let spread = y
            .iter()
            .map(|p| p[0].abs().max(p[1].abs()))
            .fold(0.0, f32::max);
        assert!(spread > 1.0, "embedding collapsed (spread {spread})");
    }

    /// Five clusters, each a 3-D Gaussian placed in 64-D by its own random linear map, plus small noise: the
    /// neighbourhoods have structure a map can keep.
    fn manifold_clusters(n: usize) -> Vec<f32> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
        let maps: Vec<f32> = (0..5 * 3 * 64).map(|_| normal.sample(&mut rng)).collect();
        let centres: Vec<f32> = (0..5 * 64).map(|_| 4.0 * normal.sample(&mut rng)).collect();
        (0..n)
            .flat_map(|i| {
                let c = i % 5;
                let z: Vec<f32> = (0..3).map(|_| normal.sample(&mut rng)).collect();
                (0..64)
                    .map(|d| {
                        let m = &maps[(c * 3) * 64..(c * 3 + 3) * 64];
                        centres[c * 64 + d]
                            + (0..3).map(|a| z[a] * m[a * 64 + d]).sum::<f32>()
                            + 0.1 * normal.sample(&mut rng)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Mean share of each point's 10 nearest neighbours in the data that are among its 10 nearest in the map.
    fn ten_nn_kept(data: &[f32], dim: usize, y: &[[f32; 2]]) -> f64 {
        let n = y.len();
        let nearest = |dist: &dyn Fn(usize) -> f32, i: usize| {
            let mut order: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            order.sort_by(|&a, &b| dist(a).total_cmp(&dist(b)));
            order.truncate(10);
            order
        };
        let kept: usize = (0..n)
            .map(|i| {
                let row = &data[i * dim..(i + 1) * dim];
                let high = nearest(
                    &|j| {
                        row.iter()
                            .zip(&data[j * dim..(j + 1) * dim])
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum()
                    },
                    i,
                );
                let low = nearest(
                    &|j| (y[j][0] - y[i][0]).powi(2) + (y[j][1] - y[i][1]).powi(2),
                    i,
                );
                high.iter().filter(|j| low.contains(j)).count()
            })
            .sum();
        kept as f64 / (10 * n) as f64
    }

    /// The fast path (PCA to 50 dimensions, FFT-interpolated forces) keeps neighbourhoods as well as the exact one
    /// (full-width neighbours, Barnes-Hut), and gives the same map twice with the same seed.
    #[test]
    fn the_fast_path_keeps_neighbours_like_the_exact_one() {
        let n = 1500;
        let data = manifold_clusters(n);
        let cfg = TsneConfig {
            iterations: 500,
            ..TsneConfig::default()
        };
        let exact = embed(&data, n, 64, &cfg, Method::Exact, &mut |_, _| true).unwrap();
        let fast = embed(&data, n, 64, &cfg, Method::Fast, &mut |_, _| true).unwrap();
        let (ke, kf) = (
            ten_nn_kept(&data, 64, &exact),
            ten_nn_kept(&data, 64, &fast),
        );
        assert!(ke > 0.3, "exact path keeps {ke:.3} of the 10-NN");
        assert!(
            kf > ke - 0.03,
            "fast path keeps {kf:.3} of the 10-NN, exact {ke:.3}"
        );
        let again = embed(&data, n, 64, &cfg, Method::Fast, &mut |_, _| true).unwrap();
        assert_eq!(fast, again);
    }

    #[test]
    fn cancel_stops_and_bad_input_is_named() {
        let (data, _) = blobs(10);
        let err = tsne_from_features(&data, 16, &TsneConfig::default(), &mut |done, _| done < 5);
        assert_eq!(err, Err(TsneError::Cancelled));
        assert_eq!(
            tsne_from_features(&data[..15], 16, &TsneConfig::default(), &mut |_, _| true),
            Err(TsneError::Shape { len: 15, dim: 16 })
        );
        let mut bad = data.clone();
        bad[16 * 4 + 3] = f32::NAN;
        assert_eq!(
            tsne_from_features(&bad, 16, &TsneConfig::default(), &mut |_, _| true),
            Err(TsneError::NonFinite(4))
        );
    }

    #[test]
    fn the_demo_embeds_with_finite_spread_points() {
        let d = crate::pipeline::fixture::fixture_dataset();
        let p = crate::pipeline::fixture_analysis::with_fixture_analysis(
            crate::pipeline::fixture::fixture_predictions(&d),
            &d,
        );
        let cfg = TsneConfig {
            perplexity: 5.0,
            iterations: 300,
            ..TsneConfig::default()
        };
        let map = tsne_job(&p, 1, cfg, &JobHandle::default()).unwrap();
        assert_eq!(map.points.len(), 24 + 6);
        assert!(map.points.iter().flatten().all(|v| v.is_finite()));
        let xs: Vec<f32> = map.points.iter().map(|p| p[0]).collect();
        let spread = xs.iter().copied().fold(f32::MIN, f32::max)
            - xs.iter().copied().fold(f32::MAX, f32::min);
        assert!(spread > 1.0, "{spread}");
    }
}
