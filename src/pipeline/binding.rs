//! Whether a run's [`Predictions`] belong to an open dataset. A run is bound to the dataset it was scored on: its
//! class list (names and count) and its sample ids. The explorer shows a run's figures, matrix and predictions only
//! over a dataset it matches; otherwise it says why, and keeps the figures out of sight.

use std::collections::HashSet;

use super::predictions::Predictions;
use crate::dataset::Dataset;

/// Lower case, letters and digits only, single spaces: "High-arm wave" and "high arm wave" are one class name.
fn normalised(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `skelzero train` without `--class-names` records "class N": the run knows its class count, not the names.
fn placeholder(name: &str, index: usize) -> bool {
    name == format!("class {index}")
}

/// Whether the run knows real names for its classes (not only `class N` placeholders).
pub fn has_real_names(p: &Predictions) -> bool {
    !p.class_names.is_empty()
        && p.class_names
            .iter()
            .enumerate()
            .any(|(i, n)| !placeholder(n, i))
}

fn listed(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(", …");
    }
    s
}

/// `None` when the run `p` belongs to `dataset`, else one sentence saying why it does not: a different class count,
/// a class named differently (the first one), or none of the run's sample ids in the dataset.
pub fn dataset_mismatch(p: &Predictions, dataset: &Dataset) -> Option<String> {
    let classes = &dataset.classes;
    // The run's class count: its names when recorded, else the highest class index it mentions.
    let run_count = if p.class_names.is_empty() {
        p.classes
            .iter()
            .chain(&p.labels)
            .max()
            .map_or(0, |&m| m + 1)
    } else {
        p.class_names.len()
    };
    let too_many =
        run_count > classes.len() || (!p.class_names.is_empty() && run_count != classes.len());
    if too_many {
        let names = if has_real_names(p) {
            format!(" ({})", listed(&p.class_names))
        } else {
            String::new()
        };
        return Some(format!(
            "the run has {run_count} classes{names}, this dataset {} ({})",
            classes.len(),
            listed(classes)
        ));
    }
    if has_real_names(p)
        && let Some(i) =
            (0..classes.len()).find(|&i| normalised(&p.class_names[i]) != normalised(&classes[i]))
    {
        return Some(format!(
            "the run's class {i} is \"{}\", this dataset's is \"{}\"",
            p.class_names[i], classes[i]
        ));
    }
    let ids: HashSet<&str> = dataset.samples.iter().map(|s| s.meta.id.as_str()).collect();
    if p.num_samples() > 0 && !p.sample_ids.iter().any(|id| ids.contains(id.as_str())) {
        return Some(format!(
            "none of the run's {} sample ids (e.g. \"{}\") is one of this dataset's {} samples",
            p.num_samples(),
            p.sample_ids[0],
            dataset.samples.len()
        ));
    }
    None
}

/// The names the views label classes with: the run's own when it records real ones, else the dataset's (which the
/// run matches, see [`dataset_mismatch`]), else `class N`.
pub fn run_class_names(p: &Predictions, dataset: Option<&Dataset>) -> Vec<String> {
    let fallback = dataset.map_or(&[][..], |d| &d.classes[..]);
    let count = p
        .class_names
        .len()
        .max(fallback.len())
        .max(p.classes.iter().max().map_or(0, |&m| m + 1));
    (0..count)
        .map(|c| {
            if has_real_names(p) {
                p.class_name(c, fallback)
            } else {
                fallback
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| format!("class {c}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::fixture::{fixture_dataset, fixture_predictions};

    #[test]
    fn a_run_matches_its_own_dataset_only() {
        let d = fixture_dataset();
        let mut p = fixture_predictions(&d);
        assert_eq!(dataset_mismatch(&p, &d), None);
        p.class_names = d.classes.clone();
        assert_eq!(dataset_mismatch(&p, &d), None);

        // Another class list of the same size (named differently): the first differing class is named.
        let mut other = d.clone();
        other.classes[1] = "somersault".into();
        let why = dataset_mismatch(&p, &other).unwrap();
        assert!(
            why.contains("class 1") && why.contains("somersault"),
            "{why}"
        );

        // Fewer classes than the run has.
        let mut fewer = d.clone();
        fewer.classes.truncate(2);
        let why = dataset_mismatch(&p, &fewer).unwrap();
        assert!(
            why.contains(&format!("{} classes", d.classes.len())),
            "{why}"
        );
        // A run without names is bound by its class count too.
        p.class_names.clear();
        assert!(dataset_mismatch(&p, &fewer).is_some());

        // Same classes, none of the samples.
        let mut renamed = d.clone();
        for s in &mut renamed.samples {
            s.meta.id = format!("elsewhere-{}", s.meta.id);
        }
        let why = dataset_mismatch(&p, &renamed).unwrap();
        assert!(why.contains("sample ids"), "{why}");
    }

    #[test]
    fn placeholder_names_defer_to_the_dataset() {
        let d = fixture_dataset();
        let mut p = fixture_predictions(&d);
        p.class_names = (0..d.classes.len()).map(|c| format!("class {c}")).collect();
        assert!(!has_real_names(&p));
        assert_eq!(dataset_mismatch(&p, &d), None);
        assert_eq!(run_class_names(&p, Some(&d)), d.classes);
        // Real names win over the dataset's.
        p.class_names[0] = "the run's own".into();
        assert_eq!(run_class_names(&p, Some(&d))[0], "the run's own");
        assert_eq!(normalised("High-arm  wave"), "high arm wave");
    }
}
