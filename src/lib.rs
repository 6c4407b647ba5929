//! skelzero: zero-shot skeleton-based action recognition.
//!
//! The modules follow the data flow: [`formats`] (file readers) -> [`skeleton`] (layouts, sequences,
//! preprocessing) -> [`dataset`] (datasets, splits, class texts, the synthetic demo) -> text encoders -> networks
//! ([`nn`]) and their pretraining ([`pretrain`]) -> zero-shot methods -> evaluation -> the explorer. [`cli`] holds
//! the command-line front end.

pub mod app;
pub mod bridge;
pub mod cli;
pub mod dataset;
pub mod eval;
pub mod formats;
pub mod nn;
pub mod pipeline;
pub mod pretrain;
pub mod render;
pub mod skeleton;
pub mod text;
pub mod util;
pub mod zsl;
