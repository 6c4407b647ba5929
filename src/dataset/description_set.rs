//! Description sets: every text a zero-shot method reads about each class (name, sentence, six body-part
//! descriptions, phrase codebook), as the explorer's description editor edits them, with an undo/redo history and a
//! diff against the set the run was made from.
//!
//! # File format (`format = 1`, TOML)
//!
//! ```toml
//! format = 1
//! run = "DeViSE on synth-demo"      # optional: what the set was edited for (informative)
//!
//! [[class]]
//! name = "wave left hand"
//! sentence = "A person raises the left arm and waves the left hand."
//! phrases = ["raise the left arm", "wave the hand"]   # optional (InfoCPL's codebook)
//!
//! [class.parts]                     # optional (STAR): all six or none
//! head = "stays still"
//! hand = "the left hand waves"
//! arm = "the left arm is raised"
//! hip = "stays still"
//! leg = "stand straight"
//! foot = "flat on the ground"
//! ```
//!
//! One `[[class]]` table per class, in class order. Unknown keys are refused, a file from a newer skelzero
//! (`format` above 1) is refused, and every error names the file and the line (or field).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::texts::{ClassTexts, PART_NAMES};
use crate::formats::ReadError;
use crate::util::format_version::{check_toml_format, toml_with_format};

/// The newest description-set format this build reads, and the one it writes.
pub const FORMAT: u32 = 1;

/// One class's texts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassDescription {
    pub name: String,
    /// The descriptive sentence (the class name stands in when a dataset has none).
    pub sentence: String,
    /// Head, hand, arm, hip, leg and foot descriptions ([`PART_NAMES`]).
    pub parts: Option<[String; 6]>,
    /// The phrase codebook.
    pub phrases: Option<Vec<String>>,
}

/// The texts of every class of a run, in class order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescriptionSet {
    pub classes: Vec<ClassDescription>,
}

/// One editable text field of a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Sentence,
    /// A body part, indexing [`PART_NAMES`].
    Part(usize),
    Phrases,
}

impl Field {
    /// Every field, in the order the editor shows them.
    pub const ALL: [Field; 9] = [
        Field::Name,
        Field::Sentence,
        Field::Part(0),
        Field::Part(1),
        Field::Part(2),
        Field::Part(3),
        Field::Part(4),
        Field::Part(5),
        Field::Phrases,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Sentence => "sentence",
            Field::Part(p) => PART_NAMES.get(p).copied().unwrap_or("part"),
            Field::Phrases => "phrases",
        }
    }
}

/// The value of a field: a text, or the phrase list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(t) => f.write_str(t),
            Value::List(l) => f.write_str(&l.join(" | ")),
        }
    }
}

/// One field that differs between two sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub class: usize,
    pub field: Field,
    pub old: Value,
    pub new: Value,
}

impl DescriptionSet {
    /// The set of a dataset's class texts; the class name stands in for a missing sentence.
    pub fn from_class_texts(texts: &ClassTexts) -> Self {
        let classes = (0..texts.num_classes())
            .map(|k| ClassDescription {
                name: texts.names[k].clone(),
                sentence: texts.sentence_or_name(k).unwrap_or_default().to_owned(),
                parts: texts.parts.as_ref().and_then(|p| p.get(k).cloned()),
                phrases: texts.phrases.as_ref().and_then(|p| p.get(k).cloned()),
            })
            .collect();
        Self { classes }
    }

    /// The set as class texts (sentences always present; parts and phrases when every class has them).
    pub fn to_class_texts(&self) -> ClassTexts {
        let all = |f: &dyn Fn(&ClassDescription) -> bool| self.classes.iter().all(f);
        ClassTexts {
            names: self.classes.iter().map(|c| c.name.clone()).collect(),
            sentences: Some(self.classes.iter().map(|c| c.sentence.clone()).collect()),
            parts: all(&|c| c.parts.is_some()).then(|| {
                self.classes
                    .iter()
                    .map(|c| c.parts.clone().unwrap_or_default())
                    .collect()
            }),
            phrases: all(&|c| c.phrases.is_some()).then(|| {
                self.classes
                    .iter()
                    .map(|c| c.phrases.clone().unwrap_or_default())
                    .collect()
            }),
        }
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The value of one field; `None` for a class out of range or a field the class does not have.
    pub fn get(&self, class: usize, field: Field) -> Option<Value> {
        let c = self.classes.get(class)?;
        Some(match field {
            Field::Name => Value::Text(c.name.clone()),
            Field::Sentence => Value::Text(c.sentence.clone()),
            Field::Part(p) => Value::Text(c.parts.as_ref()?.get(p)?.clone()),
            Field::Phrases => Value::List(c.phrases.clone()?),
        })
    }

    /// Sets one field; false (and nothing changes) when the class, the field or the kind of value does not fit.
    pub fn set(&mut self, class: usize, field: Field, value: Value) -> bool {
        let Some(c) = self.classes.get_mut(class) else {
            return false;
        };
        match (field, value) {
            (Field::Name, Value::Text(t)) => c.name = t,
            (Field::Sentence, Value::Text(t)) => c.sentence = t,
            (Field::Part(p), Value::Text(t)) => match c.parts.as_mut().and_then(|a| a.get_mut(p)) {
                Some(slot) => *slot = t,
                None => return false,
            },
            (Field::Phrases, Value::List(l)) if c.phrases.is_some() => c.phrases = Some(l),
            _ => return false,
        }
        true
    }

    /// Every field that differs from `self` to `other` (classes both have, in class and field order).
    pub fn diff(&self, other: &DescriptionSet) -> Vec<Change> {
        let mut out = Vec::new();
        for class in 0..self.len().min(other.len()) {
            for field in Field::ALL {
                if let (Some(old), Some(new)) = (self.get(class, field), other.get(class, field))
                    && old != new
                {
                    out.push(Change {
                        class,
                        field,
                        old,
                        new,
                    });
                }
            }
        }
        out
    }

    /// The set as a `format = 1` TOML document; `run` (optional) says what it was edited for.
    pub fn to_toml(&self, run: Option<&str>) -> String {
        let file = SetFile {
            run: run.map(str::to_owned),
            class: self.classes.iter().map(ClassFile::from).collect(),
        };
        // Plain strings, vectors and tables always serialise.
        let body = toml::to_string_pretty(&file).unwrap_or_default();
        toml_with_format(&body, FORMAT)
    }

    /// Parses a description-set file's text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ReadError> {
        check_toml_format(text, "description set", FORMAT).map_err(|e| ReadError::file(path, e))?;
        let file: SetFileIn = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.get(..s.start)
                    .map_or(1, |t| t.matches('\n').count() + 1)
            });
            match line {
                Some(line) => ReadError::line(path, line, e.message().trim()),
                None => ReadError::file(path, e.message().trim()),
            }
        })?;
        if file.class.is_empty() {
            return Err(ReadError::file(path, "no [[class]] tables"));
        }
        let classes: Vec<ClassDescription> = file.class.into_iter().map(Into::into).collect();
        for (k, c) in classes.iter().enumerate() {
            let field = |f: &str| format!("class[{k}].{f}");
            if c.name.trim().is_empty() {
                return Err(ReadError::field(path, field("name"), "empty class name"));
            }
            if c.phrases.as_ref().is_some_and(Vec::is_empty) {
                return Err(ReadError::field(
                    path,
                    field("phrases"),
                    "empty phrase list",
                ));
            }
        }
        let parts: Vec<bool> = classes.iter().map(|c| c.parts.is_some()).collect();
        let phrases: Vec<bool> = classes.iter().map(|c| c.phrases.is_some()).collect();
        for (what, has) in [("parts", parts), ("phrases", phrases)] {
            let n = has.iter().filter(|&&h| h).count();
            if n != 0
                && let Some(k) = has.iter().position(|&h| !h)
            {
                return Err(ReadError::field(
                    path,
                    format!("class[{k}].{what}"),
                    format!(
                        "missing, while {n} of {} classes have {what}",
                        classes.len()
                    ),
                ));
            }
        }
        Ok(Self { classes })
    }

    /// Reads a description-set file.
    pub fn load(path: &Path) -> Result<Self, ReadError> {
        let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
        let text = super::texts::text_from_bytes(bytes, path)?;
        Self::from_toml(&text, path)
    }

    /// Writes the set atomically (temporary file + rename).
    pub fn save(&self, path: &Path, run: Option<&str>) -> std::io::Result<()> {
        crate::util::write_bytes_atomic(path, self.to_toml(run).as_bytes())
    }
}

/// The file's body after the `format` line.
#[derive(Serialize)]
struct SetFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    class: Vec<ClassFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFileIn {
    #[allow(dead_code)]
    format: Option<u32>,
    #[allow(dead_code)]
    run: Option<String>,
    #[serde(default)]
    class: Vec<ClassFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    name: String,
    #[serde(default)]
    sentence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phrases: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parts: Option<PartsFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartsFile {
    head: String,
    hand: String,
    arm: String,
    hip: String,
    leg: String,
    foot: String,
}

impl From<&ClassDescription> for ClassFile {
    fn from(c: &ClassDescription) -> Self {
        Self {
            name: c.name.clone(),
            sentence: Some(c.sentence.clone()),
            phrases: c.phrases.clone(),
            parts: c
                .parts
                .clone()
                .map(|[head, hand, arm, hip, leg, foot]| PartsFile {
                    head,
                    hand,
                    arm,
                    hip,
                    leg,
                    foot,
                }),
        }
    }
}

impl From<ClassFile> for ClassDescription {
    fn from(c: ClassFile) -> Self {
        Self {
            sentence: c.sentence.unwrap_or_else(|| c.name.clone()),
            name: c.name,
            phrases: c.phrases,
            parts: c
                .parts
                .map(|p| [p.head, p.hand, p.arm, p.hip, p.leg, p.foot]),
        }
    }
}

/// One undoable step: the fields it changed, with their values before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub label: String,
    pub changes: Vec<Change>,
}

/// A description set being edited: the original it started from, the current one, and the undo and redo stacks.
#[derive(Clone, Debug, Default)]
pub struct EditHistory {
    original: DescriptionSet,
    current: DescriptionSet,
    undo: Vec<Edit>,
    redo: Vec<Edit>,
}

impl EditHistory {
    pub fn new(original: DescriptionSet) -> Self {
        Self {
            current: original.clone(),
            original,
            undo: Vec::new(),
            redo: Vec::new(),
        }
    }

    pub fn original(&self) -> &DescriptionSet {
        &self.original
    }

    pub fn current(&self) -> &DescriptionSet {
        &self.current
    }

    /// Sets one field as an undoable edit; false when nothing changed (same value, or the field does not fit).
    pub fn set(&mut self, class: usize, field: Field, value: Value) -> bool {
        let Some(old) = self.current.get(class, field) else {
            return false;
        };
        if old == value || !self.current.set(class, field, value.clone()) {
            return false;
        }
        let name = self.current.classes[class].name.clone();
        self.push(Edit {
            label: format!("{name}: {}", field.label()),
            changes: vec![Change {
                class,
                field,
                old,
                new: value,
            }],
        });
        true
    }

    /// Makes `set` current as one undoable edit (revert, load, restore); false when it has another class count or
    /// nothing differs.
    pub fn replace(&mut self, label: &str, set: &DescriptionSet) -> bool {
        if set.len() != self.current.len() {
            return false;
        }
        let changes = self.current.diff(set);
        if changes.is_empty() {
            return false;
        }
        for c in &changes {
            self.current.set(c.class, c.field, c.new.clone());
        }
        self.push(Edit {
            label: label.to_owned(),
            changes,
        });
        true
    }

    fn push(&mut self, edit: Edit) {
        self.undo.push(edit);
        self.redo.clear();
    }

    /// Undoes the last edit; returns it, or `None` when there is none.
    pub fn undo(&mut self) -> Option<&Edit> {
        let edit = self.undo.pop()?;
        for c in edit.changes.iter().rev() {
            self.current.set(c.class, c.field, c.old.clone());
        }
        self.redo.push(edit);
        self.redo.last()
    }

    /// Applies the last undone edit again.
    pub fn redo(&mut self) -> Option<&Edit> {
        let edit = self.redo.pop()?;
        for c in &edit.changes {
            self.current.set(c.class, c.field, c.new.clone());
        }
        self.undo.push(edit);
        self.undo.last()
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// What differs from the original set.
    pub fn diff(&self) -> Vec<Change> {
        self.original.diff(&self.current)
    }

    pub fn is_modified(&self) -> bool {
        self.current != self.original
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DescriptionSet {
        DescriptionSet {
            classes: vec![
                ClassDescription {
                    name: "wave".into(),
                    sentence: "A person waves \"hello\".".into(),
                    parts: Some(std::array::from_fn(|p| format!("part {p} of wave"))),
                    phrases: Some(vec!["raise the arm".into(), "wave".into()]),
                },
                ClassDescription {
                    name: "kick".into(),
                    sentence: "A person kicks\nforward.".into(),
                    parts: Some(std::array::from_fn(|p| format!("part {p} of kick"))),
                    phrases: Some(vec!["swing the leg".into()]),
                },
            ],
        }
    }

    #[test]
    fn toml_round_trip_keeps_every_field() {
        let set = sample();
        let text = set.to_toml(Some("DeViSE on x"));
        assert!(text.starts_with("format = 1\n"), "{text}");
        let back = DescriptionSet::from_toml(&text, Path::new("s.toml")).unwrap();
        assert_eq!(back, set);
        // Names only: sentences default to the names, no parts, no phrases.
        let minimal = "format = 1\n[[class]]\nname = \"clap\"\n";
        let m = DescriptionSet::from_toml(minimal, Path::new("m.toml")).unwrap();
        assert_eq!(m.classes[0].sentence, "clap");
        assert!(m.classes[0].parts.is_none() && m.classes[0].phrases.is_none());
        let texts = set.to_class_texts();
        assert_eq!(DescriptionSet::from_class_texts(&texts), set);
    }

    #[test]
    fn bad_files_name_the_file_and_line_or_field() {
        let p = Path::new("set.toml");
        let err = |text: &str| DescriptionSet::from_toml(text, p).unwrap_err().to_string();
        let full = sample().to_toml(None);
        // Truncated in the middle of a string.
        let cut = &full[..full.find("kicks").unwrap()];
        let e = err(cut);
        assert!(e.starts_with("set.toml, line "), "{e}");
        // Wrong type.
        let e = err("format = 1\n[[class]]\nname = \"a\"\nsentence = 3\n");
        assert!(e.starts_with("set.toml, line 4:"), "{e}");
        // Unknown key.
        let e = err("format = 1\n[[class]]\nname = \"a\"\ncolour = \"red\"\n");
        assert!(e.contains("line 4") && e.contains("colour"), "{e}");
        // A future format.
        let e = err("format = 2\n[[class]]\nname = \"a\"\n");
        assert!(
            e.contains("format 2 was written by a newer skelzero"),
            "{e}"
        );
        assert!(e.starts_with("set.toml"), "{e}");
        // Parts on some classes only.
        let e = err(
            "[[class]]\nname = \"a\"\n[class.parts]\nhead = \"h\"\nhand = \"h\"\narm = \"a\"\nhip = \"h\"\nleg = \"l\"\nfoot = \"f\"\n[[class]]\nname = \"b\"\n",
        );
        assert!(e.contains("class[1].parts"), "{e}");
        let e = err("format = 1\n[[class]]\nname = \" \"\n");
        assert!(e.contains("class[0].name"), "{e}");
        assert!(err("format = 1\n").contains("no [[class]] tables"));
    }

    #[test]
    fn undo_redo_and_diff() {
        let mut h = EditHistory::new(sample());
        assert!(!h.can_undo() && h.diff().is_empty());
        assert!(h.set(1, Field::Sentence, Value::Text("A person jumps.".into())));
        // The same value again is no edit.
        assert!(!h.set(1, Field::Sentence, Value::Text("A person jumps.".into())));
        assert!(h.set(0, Field::Part(2), Value::Text("arm up".into())));
        assert!(!h.set(0, Field::Phrases, Value::Text("not a list".into())));
        let diff = h.diff();
        assert_eq!(diff.len(), 2);
        assert_eq!(diff[0].class, 0);
        assert_eq!(diff[0].field, Field::Part(2));
        assert_eq!(diff[1].old, Value::Text("A person kicks\nforward.".into()));
        assert_eq!(h.undo().unwrap().label, "wave: arm");
        assert_eq!(h.diff().len(), 1);
        h.undo();
        assert_eq!(h.current(), h.original());
        assert!(h.undo().is_none());
        h.redo();
        assert_eq!(
            h.current().classes[1].sentence,
            "A person jumps.",
            "redo re-applies"
        );
        // A new edit clears the redo stack.
        assert!(h.set(0, Field::Name, Value::Text("wave hand".into())));
        assert!(!h.can_redo());
        // Revert as one undoable step.
        let original = h.original().clone();
        assert!(h.replace("Revert", &original));
        assert!(!h.is_modified());
        h.undo();
        assert_eq!(h.diff().len(), 2);
    }
}
