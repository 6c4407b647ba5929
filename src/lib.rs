//! skelzero: zero-shot skeleton-based action recognition.
//!
//! The modules follow the data flow, each floor importing only the floors below it (ARCHITECTURE.md is the map;
//! tests/architecture.rs checks the order): [`util`] -> [`skeleton`] (layouts, sequences, preprocessing) ->
//! [`formats`] (file readers), [`render`] -> [`dataset`] (datasets, splits, class texts, the synthetic action set),
//! [`text`] (sentence encoders), [`nn`] (skeleton encoders and their kernels), [`bridge`] -> [`pretrain`] (encoder
//! pretraining), [`eval`] (metrics) -> [`zsl`] (the zero-shot methods) -> [`experiment`] (run folders, model
//! selection, the benchmark) -> [`pipeline`] (the GUI-free core of the CLI and the explorer) -> [`app`] (the
//! explorer, egui only) -> [`cli`].

pub mod app;
pub mod bridge;
pub mod cli;
pub mod dataset;
pub mod eval;
pub mod experiment;
pub mod formats;
pub mod nn;
pub mod pipeline;
pub mod pretrain;
pub mod render;
pub mod skeleton;
pub mod text;
pub mod util;
pub mod zsl;
