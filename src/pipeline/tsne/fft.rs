//! The repulsive t-SNE forces by interpolation on an equispaced grid and FFT convolution (FIt-SNE, Linderman et al.
//! 2019, as openTSNE uses it): O(N + G log G) per iteration for a G-node grid instead of Barnes-Hut's O(N log N)
//! tree walks, which at 50,000 points were most of the run.
//!
//! Each point's charges (1, y_x, y_y, |y|^2) are spread onto the 3 x 3 Lagrange nodes of its grid box, convolved with
//! the squared Cauchy kernel 1 / (1 + d^2)^2 (Toeplitz, so a zero-padded circular convolution through a 2-D FFT), and
//! the potentials interpolated back. From them, with w_ij = 1 / (1 + d_ij^2), the forces are
//! sum_j w_ij^2 (y_i - y_j) = y_i phi_0 - (phi_1, phi_2), and the normalisation is
//! sum_j w_ij = (1 + |y_i|^2) phi_0 - 2 y_i . (phi_1, phi_2) + phi_3 (the self terms are 1 and 0; subtracted). The
//! FFT (radix 2, and one radix-3 pass for 1.5x grid steps) is written here, as no FFT crate is a dependency;
//! everything runs in f64, as FIt-SNE does, because the |y|^2 charge cancels against the others.

use rayon::prelude::*;

/// Lagrange nodes per grid box and dimension (FIt-SNE's default).
const NODES: usize = 3;
/// A box is at most this wide in embedding units (FIt-SNE's `intervals_per_integer` = 1).
const MAX_BOX_WIDTH: f64 = 1.0;
/// Fewest boxes per dimension (FIt-SNE's `min_num_intervals` is 50; 42 is what the smallest, 256-point FFT holds).
const MIN_BOXES: usize = 40;

#[derive(Clone, Copy, Default)]
struct C64 {
    re: f64,
    im: f64,
}

impl C64 {
    fn mul(self, o: Self) -> Self {
        Self {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
}

/// Radix-2 FFT of one length, with its twiddles and bit-reversal table.
struct Radix2 {
    len: usize,
    /// Per stage of half-width h, exp(-+2 pi i k / 2h) for k < h at [h + k] (forward, inverse): each stage reads
    /// its twiddles in order.
    twiddles: [Vec<C64>; 2],
    reverse: Vec<u32>,
}

impl Radix2 {
    fn new(len: usize) -> Self {
        debug_assert!(len.is_power_of_two() && len >= 2);
        let table = |sign: f64| {
            let mut t = vec![C64::default(); len];
            let mut h = 1;
            while h < len {
                for k in 0..h {
                    let a = sign * std::f64::consts::PI * k as f64 / h as f64;
                    t[h + k] = C64 {
                        re: a.cos(),
                        im: a.sin(),
                    };
                }
                h *= 2;
            }
            t
        };
        let bits = len.trailing_zeros();
        let reverse = (0..len as u32)
            .map(|i| i.reverse_bits() >> (32 - bits))
            .collect();
        Self {
            len,
            twiddles: [table(-1.0), table(1.0)],
            reverse,
        }
    }

    /// In place; `inverse` conjugates the twiddles (no 1 / len scaling: the caller folds it into the kernel).
    fn run(&self, x: &mut [C64], inverse: bool) {
        let n = self.len;
        for i in 0..n {
            let j = self.reverse[i] as usize;
            if i < j {
                x.swap(i, j);
            }
        }
        // The first stage's twiddle is 1.
        for pair in x.chunks_exact_mut(2) {
            let (a, b) = (pair[0], pair[1]);
            pair[0] = C64 {
                re: a.re + b.re,
                im: a.im + b.im,
            };
            pair[1] = C64 {
                re: a.re - b.re,
                im: a.im - b.im,
            };
        }
        let table = &self.twiddles[usize::from(inverse)];
        let mut half = 2;
        while half < n {
            let tw = &table[half..2 * half];
            for block in x.chunks_exact_mut(2 * half) {
                let (lo, hi) = block.split_at_mut(half);
                for ((a, b), w) in lo.iter_mut().zip(hi.iter_mut()).zip(tw) {
                    let t = b.mul(*w);
                    let u = *a;
                    *a = C64 {
                        re: u.re + t.re,
                        im: u.im + t.im,
                    };
                    *b = C64 {
                        re: u.re - t.re,
                        im: u.im - t.im,
                    };
                }
            }
            half *= 2;
        }
    }
}

/// FFT of a power of two or three times one (one radix-3 pass over three radix-2 transforms), so that the grid can
/// grow by 1.5x steps instead of doubling.
struct Fft {
    len: usize,
    radix2: Radix2,
    /// For len = 3 m: exp(-+2 pi i k / len) for k < len (forward, inverse); empty for a power of two.
    outer: [Vec<C64>; 2],
}

impl Fft {
    fn new(len: usize) -> Self {
        let three = !len.is_power_of_two();
        let m = if three { len / 3 } else { len };
        debug_assert!(m.is_power_of_two() && (!three || 3 * m == len));
        let table = |sign: f64| {
            (0..len)
                .map(|k| {
                    let a = sign * 2.0 * std::f64::consts::PI * k as f64 / len as f64;
                    C64 {
                        re: a.cos(),
                        im: a.sin(),
                    }
                })
                .collect()
        };
        Self {
            len,
            radix2: Radix2::new(m),
            outer: if three {
                [table(-1.0), table(1.0)]
            } else {
                [Vec::new(), Vec::new()]
            },
        }
    }

    /// In place, unscaled; `scratch` is any reusable buffer.
    fn run(&self, x: &mut [C64], inverse: bool, scratch: &mut Vec<C64>) {
        let tw = &self.outer[usize::from(inverse)];
        if tw.is_empty() {
            return self.radix2.run(x, inverse);
        }
        let m = self.len / 3;
        scratch.clear();
        scratch.extend(
            (0..3)
                .flat_map(|r| (0..m).map(move |j| (r, j)))
                .map(|(r, j)| x[3 * j + r]),
        );
        for part in scratch.chunks_exact_mut(m) {
            self.radix2.run(part, inverse);
        }
        // X[k + q m] = Y0[k] + w^q t1 + w^2q t2 with t_r = W^(r k) Y_r[k] and w the cube root of unity of the
        // transform's sign; w^2 = conj(w).
        let sign = if inverse { 1.0 } else { -1.0 };
        let (c, s) = (-0.5, sign * 3f64.sqrt() / 2.0);
        for k in 0..m {
            let y0 = scratch[k];
            let t1 = scratch[m + k].mul(tw[k]);
            let t2 = scratch[2 * m + k].mul(tw[2 * k]);
            let sum = C64 {
                re: t1.re + t2.re,
                im: t1.im + t2.im,
            };
            let diff = C64 {
                re: t1.re - t2.re,
                im: t1.im - t2.im,
            };
            let a = C64 {
                re: y0.re + c * sum.re,
                im: y0.im + c * sum.im,
            };
            // i s (t1 - t2)
            let b = C64 {
                re: -s * diff.im,
                im: s * diff.re,
            };
            x[k] = C64 {
                re: y0.re + sum.re,
                im: y0.im + sum.im,
            };
            x[k + m] = C64 {
                re: a.re + b.re,
                im: a.im + b.im,
            };
            x[k + 2 * m] = C64 {
                re: a.re - b.re,
                im: a.im - b.im,
            };
        }
    }

    /// 2-D transform of a `len` x `len` row-major grid, returned transposed (the kernel's spectrum is symmetric, so
    /// the product is taken in that layout and `inverse_2d` transposes back). Only the first `rows_in` rows are read
    /// (the rest count as zero). The result is swapped into `grid`; `scratch` is left with garbage.
    fn forward_2d(&self, grid: &mut Vec<C64>, scratch: &mut Vec<C64>, rows_in: usize) {
        let n = self.len;
        grid[..rows_in * n]
            .par_chunks_mut(n)
            .for_each_init(Vec::new, |s, r| self.run(r, false, s));
        transpose(grid, scratch, n, rows_in);
        scratch
            .par_chunks_mut(n)
            .for_each_init(Vec::new, |s, r| self.run(r, false, s));
        std::mem::swap(grid, scratch);
    }

    /// Inverse of [`Self::forward_2d`]; only the first `rows_out` rows of the result are computed.
    fn inverse_2d(&self, grid: &mut Vec<C64>, scratch: &mut Vec<C64>, rows_out: usize) {
        let n = self.len;
        grid.par_chunks_mut(n)
            .for_each_init(Vec::new, |s, r| self.run(r, true, s));
        transpose(grid, scratch, n, n);
        scratch[..rows_out * n]
            .par_chunks_mut(n)
            .for_each_init(Vec::new, |s, r| self.run(r, true, s));
        std::mem::swap(grid, scratch);
    }
}

/// `dst = src^T` for an n x n grid, in cache-sized tiles; rows of `src` from `src_rows` on count as zero.
fn transpose(src: &[C64], dst: &mut [C64], n: usize, src_rows: usize) {
    const TILE: usize = 32;
    dst.par_chunks_mut(n * TILE)
        .enumerate()
        .for_each(|(tile_row, out)| {
            let r0 = tile_row * TILE;
            let rows = out.len() / n;
            for c0 in (0..src_rows).step_by(TILE) {
                for r in 0..rows {
                    for c in c0..(c0 + TILE).min(src_rows) {
                        out[r * n + c] = src[c * n + r0 + r];
                    }
                }
            }
            for r in 0..rows {
                out[r * n + src_rows..(r + 1) * n].fill(C64::default());
            }
        });
}

/// Reusable grids and FFT plans for [`repulsion`] (a new size is planned only when the embedding outgrows one).
#[derive(Default)]
pub(super) struct FftRepulsion {
    plan: Option<Fft>,
    a: Vec<C64>,
    b: Vec<C64>,
    kernel: Vec<C64>,
    scratch: Vec<C64>,
    /// The node spacing `kernel` holds the spectrum for (it is recomputed only when the spacing changes).
    kernel_h: f64,
}

/// Box widths come from this ladder (ratio 2^(1/16)), so that the kernel's spectrum, which depends only on the node
/// spacing, is recomputed a few dozen times in a run instead of every iteration.
fn ladder_width(needed: f64) -> f64 {
    ((16.0 * needed.log2()).ceil() / 16.0).exp2()
}

/// Quadratic Lagrange weights of the three nodes at 1/6, 1/2, 5/6 of a box, at position `t` in [0, 1].
fn lagrange(t: f64) -> [f64; 3] {
    let (t0, t1, t2) = (1.0 / 6.0, 0.5, 5.0 / 6.0);
    [
        (t - t1) * (t - t2) / ((t0 - t1) * (t0 - t2)),
        (t - t0) * (t - t2) / ((t1 - t0) * (t1 - t2)),
        (t - t0) * (t - t1) / ((t2 - t0) * (t2 - t1)),
    ]
}

impl FftRepulsion {
    /// For every point, sum_j w_ij^2 (y_i - y_j) (into `forces`); returns Z = sum_{i != j} w_ij.
    pub(super) fn repulsion(&mut self, y: &[[f32; 2]], forces: &mut [[f32; 2]]) -> f64 {
        let n = y.len();
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in y {
            for a in 0..2 {
                lo[a] = lo[a].min(f64::from(p[a]));
                hi[a] = hi[a].max(f64::from(p[a]));
            }
        }
        let range = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-3) * 1.0001;
        // The smallest power-of-two FFT whose grid (half of it: the rest is zero padding) has boxes no wider than
        // MAX_BOX_WIDTH; all of it is used, so the boxes are usually narrower.
        // (The ladder below widens boxes by up to 2^(1/16).) Sizes 256, 384, 512, 768, ...
        let wanted = ((range * 1.0444 / MAX_BOX_WIDTH).ceil() as usize).max(MIN_BOXES);
        let mut len = 256usize;
        while len / 2 / NODES < wanted {
            len = if len.is_power_of_two() {
                len / 2 * 3
            } else {
                len / 3 * 4
            };
        }
        let boxes = len / 2 / NODES;
        let nodes = boxes * NODES;
        let box_width = ladder_width(range / boxes as f64);
        let h = box_width / NODES as f64;
        if self.plan.as_ref().is_none_or(|p| p.len != len) {
            tracing::debug!("t-SNE FFT grid {len} x {len} from range {range:.1}");
            self.plan = Some(Fft::new(len));
            for g in [
                &mut self.a,
                &mut self.b,
                &mut self.kernel,
                &mut self.scratch,
            ] {
                *g = vec![C64::default(); len * len];
            }
            self.kernel_h = 0.0;
        }
        let Some(plan) = self.plan.as_ref() else {
            return 0.0;
        };
        // Centred coordinates keep the |y|^2 charge small against the others.
        let mid = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let span = box_width * boxes as f64;
        let origin = [mid[0] - span / 2.0, mid[1] - span / 2.0];
        // Each point's box and its 3 x 3 node weights.
        let stencils: Vec<(usize, [f64; 9])> = y
            .par_iter()
            .map(|p| {
                let mut base = [0usize; 2];
                let mut w = [[0f64; 3]; 2];
                for a in 0..2 {
                    let u = (f64::from(p[a]) - origin[a]) / box_width;
                    let b = (u.floor().max(0.0) as usize).min(boxes - 1);
                    base[a] = b * NODES;
                    w[a] = lagrange(u - b as f64);
                }
                let mut out = [0f64; 9];
                for (r, wy) in w[1].iter().enumerate() {
                    for (c, wx) in w[0].iter().enumerate() {
                        out[r * 3 + c] = wy * wx;
                    }
                }
                (base[1] * len + base[0], out)
            })
            .collect();
        let charges = |p: &[f32; 2]| {
            let (x, v) = (f64::from(p[0]) - mid[0], f64::from(p[1]) - mid[1]);
            [1.0, x, v, x * x + v * v]
        };
        // Spread: a holds charges 0 and 1 (real, imaginary), b charges 2 and 3; the kernel is real, so the two
        // convolutions of one complex grid stay apart.
        let (a_grid, b_grid) = (&mut self.a, &mut self.b);
        rayon::join(
            || {
                spread(a_grid, &stencils, y, len, nodes, |p| {
                    let q = charges(p);
                    [q[0], q[1]]
                })
            },
            || {
                spread(b_grid, &stencils, y, len, nodes, |p| {
                    let q = charges(p);
                    [q[2], q[3]]
                })
            },
        );
        if h != self.kernel_h {
            self.kernel_h = h;
            // The kernel at every node offset, wrapped circularly, scaled by the inverse FFT's 1 / len^2.
            let scale = 1.0 / (len * len) as f64;
            self.kernel
                .par_chunks_mut(len)
                .enumerate()
                .for_each(|(r, row)| {
                    let dy = r.min(len - r);
                    for (c, k) in row.iter_mut().enumerate() {
                        let dx = c.min(len - c);
                        *k = if dx < nodes && dy < nodes {
                            let d2 = ((dx * dx + dy * dy) as f64) * h * h;
                            C64 {
                                re: scale / ((1.0 + d2) * (1.0 + d2)),
                                im: 0.0,
                            }
                        } else {
                            C64::default()
                        };
                    }
                });
            plan.forward_2d(&mut self.kernel, &mut self.scratch, len);
        }
        for grid in [&mut self.a, &mut self.b] {
            plan.forward_2d(grid, &mut self.scratch, nodes);
            grid.par_iter_mut()
                .zip(self.kernel.par_iter())
                .for_each(|(g, k)| *g = g.mul(*k));
            plan.inverse_2d(grid, &mut self.scratch, nodes);
        }
        let (a, b) = (&self.a, &self.b);
        let z: f64 = forces
            .par_iter_mut()
            .zip(y.par_iter().zip(stencils.par_iter()))
            .map(|(f, (p, (base, w)))| {
                let mut phi = [0f64; 4];
                for r in 0..3 {
                    for c in 0..3 {
                        let at = base + r * len + c;
                        let wt = w[r * 3 + c];
                        phi[0] += wt * a[at].re;
                        phi[1] += wt * a[at].im;
                        phi[2] += wt * b[at].re;
                        phi[3] += wt * b[at].im;
                    }
                }
                let q = charges(p);
                *f = [
                    (q[1] * phi[0] - phi[1]) as f32,
                    (q[2] * phi[0] - phi[2]) as f32,
                ];
                (1.0 + q[3]) * phi[0] - 2.0 * (q[1] * phi[1] + q[2] * phi[2]) + phi[3]
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum();
        (z - n as f64).max(f64::MIN_POSITIVE)
    }
}

/// Clears the first `rows` rows of `grid` and adds each point's two charges (real, imaginary) at its nine nodes.
fn spread(
    grid: &mut [C64],
    stencils: &[(usize, [f64; 9])],
    y: &[[f32; 2]],
    len: usize,
    rows: usize,
    charge: impl Fn(&[f32; 2]) -> [f64; 2],
) {
    // Only the rows the nodes occupy: the 2-D transform reads no others.
    grid[..rows * len].fill(C64::default());
    for ((base, w), p) in stencils.iter().zip(y) {
        let q = charge(p);
        for r in 0..3 {
            for c in 0..3 {
                let g = &mut grid[base + r * len + c];
                g.re += w[r * 3 + c] * q[0];
                g.im += w[r * 3 + c] * q[1];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand_distr::Distribution as _;

    #[test]
    fn fft_matches_the_dft() {
        for n in [16, 24] {
            fft_matches_the_dft_at(n);
        }
    }

    fn fft_matches_the_dft_at(n: usize) {
        let x: Vec<C64> = (0..n)
            .map(|i| C64 {
                re: (i as f64 * 0.7).sin(),
                im: (i as f64 * 0.3).cos(),
            })
            .collect();
        let mut y = x.clone();
        Fft::new(n).run(&mut y, false, &mut Vec::new());
        for (k, got) in y.iter().enumerate() {
            let mut want = C64::default();
            for (j, v) in x.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (j * k) as f64 / n as f64;
                want.re += v.re * a.cos() - v.im * a.sin();
                want.im += v.re * a.sin() + v.im * a.cos();
            }
            assert!((got.re - want.re).abs() < 1e-9 && (got.im - want.im).abs() < 1e-9);
        }
    }

    /// Against the exact O(N^2) sums, on clustered points spread over a range that needs a 512-point FFT.
    #[test]
    fn interpolated_forces_match_the_exact_sums() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let noise = rand_distr::Normal::new(0.0f32, 2.0).unwrap();
        let y: Vec<[f32; 2]> = (0..600)
            .map(|i| {
                let c = (i % 6) as f32;
                [
                    12.0 * c - 30.0 + noise.sample(&mut rng),
                    20.0 * (c * 1.3).sin() + noise.sample(&mut rng),
                ]
            })
            .collect();
        let mut forces = vec![[0f32; 2]; y.len()];
        let z = FftRepulsion::default().repulsion(&y, &mut forces);
        let mut z_exact = 0f64;
        let mut worst = 0f64;
        let mut largest = 0f64;
        let (mut err2, mut norm2) = (0f64, 0f64);
        for (i, p) in y.iter().enumerate() {
            let mut f = [0f64; 2];
            for (j, q) in y.iter().enumerate() {
                if i != j {
                    let d = [f64::from(p[0] - q[0]), f64::from(p[1] - q[1])];
                    let w = 1.0 / (1.0 + d[0] * d[0] + d[1] * d[1]);
                    z_exact += w;
                    f[0] += w * w * d[0];
                    f[1] += w * w * d[1];
                }
            }
            for a in 0..2 {
                let e = f[a] - f64::from(forces[i][a]);
                worst = worst.max(e.abs());
                largest = largest.max(f[a].abs());
                err2 += e * e;
                norm2 += f[a] * f[a];
            }
        }
        // FIt-SNE's grid (boxes at most 1 wide, 3 nodes each) gives 0.2% in Z and 1.6% RMS in the forces here, about
        // Barnes-Hut's at theta 0.5; boxes half as wide give 0.02% and 0.18% (h^3), so the error is the
        // interpolation's, not a bookkeeping one.
        assert!(
            (z - z_exact).abs() < 1e-2 * z_exact,
            "Z {z} against {z_exact}"
        );
        assert!((err2 / norm2).sqrt() < 0.03, "RMS force error");
        assert!(
            worst < 0.1 * largest,
            "force error {worst} (largest {largest})"
        );
    }
}
