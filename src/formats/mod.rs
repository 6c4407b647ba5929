//! Readers (and writers) of file formats: skeleton files, arrays, class texts. Every reader returns
//! [`ReadError`], which names the file and the line or field at fault.

pub mod error;
pub mod msr_action3d;
pub mod npy;
pub mod ntu_array;
pub mod ntu_skeleton;
pub mod numbers;
pub mod pku_mmd;
pub mod utkinect;

pub use error::{Location, ReadError};
