//! The one error type of every file reader: it always names the file, and the line or field when there is one.

use std::path::{Path, PathBuf};

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The whole file.
    File,
    /// A 1-based line of a text file.
    Line(usize),
    /// A named field of a binary or structured file (an `.npy` header key, a tensor name, a JSON key).
    Field(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File => Ok(()),
            Self::Line(n) => write!(f, ", line {n}"),
            Self::Field(name) => write!(f, ", field `{name}`"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    // The cause is in the message, not the error chain, so `{:#}` does not print it twice.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}{location}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        location: Location,
        message: String,
    },
}

impl ReadError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }

    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            location: Location::File,
            message: message.into(),
        }
    }

    pub fn line(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            location: Location::Line(line),
            message: message.into(),
        }
    }

    pub fn field(path: &Path, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            location: Location::Field(field.into()),
            message: message.into(),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::Invalid { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_place() {
        let p = Path::new("data/a.txt");
        assert_eq!(
            ReadError::line(p, 7, "expected 150 numbers, got 3").to_string(),
            "data/a.txt, line 7: expected 150 numbers, got 3"
        );
        assert_eq!(
            ReadError::field(p, "shape", "bad").to_string(),
            "data/a.txt, field `shape`: bad"
        );
        assert_eq!(
            ReadError::file(p, "empty file").to_string(),
            "data/a.txt: empty file"
        );
    }
}
