//! The skeleton model: joint layouts, sequences and preprocessing.

pub mod layout;
pub mod preprocess;
pub mod sequence;

pub use layout::{BodyPart, JointLayout, LayoutId, PartScheme, Side};
pub use preprocess::{PreprocessConfig, PreprocessError};
pub use sequence::{Sequence, SequenceError};
