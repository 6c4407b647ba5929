//! The class split a command is given, one resolver for every command: `--split NAME`, `--unseen 3,7,9` (1-based
//! class ids) or `--split-file PATH`, turned into a [`Partition`] of a dataset, or (for commands that read feature
//! files rather than a dataset) into its seen and unseen classes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Dataset;
use super::protocol::{
    Partition, ProtocolInputs, SplitError, custom_classes, custom_protocol, default_split_name,
    named_protocol,
};
use crate::formats::ReadError;

/// The class split of a command: `--split NAME`, `--unseen 3,7,9` (1-based) or `--split-file PATH`. Commands
/// flatten it into their arguments; with none given, the dataset's default split is used.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
#[group(id = "split_choice", multiple = false)]
pub struct SplitArgs {
    /// A named split or protocol (`skelzero splits` lists them): msr1, pku-inter2, split_1, synse-ntu60-55-5, ...
    #[arg(long, value_name = "NAME")]
    pub split: Option<String>,
    /// Unseen classes as 1-based ids (as `skelzero splits` prints them), e.g. `--unseen 3,7,9`; every other class
    /// is seen.
    #[arg(long, value_name = "IDS", value_delimiter = ',', num_args = 1..)]
    pub unseen: Option<Vec<usize>>,
    /// A TOML or JSON split file (`unseen`, optional `seen`, `train_subjects`, `name`; 1-based class ids).
    #[arg(long, value_name = "PATH")]
    pub split_file: Option<PathBuf>,
}

/// A custom split's classes (0-based, ascending) and name, resolved without a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomSplit {
    pub name: String,
    pub seen: Vec<usize>,
    pub unseen: Vec<usize>,
    /// From a split file: the subjects whose samples train.
    pub train_subjects: Option<Vec<u32>>,
}

impl SplitArgs {
    pub fn named(name: &str) -> Self {
        Self {
            split: Some(name.into()),
            ..Default::default()
        }
    }

    /// `--unseen` with these 1-based ids.
    pub fn unseen_ids(ids: &[usize]) -> Self {
        Self {
            unseen: Some(ids.to_vec()),
            ..Default::default()
        }
    }

    /// `--split-file PATH`.
    pub fn file(path: &Path) -> Self {
        Self {
            split_file: Some(path.to_owned()),
            ..Default::default()
        }
    }

    /// Whether any of the three options was given.
    pub fn is_given(&self) -> bool {
        self.split.is_some() || self.unseen.is_some() || self.split_file.is_some()
    }

    /// The name the split goes by, read without a dataset (a split file is read for its `name`): the named split's
    /// name as given, `unseen-3-7-9`, or the split file's `name` (default: its file stem). `None` when no option
    /// was given.
    pub fn name(&self) -> Result<Option<String>, SplitError> {
        Ok(if let Some(name) = &self.split {
            Some(name.clone())
        } else if let Some(ids) = &self.unseen {
            Some(unseen_name(ids))
        } else if let Some(path) = &self.split_file {
            Some(SplitFile::read(path)?.name_or_stem(path))
        } else {
            None
        })
    }

    /// The classes of a custom split (`--unseen` or `--split-file`) among `num_classes` classes; `None` for a named
    /// split or none, which need their dataset ([`Self::partition`]).
    pub fn custom(&self, num_classes: usize) -> Result<Option<CustomSplit>, SplitError> {
        if let Some(ids) = &self.unseen {
            let (seen, unseen) =
                custom_classes(ids, None, num_classes).map_err(|(_, e)| SplitError::Flag {
                    flag: "--unseen",
                    error: Box::new(e),
                })?;
            return Ok(Some(CustomSplit {
                name: unseen_name(ids),
                seen,
                unseen,
                train_subjects: None,
            }));
        }
        match &self.split_file {
            Some(path) => Ok(Some(SplitFile::read_classes(path, num_classes)?)),
            None => Ok(None),
        }
    }

    /// Seen/unseen classes and train/test samples of `dataset` under this split.
    pub fn partition(
        &self,
        dataset: &Dataset,
        inputs: &ProtocolInputs,
    ) -> Result<Partition, SplitError> {
        let protocol = if let Some(name) = &self.split {
            named_protocol(name, dataset, inputs)?
        } else if let Some(c) = self.custom(dataset.num_classes())? {
            custom_protocol(
                c.name,
                (c.seen, c.unseen),
                c.train_subjects.as_deref(),
                dataset,
                inputs,
            )
        } else {
            let name =
                default_split_name(dataset.kind).ok_or(SplitError::NoDefault(dataset.kind))?;
            named_protocol(name, dataset, inputs)?
        };
        let part = protocol.partition(dataset)?;
        if part.seen.is_empty() || part.unseen.is_empty() {
            return Err(SplitError::Degenerate);
        }
        Ok(part)
    }
}

/// The name of an `--unseen` split: `unseen-3-7-9` (the ids as given).
fn unseen_name(ids: &[usize]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    format!("unseen-{}", ids.join("-"))
}

/// The partition of a split recorded by a run (its name and 0-based classes) on `dataset`: the named split when
/// one of that name gives the same classes, else a custom split of those classes with the dataset's usual sides
/// (a run trained on `--unseen` or a split file). Lets the explorer and `predict` score a custom split's test
/// samples.
pub fn recorded_partition(
    name: &str,
    seen: &[usize],
    unseen: &[usize],
    dataset: &Dataset,
    inputs: &ProtocolInputs,
) -> Result<Partition, SplitError> {
    if let Ok(p) = SplitArgs::named(name).partition(dataset, inputs)
        && p.seen == seen
        && p.unseen == unseen
    {
        return Ok(p);
    }
    let one_based = |v: &[usize]| v.iter().map(|c| c + 1).collect::<Vec<_>>();
    let (seen, unseen) = custom_classes(
        &one_based(unseen),
        Some(&one_based(seen)),
        dataset.num_classes(),
    )
    .map_err(|(_, e)| e)?;
    let protocol = custom_protocol(name.to_owned(), (seen, unseen), None, dataset, inputs);
    protocol.partition(dataset)
}

/// A user's split file, TOML (`.toml`) or JSON (anything else). Class ids are **1-based**, as on the command line.
///
/// ```toml
/// name = "my-split"            # optional
/// unseen = [3, 7, 9]           # required
/// seen = [1, 2, 4, 5, 6, 8]    # optional: default every class not unseen; classes in neither are left out
/// train_subjects = [1, 3, 5]   # optional: samples of other subjects test; default: the dataset's usual sides
/// ```
///
/// The JSON form has the same keys: `{"unseen": [3, 7, 9], "train_subjects": [1, 3, 5]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitFile {
    #[serde(default)]
    pub name: Option<String>,
    pub unseen: Vec<usize>,
    #[serde(default)]
    pub seen: Option<Vec<usize>>,
    #[serde(default)]
    pub train_subjects: Option<Vec<u32>>,
}

impl SplitFile {
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReadError::io(path, e))?;
        Self::from_text(&text, path, is_toml(path))
    }

    /// [`Self::read`] on a text in memory, TOML or JSON; `path` names it in errors.
    pub fn from_text(text: &str, path: &Path, is_toml: bool) -> Result<Self, ReadError> {
        if is_toml {
            toml::from_str(text).map_err(|e| {
                let line = e.span().map(|s| {
                    text.get(..s.start)
                        .map_or(1, |t| t.matches('\n').count() + 1)
                });
                match line {
                    Some(line) => ReadError::line(path, line, e.message()),
                    None => ReadError::file(path, e.message()),
                }
            })
        } else {
            serde_json::from_str(text).map_err(|e| ReadError::line(path, e.line(), e.to_string()))
        }
    }

    /// The split's name: `name`, else the file's stem.
    fn name_or_stem(&self, path: &Path) -> String {
        self.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "custom".into())
        })
    }

    /// Reads the file at `path` and resolves its classes among `num_classes`; a class error (an id out of range or
    /// listed twice, a class both seen and unseen, an empty list) names the file and the line of its list.
    pub fn read_classes(path: &Path, num_classes: usize) -> Result<CustomSplit, SplitError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReadError::io(path, e))?;
        let file = Self::from_text(&text, path, is_toml(path))?;
        let (seen, unseen) = custom_classes(&file.unseen, file.seen.as_deref(), num_classes)
            .map_err(|(field, e)| {
                let message = format!("`{field}`: {e}");
                match field_line(&text, field) {
                    Some(line) => ReadError::line(path, line, message),
                    None => ReadError::file(path, message),
                }
            })?;
        Ok(CustomSplit {
            name: file.name_or_stem(path),
            seen,
            unseen,
            train_subjects: file.train_subjects,
        })
    }
}

fn is_toml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// The 1-based line where the key `field` is set (`field = ...` in TOML, `"field":` in JSON).
fn field_line(text: &str, field: &str) -> Option<usize> {
    let quoted = format!("\"{field}\"");
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(field)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.contains(&quoted)
        })
        .map(|i| i + 1)
}

/// One `--unseen` list of a command that takes several (`bench`): 1-based class ids, comma-separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassIds(pub Vec<usize>);

/// Parses `3,7,9` into [`ClassIds`] (a clap value parser).
pub fn parse_class_ids(s: &str) -> Result<ClassIds, String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<usize>()
                .map_err(|_| format!("`{t}` is not a class id (1-based ids, comma-separated)"))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|ids| {
            if ids.is_empty() {
                Err("no class ids".into())
            } else {
                Ok(ClassIds(ids))
            }
        })
}
