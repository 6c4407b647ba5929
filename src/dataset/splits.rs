//! Every published zero-shot class split, by name, with 0-based class ids.
//!
//! The table is `assets/splits/zssar_splits.json`, a copy of `../shared/data/splits/zssar_splits.json` (split ids are
//! facts; each entry names its source). Names are built from protocol, dataset and split:
//!
//! | protocol | names |
//! |---|---|
//! | SynSE | `synse-ntu60-55-5`, `synse-ntu60-48-12`, `synse-ntu120-110-10`, `synse-ntu120-96-24` |
//! | SynSE GZSL validation | the same names with `-val` (pseudo-unseen classes carved out of the seen ones) |
//! | PURLS | `purls-ntu60-40-20`, `purls-ntu60-30-30`, `purls-ntu120-80-40`, `purls-ntu120-60-60` |
//! | SMIE / InfoCPL | `split_1` .. `split_9` (1-3 NTU60, 4-6 NTU120, 7-9 PKU-MMD) |
//! | STAR | `star-pku51-46-5`, `star-pku51-39-12`, `star-pku51-split3` |
//! | SA-DVAE | `sadvae-{ntu60,ntu120,pku51}-split{1,2,3}` |
//!
//! Look-ups ignore case and treat `-` and `_` alike (`SPLIT-1` finds `split_1`).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::DatasetKind;

static SPLITS_JSON: &str = include_str!("../../assets/splits/zssar_splits.json");

/// One row of the published-split table, as in the JSON file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedSplitRecord {
    pub protocol: String,
    pub dataset: String,
    pub split: String,
    pub n_unseen: usize,
    pub unseen_idx0: Vec<usize>,
    pub unseen_names: Vec<String>,
    pub source: String,
    #[serde(default)]
    pub note: String,
}

/// A published class split, ready to use.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublishedSplit {
    /// The name `--split` takes.
    pub name: String,
    pub kind: DatasetKind,
    pub num_classes: usize,
    /// 0-based, ascending.
    pub seen: Vec<usize>,
    /// 0-based, ascending.
    pub unseen: Vec<usize>,
    pub record: PublishedSplitRecord,
}

#[derive(Debug, thiserror::Error)]
pub enum SplitTableError {
    #[error("assets/splits/zssar_splits.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("assets/splits/zssar_splits.json, entry {index} ({protocol} {split}): {message}")]
    Entry {
        index: usize,
        protocol: String,
        split: String,
        message: String,
    },
}

/// Number of classes and dataset kind of a dataset name used in the table.
pub fn dataset_classes(name: &str) -> Option<(DatasetKind, usize)> {
    match name {
        "ntu60" => Some((DatasetKind::Ntu60, 60)),
        "ntu120" => Some((DatasetKind::Ntu120, 120)),
        "pku51" | "pku" => Some((DatasetKind::Pku, 51)),
        _ => None,
    }
}

/// Lower-case, `_` for `-`, so that names compare loosely.
pub fn normalize_split_name(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

/// `"55/5"` out of `"val for 55/5 (rv5_0, seen rs50_0)"` or `"46/5 (pkuv1_seen46_unseen5)"`, as `"55-5"`.
fn seen_unseen_slug(split: &str) -> Option<String> {
    split
        .split_whitespace()
        .find(|w| w.contains('/'))
        .map(|w| w.replace('/', "-"))
}

/// `"split3"` out of `"starsmie split3 (...)"` or `"sadvae split1"`.
fn split_word(split: &str) -> Option<String> {
    split
        .split_whitespace()
        .find(|w| w.starts_with("split"))
        .map(str::to_string)
}

fn name_of(rec: &PublishedSplitRecord) -> Option<String> {
    let d = &rec.dataset;
    match rec.protocol.as_str() {
        "SynSE" => Some(format!("synse-{d}-{}", seen_unseen_slug(&rec.split)?)),
        "SynSE-GZSL-val" => Some(format!("synse-{d}-{}-val", seen_unseen_slug(&rec.split)?)),
        "PURLS" => Some(format!("purls-{d}-{}", seen_unseen_slug(&rec.split)?)),
        "SMIE-random" => Some(rec.split.trim().to_string()),
        "STAR" => Some(format!("star-{d}-{}", seen_unseen_slug(&rec.split)?)),
        "STAR-SMIE-random" => Some(format!("star-{d}-{}", split_word(&rec.split)?)),
        "SA-DVAE-random" => Some(format!("sadvae-{d}-{}", split_word(&rec.split)?)),
        _ => None,
    }
}

fn parse_table(json: &str) -> Result<Vec<PublishedSplit>, SplitTableError> {
    let records: Vec<PublishedSplitRecord> = serde_json::from_str(json)?;
    let mut out: Vec<PublishedSplit> = Vec::with_capacity(records.len());
    for (index, rec) in records.into_iter().enumerate() {
        let fail = |message: String| SplitTableError::Entry {
            index,
            protocol: rec.protocol.clone(),
            split: rec.split.clone(),
            message,
        };
        let (kind, num_classes) = dataset_classes(&rec.dataset)
            .ok_or_else(|| fail(format!("unknown dataset `{}`", rec.dataset)))?;
        let name = name_of(&rec).ok_or_else(|| fail("cannot name this split".into()))?;
        let mut unseen = rec.unseen_idx0.clone();
        unseen.sort_unstable();
        unseen.dedup();
        if unseen.len() != rec.n_unseen || unseen.iter().any(|&c| c >= num_classes) {
            return Err(fail(format!(
                "expected {} distinct unseen ids below {num_classes}",
                rec.n_unseen
            )));
        }
        if out.iter().any(|s| s.name == name) {
            return Err(fail(format!("duplicate split name `{name}`")));
        }
        let seen = (0..num_classes)
            .filter(|c| unseen.binary_search(c).is_err())
            .collect();
        out.push(PublishedSplit {
            name,
            kind,
            num_classes,
            seen,
            unseen,
            record: rec,
        });
    }
    // A SynSE validation split carves its pseudo-unseen classes out of the seen classes of its split (`rs50_0` are
    // the 55 seen minus 5): the real unseen classes are in neither part.
    for i in 0..out.len() {
        let Some(base_name) = out[i].name.strip_suffix("-val").map(str::to_string) else {
            continue;
        };
        let Some(base_unseen) = out
            .iter()
            .find(|s| s.name == base_name)
            .map(|s| s.unseen.clone())
        else {
            continue;
        };
        let split = &mut out[i];
        if let Some(c) = split.unseen.iter().find(|c| base_unseen.contains(c)) {
            return Err(SplitTableError::Entry {
                index: i,
                protocol: split.record.protocol.clone(),
                split: split.record.split.clone(),
                message: format!("validation class {c} is unseen in `{base_name}`"),
            });
        }
        split.seen.retain(|c| !base_unseen.contains(c));
    }
    Ok(out)
}

/// Every published split, in the order of the table.
pub fn published_splits() -> &'static [PublishedSplit] {
    static TABLE: OnceLock<Vec<PublishedSplit>> = OnceLock::new();
    TABLE.get_or_init(|| match parse_table(SPLITS_JSON) {
        Ok(table) => table,
        Err(e) => {
            // The table is compiled in and checked by a test, so this only fires on a broken build.
            tracing::error!("{e}");
            Vec::new()
        }
    })
}

/// A published split by name (see the module docs for the names).
pub fn published_split(name: &str) -> Option<&'static PublishedSplit> {
    let wanted = normalize_split_name(name);
    published_splits()
        .iter()
        .find(|s| normalize_split_name(&s.name) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_completely() {
        let table = parse_table(SPLITS_JSON).unwrap();
        assert_eq!(table.len(), 33);
        assert_eq!(published_splits().len(), 33);
    }

    #[test]
    fn known_splits_by_name() {
        let s = published_split("synse-ntu60-55-5").unwrap();
        assert_eq!(s.unseen, [10, 11, 19, 26, 56]);
        assert_eq!(s.seen.len(), 55);
        assert_eq!(s.kind, DatasetKind::Ntu60);
        assert_eq!(s.record.unseen_names[0], "reading");

        let s = published_split("SPLIT-7").unwrap();
        assert_eq!(
            (s.kind, s.unseen.as_slice()),
            (DatasetKind::Pku, &[1, 9, 20, 34, 50][..])
        );
        assert_eq!(published_split("star-pku51-46-5").unwrap().unseen, s.unseen);

        for (name, seen, unseen) in [
            ("synse-ntu60-48-12", 48, 12),
            ("synse-ntu120-110-10", 110, 10),
            ("synse-ntu120-96-24", 96, 24),
            ("synse-ntu120-96-24-val", 72, 24),
            ("synse-ntu60-55-5-val", 50, 5),
            ("purls-ntu120-60-60", 60, 60),
            ("split_4", 110, 10),
            ("star-pku51-39-12", 39, 12),
            ("star-pku51-split3", 46, 5),
            ("sadvae-ntu120-split2", 110, 10),
            ("sadvae-pku51-split3", 46, 5),
        ] {
            let s = published_split(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!((s.seen.len(), s.unseen.len()), (seen, unseen), "{name}");
        }
        assert!(published_split("split_10").is_none());
    }

    #[test]
    fn broken_tables_are_reported_with_the_entry() {
        let bad = r#"[{"protocol":"SynSE","dataset":"ntu60","split":"55/5","n_unseen":2,
            "unseen_idx0":[3,60],"unseen_names":[],"source":""}]"#;
        let err = parse_table(bad).unwrap_err().to_string();
        assert!(err.contains("entry 0 (SynSE 55/5)"), "{err}");
    }
}
