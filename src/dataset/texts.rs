//! Class texts: names, one sentence per class, six body-part descriptions and a multi-phrase codebook.
//!
//! Accepted file shapes (UTF-8; a trailing `\r` is ignored; every error names the file and the line):
//!
//! - **Name/description lines** (SMIE `*_des.txt`, SA-DVAE `*_llm.txt`): one non-empty line per class, in class
//!   order ([`read_lines`]).
//! - **STAR part descriptions** (`*_part_descriptions.txt`): one line per class,
//!   `name; Head: ...; Hand: ...; Arm: ...; Hip: ...; Leg: ...; Foot: ...` ([`read_star_parts`]).
//! - **Neuron JSON** (`spatial_*.json`, `temporal_*.json`): an object `{"class name": ["phrase", ...], ...}` in class
//!   order ([`read_neuron_json`]).
//! - **SA-DVAE CSV** (`ntu60.csv`, `pku51.csv`): a header `idx,label`, then `id,text` with consecutive ids starting
//!   at 0 or 1; the text is everything after the first comma ([`read_sadvae_csv`]).
//! - **TSV folder** (`msr-action3d/text/`, and the format to write your own): tab-separated with one header line:
//!   `classes.tsv` (`id` or `idx0`, `name`; required), `sentence.tsv` (`id`, `sentence`), `parts.tsv`
//!   (`id`, `head`, `hand`, `arm`, `hip`, `leg`, `foot`), `phrases.tsv` (`id`, `phrase`, several rows per class).
//!   Rows join on `id`; the optional files may be absent ([`ClassTexts::from_tsv_dir`]).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::formats::ReadError;

/// The six body parts of STAR's descriptions, in order.
pub const PART_NAMES: [&str; 6] = ["head", "hand", "arm", "hip", "leg", "foot"];

/// How a body-part description is turned into the text the sentence encoder reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartTextForm {
    /// The description alone (`Tilts slightly back ...`): skelzero's default.
    #[default]
    Plain,
    /// `<class name>, <Part>: <description>`, the string the official STAR encodes (Text_Prompt.py joins the line's
    /// first `;`-field, the class name, and the part's field, which keeps its ` Head:` key, with a `,`).
    ClassNamePrefixed,
}

impl PartTextForm {
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::ClassNamePrefixed => "class-name-prefixed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Plain, Self::ClassNamePrefixed]
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The text of part `part` ([`PART_NAMES`] order) of the class `name` whose description is `description`.
    pub fn text(self, name: &str, part: usize, description: &str) -> String {
        match self {
            Self::Plain => description.to_owned(),
            Self::ClassNamePrefixed => {
                let key = PART_NAMES.get(part).copied().unwrap_or("part");
                format!(
                    "{}, {}{}: {description}",
                    name.trim(),
                    key[..1].to_ascii_uppercase(),
                    &key[1..]
                )
            }
        }
    }
}

/// The texts of every class of one dataset, indexed by 0-based class id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassTexts {
    pub names: Vec<String>,
    /// One descriptive sentence per class.
    pub sentences: Option<Vec<String>>,
    /// Head, hand, arm, hip, leg and foot descriptions per class.
    pub parts: Option<Vec<[String; 6]>>,
    /// Several short phrases per class (InfoCPL-style codebook).
    pub phrases: Option<Vec<Vec<String>>>,
}

impl ClassTexts {
    pub fn from_names(names: Vec<String>) -> Self {
        Self {
            names,
            ..Default::default()
        }
    }

    pub fn num_classes(&self) -> usize {
        self.names.len()
    }

    /// The sentence of a class, or its name when there are no sentences.
    pub fn sentence_or_name(&self, class: usize) -> Option<&str> {
        self.sentences
            .as_ref()
            .and_then(|s| s.get(class))
            .or_else(|| self.names.get(class))
            .map(String::as_str)
    }

    /// Attaches one sentence per class read from `path` ([`read_lines`]).
    pub fn with_sentence_file(mut self, path: &Path) -> Result<Self, ReadError> {
        let lines = read_lines(path)?;
        check_count(path, lines.len(), self.names.len(), "lines")?;
        self.sentences = Some(lines);
        Ok(self)
    }

    /// Attaches part descriptions read from a STAR file; its class names must be one per class.
    pub fn with_star_parts(mut self, path: &Path) -> Result<Self, ReadError> {
        let rows = read_star_parts(path)?;
        check_count(path, rows.len(), self.names.len(), "lines")?;
        self.parts = Some(rows.into_iter().map(|(_, p)| p).collect());
        Ok(self)
    }

    /// Attaches a phrase codebook read from a Neuron JSON file (one key per class, in class order).
    pub fn with_neuron_phrases(mut self, path: &Path) -> Result<Self, ReadError> {
        let rows = read_neuron_json(path)?;
        check_count(path, rows.len(), self.names.len(), "classes")?;
        self.phrases = Some(rows.into_iter().map(|(_, p)| p).collect());
        Ok(self)
    }

    /// Reads a TSV folder (see the module docs); `classes.tsv` is required, the other files are optional.
    pub fn from_tsv_dir(dir: &Path) -> Result<Self, ReadError> {
        let optional = |name: &str| -> Result<Option<String>, ReadError> {
            let path = dir.join(name);
            if path.is_file() {
                read_text(&path).map(Some)
            } else {
                Ok(None)
            }
        };
        let classes = read_text(&dir.join("classes.tsv"))?;
        Self::from_tsv_strs(
            dir,
            &classes,
            optional("sentence.tsv")?.as_deref(),
            optional("parts.tsv")?.as_deref(),
            optional("phrases.tsv")?.as_deref(),
        )
    }

    /// [`Self::from_tsv_dir`] on texts already in memory; `dir` names the files in errors.
    pub fn from_tsv_strs(
        dir: &Path,
        classes: &str,
        sentence: Option<&str>,
        parts: Option<&str>,
        phrases: Option<&str>,
    ) -> Result<Self, ReadError> {
        let path = dir.join("classes.tsv");
        let classes = parse_tsv(&path, classes)?;
        let id_col = classes
            .column("id")
            .or_else(|| classes.column("idx0"))
            .unwrap_or(0);
        let name_col = classes.require_column("name")?;
        let mut ids = Vec::with_capacity(classes.rows.len());
        let mut names = Vec::with_capacity(classes.rows.len());
        for (line, row) in &classes.rows {
            ids.push(classes.cell(row, id_col, *line)?.to_string());
            names.push(classes.cell(row, name_col, *line)?.to_string());
        }
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        if index.len() != ids.len() {
            return Err(ReadError::file(&path, "duplicate class ids"));
        }
        let mut texts = Self::from_names(names.clone());

        if let Some(text) = sentence {
            let path = dir.join("sentence.tsv");
            let table = parse_tsv(&path, text)?;
            let col = table.require_column("sentence")?;
            let mut sentences = vec![None; names.len()];
            for (line, row) in &table.rows {
                let class = table.class_of(row, &index, *line)?;
                sentences[class] = Some(table.cell(row, col, *line)?.to_string());
            }
            texts.sentences = Some(all_present(&path, sentences, &ids)?);
        }

        if let Some(text) = parts {
            let path = dir.join("parts.tsv");
            let table = parse_tsv(&path, text)?;
            let cols = PART_NAMES
                .iter()
                .map(|p| table.require_column(p))
                .collect::<Result<Vec<_>, _>>()?;
            let mut parts = vec![None; names.len()];
            for (line, row) in &table.rows {
                let class = table.class_of(row, &index, *line)?;
                let mut cells: [String; 6] = Default::default();
                for (cell, &col) in cells.iter_mut().zip(&cols) {
                    *cell = table.cell(row, col, *line)?.to_string();
                }
                parts[class] = Some(cells);
            }
            texts.parts = Some(all_present(&path, parts, &ids)?);
        }

        if let Some(text) = phrases {
            let path = dir.join("phrases.tsv");
            let table = parse_tsv(&path, text)?;
            let col = table.require_column("phrase")?;
            let mut phrases = vec![Vec::new(); names.len()];
            for (line, row) in &table.rows {
                let class = table.class_of(row, &index, *line)?;
                phrases[class].push(table.cell(row, col, *line)?.to_string());
            }
            if let Some(i) = phrases.iter().position(Vec::is_empty) {
                return Err(ReadError::file(
                    &path,
                    format!("no phrase for class `{}`", ids[i]),
                ));
            }
            texts.phrases = Some(phrases);
        }
        Ok(texts)
    }
}

fn check_count(path: &Path, got: usize, expected: usize, what: &str) -> Result<(), ReadError> {
    if got != expected {
        return Err(ReadError::file(
            path,
            format!("{got} {what}, but the dataset has {expected} classes"),
        ));
    }
    Ok(())
}

fn all_present<T>(path: &Path, items: Vec<Option<T>>, ids: &[String]) -> Result<Vec<T>, ReadError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            item.ok_or_else(|| ReadError::file(path, format!("no row for class `{}`", ids[i])))
        })
        .collect()
}

fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    text_from_bytes(bytes, path)
}

/// The bytes of a text file as UTF-8; an error names the line of the first invalid byte.
pub fn text_from_bytes(bytes: Vec<u8>, path: &Path) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ReadError::line(path, line, "not valid UTF-8")
    })
}

/// Non-empty lines (1-based line numbers kept for errors); a final empty line is allowed, an empty line in between
/// is an error.
fn numbered_lines(path: &Path, text: &str) -> Result<Vec<(usize, String)>, ReadError> {
    let mut lines: Vec<(usize, String)> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').to_string()))
        .collect();
    while lines.last().is_some_and(|(_, l)| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(ReadError::file(path, "empty file"));
    }
    if let Some((n, _)) = lines.iter().find(|(_, l)| l.trim().is_empty()) {
        return Err(ReadError::line(path, *n, "empty line"));
    }
    Ok(lines)
}

/// One text per line, in class order (SMIE `*_des.txt`, SA-DVAE `*_llm.txt`, STAR `ntu120_label.txt`); each line is
/// trimmed.
pub fn read_lines(path: &Path) -> Result<Vec<String>, ReadError> {
    parse_lines(&read_text(path)?, path)
}

/// [`read_lines`] on a text in memory; `path` names it in errors.
pub fn parse_lines(text: &str, path: &Path) -> Result<Vec<String>, ReadError> {
    Ok(numbered_lines(path, text)?
        .into_iter()
        .map(|(_, l)| l.trim().to_string())
        .collect())
}

/// STAR's `name; Head: ...; Hand: ...; Arm: ...; Hip: ...; Leg: ...; Foot: ...` lines: the class name and the six
/// part descriptions of each line.
pub fn read_star_parts(path: &Path) -> Result<Vec<(String, [String; 6])>, ReadError> {
    parse_star_parts(&read_text(path)?, path)
}

/// [`read_star_parts`] on a text in memory; `path` names it in errors.
pub fn parse_star_parts(text: &str, path: &Path) -> Result<Vec<(String, [String; 6])>, ReadError> {
    let mut out = Vec::new();
    for (line, l) in numbered_lines(path, text)? {
        let mut starts = Vec::with_capacity(6);
        let mut from = 0;
        for part in PART_NAMES {
            // Keys are capitalised (`Head:`); search in order so a word inside a description cannot match early.
            let key = format!("; {}{}:", part[..1].to_ascii_uppercase(), &part[1..]);
            let at = l[from..].find(&key).map(|i| from + i).ok_or_else(|| {
                ReadError::line(
                    path,
                    line,
                    format!("missing `{}`", key.trim_start_matches("; ")),
                )
            })?;
            starts.push((at, at + key.len()));
            from = at + key.len();
        }
        let name = l[..starts[0].0].trim().to_string();
        if name.is_empty() {
            return Err(ReadError::line(
                path,
                line,
                "missing class name before `; Head:`",
            ));
        }
        let mut parts: [String; 6] = Default::default();
        for (k, part) in parts.iter_mut().enumerate() {
            let end = starts.get(k + 1).map_or(l.len(), |s| s.0);
            *part = l[starts[k].1..end].trim().to_string();
        }
        out.push((name, parts));
    }
    Ok(out)
}

/// Neuron's `{"class name": ["description", ...], ...}` in file order.
pub fn read_neuron_json(path: &Path) -> Result<Vec<(String, Vec<String>)>, ReadError> {
    parse_neuron_json(&read_text(path)?, path)
}

/// [`read_neuron_json`] on a text in memory; `path` names it in errors.
pub fn parse_neuron_json(text: &str, path: &Path) -> Result<Vec<(String, Vec<String>)>, ReadError> {
    struct Ordered(Vec<(String, Vec<String>)>);
    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object mapping class names to lists of descriptions")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry::<String, Vec<String>>()? {
                        out.push(entry);
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(Visitor)
        }
    }
    let Ordered(rows) =
        serde_json::from_str(text).map_err(|e| ReadError::line(path, e.line(), e.to_string()))?;
    if rows.is_empty() {
        return Err(ReadError::file(path, "no classes"));
    }
    if let Some((name, _)) = rows.iter().find(|(_, p)| p.is_empty()) {
        return Err(ReadError::field(
            path,
            name.as_str(),
            "empty list of descriptions",
        ));
    }
    Ok(rows)
}

/// SA-DVAE's `idx,label` CSV: the texts in id order (ids must be consecutive from 0 or 1).
pub fn read_sadvae_csv(path: &Path) -> Result<Vec<String>, ReadError> {
    parse_sadvae_csv(&read_text(path)?, path)
}

/// [`read_sadvae_csv`] on a text in memory; `path` names it in errors.
pub fn parse_sadvae_csv(text: &str, path: &Path) -> Result<Vec<String>, ReadError> {
    let lines = numbered_lines(path, text)?;
    let mut out = Vec::with_capacity(lines.len());
    let mut first_id = None;
    for (line, l) in lines.into_iter().skip(1) {
        let (id, label) = l
            .split_once(',')
            .ok_or_else(|| ReadError::line(path, line, "expected `id,text`"))?;
        let id: usize = id
            .trim()
            .parse()
            .map_err(|_| ReadError::line(path, line, format!("`{id}` is not a class id")))?;
        let first = *first_id.get_or_insert(id);
        if first > 1 || id != first + out.len() {
            return Err(ReadError::line(
                path,
                line,
                format!(
                    "class id {id} out of sequence (expected {})",
                    first + out.len()
                ),
            ));
        }
        let label = label.trim().trim_matches('"').to_string();
        if label.is_empty() {
            return Err(ReadError::line(path, line, "empty text"));
        }
        out.push(label);
    }
    if out.is_empty() {
        return Err(ReadError::file(path, "no rows after the header"));
    }
    Ok(out)
}

/// A tab-separated table with a header.
struct Tsv {
    path: std::path::PathBuf,
    header: Vec<String>,
    /// 1-based line number and cells.
    rows: Vec<(usize, Vec<String>)>,
}

fn parse_tsv(path: &Path, text: &str) -> Result<Tsv, ReadError> {
    let mut lines = numbered_lines(path, text)?.into_iter();
    let header: Vec<String> = lines
        .next()
        .map(|(_, h)| {
            h.split('\t')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<(usize, Vec<String>)> = lines
        .map(|(n, l)| (n, l.split('\t').map(str::to_string).collect()))
        .collect();
    for (n, row) in &rows {
        if row.len() != header.len() {
            return Err(ReadError::line(
                path,
                *n,
                format!(
                    "{} tab-separated fields, the header has {}",
                    row.len(),
                    header.len()
                ),
            ));
        }
    }
    Ok(Tsv {
        path: path.to_path_buf(),
        header,
        rows,
    })
}

impl Tsv {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn require_column(&self, name: &str) -> Result<usize, ReadError> {
        self.column(name).ok_or_else(|| {
            ReadError::line(&self.path, 1, format!("no `{name}` column in the header"))
        })
    }

    fn cell<'r>(&self, row: &'r [String], col: usize, line: usize) -> Result<&'r str, ReadError> {
        let cell = row.get(col).map(|c| c.trim()).unwrap_or_default();
        if cell.is_empty() {
            let name = self.header.get(col).map_or("?", String::as_str);
            return Err(ReadError::line(&self.path, line, format!("empty `{name}`")));
        }
        Ok(cell)
    }

    fn class_of(
        &self,
        row: &[String],
        index: &HashMap<&str, usize>,
        line: usize,
    ) -> Result<usize, ReadError> {
        let id = self.cell(row, 0, line)?;
        index
            .get(id)
            .copied()
            .ok_or_else(|| ReadError::line(&self.path, line, format!("unknown class id `{id}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn official_part_text_rebuilds_the_star_line_fields() {
        // Text_Prompt.py: pasta_list[0] + ',' + pasta_list[k] of `line.split(';')`.
        let line = "drink water; Head: Tilts back; Hand: Grasps the cup; Arm: Raises it; Hip: Stays; Leg: Shifts; \
                    Foot: Adjusts.";
        let rows = parse_star_parts(line, Path::new("p.txt")).unwrap();
        let (name, parts) = &rows[0];
        let fields: Vec<&str> = line.split(';').collect();
        for (k, part) in parts.iter().enumerate() {
            let official = format!("{},{}", fields[0], fields[k + 1]);
            assert_eq!(
                PartTextForm::ClassNamePrefixed.text(name, k, part),
                official
            );
            assert_eq!(PartTextForm::Plain.text(name, k, part), *part);
        }
        assert_eq!(
            PartTextForm::from_name("Class-Name-Prefixed"),
            Some(PartTextForm::ClassNamePrefixed)
        );
    }

    #[test]
    fn star_lines_split_into_six_parts() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "p.txt",
            "wave; Head: still; Hand: waves; Hand-held; Arm: up; Hip: still; Leg: straight; Foot: flat\n",
        );
        let rows = read_star_parts(&p).unwrap();
        assert_eq!(rows[0].0, "wave");
        assert_eq!(rows[0].1[1], "waves; Hand-held");
        assert_eq!(rows[0].1[5], "flat");
        let p = write(
            dir.path(),
            "q.txt",
            "ok; Head: a; Hand: b; Arm: c; Hip: d; Leg: e; Foot: f\nbad; Head: x\n",
        );
        let err = read_star_parts(&p).unwrap_err().to_string();
        assert!(err.ends_with("q.txt, line 2: missing `Hand:`"), "{err}");
    }

    #[test]
    fn malformed_files_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "a.csv", "idx,label\n1,clap\n3,wave\n");
        let err = read_sadvae_csv(&p).unwrap_err().to_string();
        assert!(
            err.contains("a.csv, line 3: class id 3 out of sequence"),
            "{err}"
        );
        let p = write(dir.path(), "b.txt", "one\n\nthree\n");
        assert!(
            read_lines(&p)
                .unwrap_err()
                .to_string()
                .contains("b.txt, line 2: empty line")
        );
        let p = write(dir.path(), "c.json", "{\"clap\": [\"x\"],\n \"wave\": 3}");
        assert!(
            read_neuron_json(&p)
                .unwrap_err()
                .to_string()
                .contains("c.json, line 2")
        );
        std::fs::create_dir(dir.path().join("t")).unwrap();
        write(&dir.path().join("t"), "classes.tsv", "id\tname\na1\tclap\n");
        write(
            &dir.path().join("t"),
            "sentence.tsv",
            "id\tsentence\na2\tsomething\n",
        );
        let err = ClassTexts::from_tsv_dir(&dir.path().join("t"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sentence.tsv, line 2: unknown class id `a2`"),
            "{err}"
        );
    }
}
