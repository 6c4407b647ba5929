//! The skeleton model: joint layouts, sequences, preprocessing and synthetic actions.

pub mod layout;
pub mod sequence;

pub use layout::{BodyPart, JointLayout, LayoutId, PartScheme};
pub use sequence::{Sequence, SequenceError};
