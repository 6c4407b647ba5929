use super::*;
use crate::pipeline::fixture::{fixture_dataset, fixture_predictions};

/// The columns fill the room; the Sample column keeps room for an id and the others give up what that takes,
/// so the table never grows wider than its panel (which would squeeze the player).
#[test]
fn columns_fill_the_room_and_keep_an_id_whole() {
    let widths = ColumnWidths::default();
    let all = [true; 9];
    // 456: the browser's room at 1280x800 (below ~405 even the least widths of nine columns do not fit).
    for room in [420.0f32, 456.0, 600.0, 900.0] {
        let w = widths.fit(room, all, 95.0);
        assert!(w[0] >= 95.0, "{room}: {w:?}");
        assert!((w.iter().sum::<f32>() - room).abs() < 0.5, "{room}: {w:?}");
        assert!(w.iter().all(|&x| x >= 30.0), "{room}: {w:?}");
    }
    // A hidden column takes nothing.
    let mut shown = all;
    shown[8] = false;
    assert_eq!(widths.fit(500.0, shown, 95.0)[8], 0.0);
}

/// Run B's column holds B's prediction of the same sample (joined by id, in A's setting), and the *A and B
/// disagree* filter lists exactly the samples where the two differ.
#[test]
fn run_b_column_and_the_disagree_filter() {
    let d = fixture_dataset();
    let a = fixture_predictions(&d);
    // B: A's scores negated (other predictions), its rows in reverse order (the join is by sample id).
    let c = a.num_classes();
    let mut b = Predictions {
        features: None,
        star: None,
        infocpl: None,
        ..a.clone()
    };
    b.sample_ids.reverse();
    b.labels.reverse();
    b.scores = a
        .scores
        .chunks(c)
        .rev()
        .flat_map(|r| r.iter().map(|x| -x))
        .collect();
    let joined = Joined::new(&d, Some(&a), Some(&b));
    let mut disagree = Vec::new();
    for (i, r) in joined.rows.iter().enumerate() {
        let Some(row) = joined.pred_row[i] else {
            assert_eq!(r.predicted_b, None);
            continue;
        };
        let setting = research::sample_setting(&a, row).unwrap();
        let row_b = b.num_samples() - 1 - row;
        assert_eq!(r.predicted_b, b.predicted(row_b, setting), "sample {i}");
        assert_eq!(r.predicted, a.predicted(row, setting));
        if r.predicted_b != r.predicted {
            disagree.push(i);
        }
    }
    assert!(!disagree.is_empty(), "the negated run disagrees somewhere");
    let mut state = BrowserState {
        show: Show::Disagree,
        ..Default::default()
    };
    state.refresh(&d, &joined, Some(&a), 1);
    assert_eq!(state.order, disagree);
    // Without B nothing is listed as disagreeing.
    let alone = Joined::new(&d, Some(&a), None);
    assert!(alone.rows.iter().all(|r| r.predicted_b.is_none()));
    state.refresh(&d, &alone, Some(&a), 2);
    assert!(state.order.is_empty());
}

/// The search matches class names and sample ids in any case, a t-SNE selection lists exactly its samples (in the
/// list's order, whatever order and repeats it came in), and another dataset is searched with its own ids.
#[test]
fn search_and_selection_filters() {
    let d = fixture_dataset();
    let p = fixture_predictions(&d);
    let joined = Joined::new(&d, Some(&p), None);
    let mut state = BrowserState {
        search: d.classes[2].to_uppercase(),
        ..Default::default()
    };
    state.refresh(&d, &joined, Some(&p), 1);
    let of_class: Vec<usize> = (0..d.samples.len())
        .filter(|&i| d.samples[i].meta.label == 2)
        .collect();
    assert!(!of_class.is_empty());
    assert_eq!(state.order, of_class);

    state.search = format!("  {}  ", d.samples[5].meta.id.to_uppercase());
    state.refresh(&d, &joined, Some(&p), 1);
    assert_eq!(state.order, [5]);

    state.search.clear();
    state.subset = Some(vec![7, 3, 3, 9999]);
    state.refresh(&d, &joined, Some(&p), 1);
    assert_eq!(state.order, [3, 7]);

    let mut other = d.clone();
    other.samples[0].meta.id = "Renamed-Sample".into();
    state.subset = None;
    state.search = "renamed".into();
    state.refresh(&other, &Joined::new(&other, None, None), None, 2);
    assert_eq!(state.order, [0]);
}
