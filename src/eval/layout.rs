//! The GZSL class layout, stated once: a score matrix's columns are the seen classes, then the unseen ones (global
//! class ids, each group in the split's order), and labels are turned into column indices of that layout. Model
//! selection, the benchmark, `skelzero eval`, the explorer's predictions and live scoring all build their GZSL
//! matrices through [`GzslLayout`], and their ZSL blocks through [`local_labels`] / [`rows_of_classes`].

/// Seen classes first, then unseen: the columns of a GZSL score matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GzslLayout {
    classes: Vec<usize>,
    num_seen: usize,
}

impl GzslLayout {
    pub fn new(seen: &[usize], unseen: &[usize]) -> Self {
        let mut classes = seen.to_vec();
        classes.extend_from_slice(unseen);
        Self {
            classes,
            num_seen: seen.len(),
        }
    }

    /// Global class ids in column order.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    pub fn into_classes(self) -> Vec<usize> {
        self.classes
    }

    pub fn num_seen(&self) -> usize {
        self.num_seen
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Per column: whether it is a seen class (the columns calibrated stacking lowers by gamma).
    pub fn seen_mask(&self) -> Vec<bool> {
        (0..self.len()).map(|j| j < self.num_seen).collect()
    }

    /// Per column: whether it is an unseen class.
    pub fn unseen_mask(&self) -> Vec<bool> {
        (0..self.len()).map(|j| j >= self.num_seen).collect()
    }

    /// Per column: what calibrated stacking subtracts from the scores (`gamma` on seen classes, as
    /// [`crate::eval::gzsl`] applies it), for [`crate::eval::ScoreMatrix::predictions_with_offset`].
    pub fn stacking_offsets(&self, gamma: f32) -> Vec<f32> {
        super::metrics::stacking_offsets(&self.seen_mask(), gamma)
    }

    /// `labels[r]` for each of `rows` as a column index of this layout ([`NOT_IN_SET`] where the class is absent).
    pub fn local_labels(&self, labels: &[usize], rows: &[usize]) -> Vec<usize> {
        local_labels(labels, rows, &self.classes)
    }
}

/// The label given to a sample whose class is not in the scored class set: never equal to a predicted column, so
/// it counts as wrong.
pub const NOT_IN_SET: usize = usize::MAX;

/// `labels[r]` for each of `rows` as an index into `classes` (a class set in global ids), [`NOT_IN_SET`] where
/// absent.
pub fn local_labels(labels: &[usize], rows: &[usize], classes: &[usize]) -> Vec<usize> {
    rows.iter()
        .map(|&r| {
            classes
                .iter()
                .position(|&c| c == labels[r])
                .unwrap_or(NOT_IN_SET)
        })
        .collect()
}

/// The rows whose label is one of `classes` (e.g. the unseen-class test samples a ZSL figure is computed on).
pub fn rows_of_classes(labels: &[usize], classes: &[usize]) -> Vec<usize> {
    (0..labels.len())
        .filter(|&i| classes.contains(&labels[i]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_columns_first_and_labels_map_to_columns() {
        let l = GzslLayout::new(&[4, 1], &[0, 7]);
        assert_eq!(l.classes(), &[4, 1, 0, 7]);
        assert_eq!(l.seen_mask(), vec![true, true, false, false]);
        assert_eq!(l.unseen_mask(), vec![false, false, true, true]);
        assert_eq!(l.stacking_offsets(0.5), vec![0.5, 0.5, 0.0, 0.0]);
        let labels = [7, 4, 3, 0];
        assert_eq!(
            l.local_labels(&labels, &[0, 1, 2, 3]),
            vec![3, 0, NOT_IN_SET, 2]
        );
        assert_eq!(rows_of_classes(&labels, &[0, 7]), vec![0, 3]);
    }
}
