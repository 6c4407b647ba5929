use super::*;

#[test]
fn points_in_a_concave_polygon() {
    // A "U": the notch between the arms is outside.
    let u = [
        [0.0, 0.0],
        [3.0, 0.0],
        [3.0, 3.0],
        [2.0, 3.0],
        [2.0, 1.0],
        [1.0, 1.0],
        [1.0, 3.0],
        [0.0, 3.0],
    ];
    assert!(point_in_polygon([0.5, 2.0], &u));
    assert!(point_in_polygon([2.5, 2.0], &u));
    assert!(point_in_polygon([1.5, 0.5], &u));
    assert!(!point_in_polygon([1.5, 2.0], &u));
    assert!(!point_in_polygon([4.0, 0.5], &u));
    assert!(!point_in_polygon([0.5, 0.5], &u[..2]));
}

#[test]
fn overlapping_labels_are_left_out() {
    let r = |x: f32, y: f32| egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(50.0, 10.0));
    // 0 and 1 overlap, 2 is apart, 3 overlaps 2, 4 is off the map.
    let boxes = [
        r(0.0, 0.0),
        r(20.0, 5.0),
        r(100.0, 0.0),
        r(120.0, 2.0),
        egui::Rect::NOTHING,
    ];
    assert_eq!(declutter(&boxes, None), [0, 2]);
    // The class shown alone is labelled first.
    assert_eq!(declutter(&boxes, Some(1)), [1, 2]);
}
