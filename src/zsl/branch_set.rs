//! An edited InfoCPL branch set: which trained branches score, with which top-k, saved beside a run as
//! `branch_set.toml`.
//!
//! In InfoCPL every branch owns its projection `W_b` and estimator `T_b`; only `k_b` is a free choice at scoring time.
//! So a branch of an edited set names the *trained branch whose weights it uses* and the `k` it attends with: the
//! trained set is `(b, k_b)` for every `b`; "adding a k" re-uses a chosen trained branch's weights with another
//! top-k (the weights were trained for `k_b`, so such a branch is an ablation, not a trained branch). The score is
//! the mean of the enabled branches' `-softplus(-T_b)`, as with the trained set.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Result, ZslError};
use crate::util::format_version::{check_toml_format, toml_with_format};

/// The sidecar file in a run folder.
pub const BRANCH_SET_FILE: &str = "branch_set.toml";
/// The newest `branch_set.toml` format this build reads and the one it writes.
pub const BRANCH_SET_FORMAT: u32 = 1;

/// One branch of a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchSpec {
    /// The trained branch (0-based, in the run's `topk` order) whose projection and estimator score.
    pub weights: usize,
    /// Top-k of the codebook attention (clamped to the codebook size when scoring).
    pub k: usize,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

/// The figure a saved set was chosen on, recorded in `branch_set.toml` as `chosen_on` (and reported by `skelzero
/// eval --json` as `branch_set_basis`). Files written before the field existed were chosen on test figures, the only
/// ones the explorer showed then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChosenOn {
    /// Seen-class validation (the run's fold models).
    Validation,
    /// The test split: unseen test classes.
    Test,
}

impl ChosenOn {
    pub fn name(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::Test => "test",
        }
    }
}

/// What `branch_set.toml` records beside the set.
#[derive(Serialize, Deserialize)]
struct Recorded {
    #[serde(default)]
    chosen_on: Option<ChosenOn>,
    /// The set's validation ZSL top-1 when it was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    validation_zsl: Option<f64>,
    #[serde(rename = "branch", default)]
    branches: Vec<BranchSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchSet {
    #[serde(rename = "branch")]
    pub branches: Vec<BranchSpec>,
}

impl BranchSet {
    /// The trained set: branch `b` with its own `k_b`, all enabled.
    pub fn trained(topk: &[usize]) -> Self {
        Self {
            branches: topk
                .iter()
                .enumerate()
                .map(|(weights, &k)| BranchSpec {
                    weights,
                    k,
                    enabled: true,
                })
                .collect(),
        }
    }

    pub fn enabled(&self) -> impl Iterator<Item = &BranchSpec> {
        self.branches.iter().filter(|b| b.enabled)
    }

    /// A display name: `top-k`, and the weights used when they are not the trained branch of that `k`.
    pub fn name(spec: &BranchSpec, topk: &[usize]) -> String {
        match topk.get(spec.weights) {
            Some(&k0) if k0 == spec.k => format!("top-{}", spec.k),
            Some(&k0) => format!("top-{} (top-{k0} weights)", spec.k),
            None => format!("top-{} (branch {})", spec.k, spec.weights),
        }
    }

    /// Checks the set against a run with `trained` branches; the message names the field.
    pub fn check(&self, trained: usize) -> std::result::Result<(), String> {
        if self.enabled().next().is_none() {
            return Err("field `branch`: no enabled branch (enable at least one)".into());
        }
        for (i, b) in self.branches.iter().enumerate() {
            if b.weights >= trained {
                return Err(format!(
                    "field `branch[{i}].weights`: trained branch {} does not exist (the run has {trained}: 0..{})",
                    b.weights,
                    trained.saturating_sub(1)
                ));
            }
            if b.k == 0 {
                return Err(format!("field `branch[{i}].k`: top-k must be at least 1"));
            }
        }
        Ok(())
    }

    /// Parses `branch_set.toml` text and checks it against a run with `trained` branches; `path` names the file.
    pub fn from_toml(text: &str, path: &Path, trained: usize) -> Result<Self> {
        let file_err = |message: String| ZslError::File {
            path: path.to_owned(),
            message,
        };
        check_toml_format(text, "branch set", BRANCH_SET_FORMAT).map_err(file_err)?;
        let set: Self = toml::from_str(text).map_err(|e| file_err(e.to_string()))?;
        set.check(trained).map_err(file_err)?;
        Ok(set)
    }

    pub fn to_toml(&self) -> Result<String> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| ZslError::Invalid(format!("branch set: {e}")))?;
        Ok(toml_with_format(&text, BRANCH_SET_FORMAT))
    }

    /// Writes `dir/branch_set.toml` atomically with the figure the set was chosen on (and its validation ZSL
    /// top-1, where known); returns its path.
    pub fn save(
        &self,
        dir: &Path,
        chosen_on: ChosenOn,
        validation_zsl: Option<f64>,
    ) -> Result<PathBuf> {
        let path = dir.join(BRANCH_SET_FILE);
        let recorded = Recorded {
            chosen_on: Some(chosen_on),
            validation_zsl,
            branches: self.branches.clone(),
        };
        let text = toml::to_string_pretty(&recorded)
            .map_err(|e| ZslError::Invalid(format!("branch set: {e}")))?;
        let text = toml_with_format(&text, BRANCH_SET_FORMAT);
        crate::util::write_bytes_atomic(&path, text.as_bytes()).map_err(|source| ZslError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// The figure the set in the file at `path` was chosen on: `Test` for files written before it was recorded.
    pub fn chosen_on(path: &Path) -> Result<ChosenOn> {
        let text = std::fs::read_to_string(path).map_err(|source| ZslError::Io {
            path: path.to_owned(),
            source,
        })?;
        let r: Recorded = toml::from_str(&text).map_err(|e| ZslError::File {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(r.chosen_on.unwrap_or(ChosenOn::Test))
    }

    /// Reads `dir/branch_set.toml` when there is one.
    pub fn load(dir: &Path, trained: usize) -> Result<Option<Self>> {
        let path = dir.join(BRANCH_SET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_toml(&text, &path, trained).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ZslError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_clear_errors() {
        let mut set = BranchSet::trained(&[1, 5]);
        set.branches[0].enabled = false;
        set.branches.push(BranchSpec {
            weights: 1,
            k: 3,
            enabled: true,
        });
        let dir = tempfile::tempdir().unwrap();
        let path = set.save(dir.path(), ChosenOn::Test, None).unwrap();
        assert_eq!(BranchSet::load(dir.path(), 2).unwrap(), Some(set.clone()));
        assert_eq!(BranchSet::chosen_on(&path).unwrap(), ChosenOn::Test);
        set.save(dir.path(), ChosenOn::Validation, Some(0.5))
            .unwrap();
        assert_eq!(BranchSet::load(dir.path(), 2).unwrap(), Some(set.clone()));
        assert_eq!(BranchSet::chosen_on(&path).unwrap(), ChosenOn::Validation);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("validation_zsl = 0.5"), "{text}");
        // A file written before `chosen_on` existed was chosen on the test figures.
        std::fs::write(&path, "format = 1\n[[branch]]\nweights = 0\nk = 2\n").unwrap();
        assert_eq!(BranchSet::chosen_on(&path).unwrap(), ChosenOn::Test);
        set.save(dir.path(), ChosenOn::Validation, None).unwrap();
        assert_eq!(
            BranchSet::name(&set.branches[2], &[1, 5]),
            "top-3 (top-5 weights)"
        );
        // A run with one trained branch cannot use branch 1's weights.
        let err = BranchSet::load(dir.path(), 1).unwrap_err().to_string();
        assert!(
            err.contains("branch_set.toml") && err.contains("branch[1].weights"),
            "{err}"
        );
        std::fs::write(&path, "format = 1\n[[branch]]\nweights = 0\nk = 0\n").unwrap();
        let err = BranchSet::load(dir.path(), 2).unwrap_err().to_string();
        assert!(err.contains("branch[0].k"), "{err}");
        std::fs::write(
            &path,
            "format = 1\n[[branch]]\nweights = 0\nk = 2\nenabled = false\n",
        )
        .unwrap();
        let err = BranchSet::load(dir.path(), 2).unwrap_err().to_string();
        assert!(err.contains("no enabled branch"), "{err}");
        std::fs::write(&path, "format = 1\n[[branch]]\nweights = \"x\"\nk = 2\n").unwrap();
        let err = BranchSet::load(dir.path(), 2).unwrap_err().to_string();
        assert!(err.contains("weights") && err.contains("line"), "{err}");
        assert_eq!(BranchSet::load(&dir.path().join("none"), 2).unwrap(), None);
    }
}
