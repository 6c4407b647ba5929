//! Hand-written CPU kernels for the channels-last skeleton networks, as candle custom ops with analytic backward.

pub mod gemm;
pub mod ops;
pub mod pointwise;
pub mod shift_ops;
pub mod spatial_conv;
pub mod temporal_conv;
