//! Skeleton encoders (ST-GCN, Shift-GCN) in candle: the models, their layers, the fast channels-last CPU kernels
//! (`kernels/`), seeded initialisation (`init.rs`), checkpoints and devices. Their pretraining loop sits one floor up, in `pretrain/`.

pub mod checkpoint;
pub mod device;
pub mod encoder;
pub mod graph;
pub mod init;
pub mod kernels;
pub mod layers;
pub mod optim;
pub mod shiftgcn;
pub mod stgcn;
