//! Supervised pretraining of the skeleton encoders on the seen classes: the training loop, its options, the run
//! folder it writes, and the per-dataset recipe.

pub mod options;
pub mod recipe;
pub mod run;
pub mod train;
