//! What kind of run folder a path is, so that a folder given to the wrong flag gets one sentence naming its kind
//! and the flag that takes it, instead of the first missing file or a TOML error.

use std::path::Path;

use super::run::{CLASSES_FILE, WEIGHTS_FILE};

/// The run folders skelzero writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// `skelzero pretrain`: a skeleton encoder (`checkpoint.safetensors`).
    Pretrain,
    /// `skelzero train`: a zero-shot method with its class embeddings (`weights.safetensors`, `classes.safetensors`).
    Train,
}

const PRETRAIN_CHECKPOINT: &str = "checkpoint.safetensors";

impl RunKind {
    /// The kind of run folder `dir` is, judged by its files (`None`: neither, or not a folder).
    pub fn of(dir: &Path) -> Option<Self> {
        if dir.join(WEIGHTS_FILE).is_file() || dir.join(CLASSES_FILE).is_file() {
            Some(Self::Train)
        } else if dir.join(PRETRAIN_CHECKPOINT).is_file() {
            Some(Self::Pretrain)
        } else {
            None
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Pretrain => "a `skelzero pretrain` run (a skeleton encoder)",
            Self::Train => "a `skelzero train` run (a zero-shot method and its class embeddings)",
        }
    }

    /// Where a folder of this kind goes.
    fn takes_it(self) -> &'static str {
        match self {
            Self::Pretrain => {
                "it goes to `extract --run`, `predict --encoder` or `gui --encoder` (with a `skelzero train` run as \
                 --run)"
            }
            Self::Train => {
                "it goes to `eval --run`, `predict --run` or `gui --run` (with a `skelzero pretrain` run as \
                 --encoder)"
            }
        }
    }
}

/// Checks that `dir`, given to `flag`, is a run of kind `want`; a run of the other kind gets an error naming what
/// it is and which flag takes it. A folder that is neither passes (the reader then names the missing file).
pub fn expect_run(dir: &Path, want: RunKind, flag: &str) -> Result<(), String> {
    match RunKind::of(dir) {
        Some(kind) if kind != want => Err(format!(
            "{}: this is {}, but {flag} takes {}; {}",
            dir.display(),
            kind.describe(),
            want.describe(),
            kind.takes_it()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_runs_are_told_apart() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
        assert_eq!(RunKind::of(&root.join("encoder")), Some(RunKind::Pretrain));
        assert_eq!(RunKind::of(&root.join("runs/devise")), Some(RunKind::Train));
        assert_eq!(RunKind::of(&root.join("runs")), None);
        let err = expect_run(&root.join("encoder"), RunKind::Train, "--run").unwrap_err();
        assert!(
            err.contains("skelzero pretrain") && err.contains("--encoder"),
            "{err}"
        );
        assert!(expect_run(&root.join("runs/star"), RunKind::Train, "--run").is_ok());
    }
}
