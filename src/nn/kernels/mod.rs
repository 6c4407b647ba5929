//! Hand-written CPU kernels for the channels-last skeleton networks, as candle custom ops with analytic backward.
//!
//! candle 0.11's generic CPU kernels are slow for the shapes of ST-GCN (broadcast reductions over a non-last dim,
//! strided copies) and some have wrong or missing gradients (`conv1d` kernels, `scatter_add`, `unfold`; see
//! `shared/notes/candle.md` §3.4). Each op here works on contiguous row-major f32 slices with rayon, and each public
//! function has a plain-candle fallback used on non-CPU devices (and by the tests as the reference).
//!
//! All activations are channels-last: rows (sequence, time, joint) x channels.
//!
//! One file per op family: [`ops`] (generic ops and shared helpers), [`batch_norm`], [`gemm`] (the row products the
//! convolutions share), [`pointwise`], [`spatial_conv`] and [`temporal_conv`] (each with its geometry and reference
//! formulation), [`shift_ops`] (Shift-GCN).

pub mod batch_norm;
pub mod gemm;
pub mod ops;
pub mod pointwise;
pub mod shift_ops;
pub mod spatial_conv;
pub mod temporal_conv;
