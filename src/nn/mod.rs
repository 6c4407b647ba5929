//! Skeleton encoders (ST-GCN, Shift-GCN) in candle, with fast channels-last CPU kernels. Their pretraining loop sits
//! one floor up, in `pretrain/`.

pub mod checkpoint;
pub mod device;
pub mod encoder;
pub mod gemm;
pub mod graph;
pub mod layers;
pub mod ops;
pub mod optim;
pub mod pointwise;
pub mod shift_ops;
pub mod shiftgcn;
pub mod spatial_conv;
pub mod stgcn;
pub mod temporal_conv;
