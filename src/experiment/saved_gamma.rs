//! A calibrated-stacking gamma saved with a run from the explorer's GZSL calibration view: `gamma.toml` in the run
//! folder, with the figure it was chosen on. [`super::run::load_run`] applies it (so `eval`, `predict` and the
//! explorer score with it), `skelzero eval --json` reports it as `gamma_source: "user"` with its `gamma_basis`, and
//! the run's label says so. The run's own gamma (chosen on seen-class validation at training time) stays in
//! `config.toml`; deleting the file restores it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::util::format_version::{check_toml_format, toml_with_format};
use crate::zsl::branch_set::ChosenOn;
use crate::zsl::{Result, ZslError};

/// The file in a run folder.
pub const GAMMA_FILE: &str = "gamma.toml";
/// The newest `gamma.toml` format this build reads and the one it writes.
pub const GAMMA_FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedGamma {
    /// The gamma scored with.
    pub gamma: f64,
    /// The figure it was chosen on: the explorer's curves are on the test split, so `test` there.
    pub chosen_on: ChosenOn,
    /// The run's own gamma, chosen on seen-class validation (from `config.toml`), for the record.
    pub validation_gamma: f64,
}

impl SavedGamma {
    /// Writes `dir/gamma.toml` atomically; returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(GAMMA_FILE);
        if !self.gamma.is_finite() {
            return Err(ZslError::Invalid(format!(
                "{}: gamma must be a finite number, not {}",
                path.display(),
                self.gamma
            )));
        }
        let text =
            toml::to_string_pretty(self).map_err(|e| ZslError::Invalid(format!("gamma: {e}")))?;
        let text = toml_with_format(&text, GAMMA_FORMAT);
        crate::util::write_bytes_atomic(&path, text.as_bytes()).map_err(|source| ZslError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Reads `dir/gamma.toml` when there is one.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(GAMMA_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ZslError::Io { path, source }),
        };
        let file_err = |message: String| ZslError::File {
            path: path.clone(),
            message,
        };
        check_toml_format(&text, "gamma", GAMMA_FORMAT).map_err(file_err)?;
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
        table.remove(crate::util::format_version::FORMAT_KEY);
        let saved: Self = table
            .try_into()
            .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
        if !saved.gamma.is_finite() {
            return Err(file_err(format!(
                "field `gamma`: {} is not a finite number",
                saved.gamma
            )));
        }
        Ok(Some(saved))
    }

    /// Deletes `dir/gamma.toml`; `false` when there was none.
    pub fn forget(dir: &Path) -> Result<bool> {
        let path = dir.join(GAMMA_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(ZslError::Io { path, source }),
        }
    }

    /// How the run's label names it.
    pub fn label(&self) -> String {
        format!(
            "saved gamma {:.3} (chosen on {}; validation gamma {:.3})",
            self.gamma,
            self.chosen_on.name(),
            self.validation_gamma
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_forget_and_a_clear_error_for_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SavedGamma::load(dir.path()).unwrap(), None);
        let g = SavedGamma {
            gamma: 0.125,
            chosen_on: ChosenOn::Test,
            validation_gamma: -0.5,
        };
        let path = g.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("format = 1\n"), "{text}");
        assert_eq!(SavedGamma::load(dir.path()).unwrap(), Some(g));
        assert!(SavedGamma::forget(dir.path()).unwrap());
        assert!(!SavedGamma::forget(dir.path()).unwrap());
        std::fs::write(
            &path,
            "gamma = \"high\"\nchosen_on = \"test\"\nvalidation_gamma = 0.0\n",
        )
        .unwrap();
        let e = SavedGamma::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(GAMMA_FILE) && e.contains("gamma"), "{e}");
    }
}
