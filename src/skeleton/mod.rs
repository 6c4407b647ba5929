//! The skeleton model: joint layouts, sequences, preprocessing and synthetic actions.

pub mod layout;
pub mod preprocess;
pub mod sequence;
pub mod synthetic;

pub use layout::{BodyPart, JointLayout, LayoutId, PartScheme};
pub use preprocess::{PreprocessConfig, PreprocessError};
pub use sequence::{Sequence, SequenceError};
