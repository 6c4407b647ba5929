//! Readers (and writers) of file formats: skeleton files, arrays, class texts. Every reader returns
//! [`ReadError`], which names the file and the line or field at fault.

pub mod error;

pub use error::{Location, ReadError};
