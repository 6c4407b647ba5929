//! The confusion matrix view: rows are the true class, columns the prediction; cells coloured by the row share.
//! The matrix fits the space it is given ([`fit`]): cells shrink or grow with the smaller side, labels are elided
//! to their room (full names on hover), counts are drawn inside cells large enough to read them, and the cell last
//! clicked keeps an outline until another is clicked.

use super::command::Command;
use super::elide::elide;
use super::palette::Palette;
use crate::pipeline::predictions::{Confusion, Setting};

/// Cells never shrink below this (hover still names them) nor grow beyond it (a 3x3 matrix would be all colour).
pub const MIN_CELL: f32 = 3.0;
pub const MAX_CELL: f32 = 44.0;
/// Counts are drawn in cells at least this large; row and column labels in cells at least `MIN_LABEL_CELL`.
pub const MIN_COUNT_CELL: f32 = 14.0;
pub const MIN_LABEL_CELL: f32 = 7.0;
/// Room under the matrix for the caption line.
const CAPTION: f32 = 18.0;

/// Where a `k`-class matrix goes in `avail` points: the row-label band (left of the rows), the column-label band
/// (above the columns) and the cell side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatrixFit {
    pub row_label: f32,
    pub col_label: f32,
    pub cell: f32,
}

impl MatrixFit {
    /// Width and height of the labels plus the cells (the caption not included).
    pub fn size(&self, k: usize) -> egui::Vec2 {
        let cells = self.cell * k as f32;
        egui::vec2(self.row_label + cells, self.col_label + cells)
    }
}

/// Fits a square `k`-class matrix with its labels in `avail` (caption line included): the column labels get a
/// quarter of the smaller side (36 to 130 points), the cells share the rest, whole points so that grid lines stay
/// sharp; row labels take the width the cells leave (up to 240 points, so that a wide, short tab names the rows in
/// full).
pub fn fit(avail: egui::Vec2, k: usize) -> MatrixFit {
    let side = avail.x.min(avail.y - CAPTION).max(0.0);
    let col_label = (side * 0.25).clamp(36.0, 130.0);
    let cell = if k == 0 {
        MAX_CELL
    } else {
        ((side - col_label - 4.0) / k as f32)
            .floor()
            .clamp(MIN_CELL, MAX_CELL)
    };
    let cells = cell * k as f32;
    // A small matrix in a large space does not need a tall label band above its large cells.
    let col_label = col_label.min((cells * 0.6).max(36.0));
    // Too small for labels: no band that would push the cells away from the left edge.
    let row_label = if cell < MIN_LABEL_CELL {
        col_label
    } else {
        (avail.x - cells - 4.0).min(240.0).max(col_label)
    };
    MatrixFit {
        row_label,
        col_label,
        cell,
    }
}

/// Draws `confusion` into at most `avail` points. `marked` is the cell last clicked (dataset classes), outlined.
pub fn confusion_ui(
    ui: &mut egui::Ui,
    confusion: &Confusion,
    class_names: &[String],
    palette: &Palette,
    avail: egui::Vec2,
    marked: Option<(usize, usize)>,
    commands: &mut Vec<Command>,
) {
    let k = confusion.size();
    if k == 0 {
        ui.weak("No classes in this setting.");
        return;
    }
    let name = |c: usize| class_names.get(c).map(String::as_str).unwrap_or("?");
    let fit = fit(avail, k);
    let (row_label, col_label, cell) = (fit.row_label, fit.col_label, fit.cell);
    let (rect, _) = ui.allocate_exact_size(fit.size(k), egui::Sense::hover());
    let painter = ui.painter_at(rect.expand(2.0));
    let origin = rect.min + egui::vec2(row_label, col_label);
    let text_color = ui.visuals().text_color();
    let count_font = egui::FontId::proportional((cell * 0.42).clamp(8.0, 14.0));
    let label_font = egui::FontId::proportional((cell * 0.8).clamp(7.0, 12.0));
    let gzsl = confusion.setting == Setting::Gzsl;

    for (i, &class) in confusion.classes.iter().enumerate() {
        let full = name(class);
        // Row label left of row i, column label above column i: each names its class in full on hover.
        let row_rect = egui::Rect::from_min_size(
            egui::pos2(rect.min.x, origin.y + i as f32 * cell),
            egui::vec2(row_label, cell),
        );
        let col_rect = egui::Rect::from_min_size(
            egui::pos2(origin.x + i as f32 * cell, rect.min.y),
            egui::vec2(cell, col_label),
        );
        for (axis, r) in [("truth", row_rect), ("predicted", col_rect)] {
            let id = ui.scope_id().with(("confusion label", gzsl, axis, i));
            ui.interact(r, id, egui::Sense::hover())
                .on_hover_text(format!("{axis}: {full}"));
        }
        if cell < MIN_LABEL_CELL {
            continue;
        }
        painter.text(
            egui::pos2(origin.x - 4.0, row_rect.center().y),
            egui::Align2::RIGHT_CENTER,
            elide(ui, full, &label_font, row_label - 6.0, 0),
            label_font.clone(),
            text_color,
        );
        // Column labels run upwards above the matrix.
        let shown = elide(ui, full, &label_font, col_label - 6.0, 0);
        let galley = painter.layout_no_wrap(shown, label_font.clone(), text_color);
        let x = col_rect.center().x - galley.size().y * 0.5;
        painter.add(
            egui::epaint::TextShape::new(egui::pos2(x, origin.y - 4.0), galley, text_color)
                .with_angle(-std::f32::consts::FRAC_PI_2),
        );
    }

    let mut marked_rect = None;
    for t in 0..k {
        for p in 0..k {
            let min = origin + egui::vec2(p as f32 * cell, t as f32 * cell);
            let cell_rect = egui::Rect::from_min_size(min, egui::vec2(cell, cell)).shrink(0.5);
            let count = confusion.count(t, p);
            let fraction = confusion.row_fraction(t, p);
            painter.rect_filled(cell_rect, 1.0, palette.matrix_color(fraction));
            if t == p && cell >= 5.0 {
                painter.rect_stroke(
                    cell_rect,
                    1.0,
                    egui::Stroke::new(1.0, palette.matrix_diagonal_stroke),
                    egui::StrokeKind::Inside,
                );
            }
            if count > 0 && cell >= MIN_COUNT_CELL {
                let fg = if fraction > 0.5 {
                    egui::Color32::WHITE
                } else {
                    text_color
                };
                painter.text(
                    cell_rect.center(),
                    egui::Align2::CENTER_CENTER,
                    count.to_string(),
                    count_font.clone(),
                    fg,
                );
            }
            let (truth, pred) = (confusion.classes[t], confusion.classes[p]);
            if marked == Some((truth, pred)) {
                marked_rect = Some(cell_rect);
            }
            let label = format!("{} -> {}: {count}", name(truth), name(pred));
            let id = ui.scope_id().with(("confusion", gzsl, t, p));
            let response = ui.interact(cell_rect, id, egui::Sense::click());
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            let response = response.on_hover_ui(|ui| {
                ui.label(format!("truth: {}", name(truth)));
                ui.label(format!("predicted: {}", name(pred)));
                ui.label(format!(
                    "{count} of {} samples ({:.1} % of the row)",
                    confusion.row_total(t),
                    fraction * 100.0
                ));
                ui.weak("click to list them");
            });
            if response.clicked() {
                commands.push(Command::FilterCell {
                    truth,
                    pred,
                    setting: confusion.setting,
                });
            }
        }
    }
    // Drawn last so that no neighbour paints over it; outside the cell so that tiny cells still show it.
    if let Some(r) = marked_rect {
        painter.rect_stroke(
            r.expand(1.0),
            1.0,
            egui::Stroke::new(2.0, palette.joint_highlight),
            egui::StrokeKind::Outside,
        );
    }
    ui.weak("rows: truth · columns: predicted · colour: % of the row");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_fits_the_space_and_cells_stay_in_bounds() {
        // 26 classes in a 420 x 900 panel: the width decides, and labels plus cells stay within it.
        let f = fit(egui::vec2(420.0, 900.0), 26);
        assert!(f.size(26).x <= 420.0 && f.size(26).y <= 900.0, "{f:?}");
        assert_eq!(f.cell, ((420.0f32 - 105.0 - 4.0) / 26.0).floor());
        assert!(f.cell < MIN_COUNT_CELL, "no counts in {f:?}");
        // The same matrix in a 1000 x 600 tab: the height (less the caption) decides, large enough for counts,
        // and the spare width goes to the row labels.
        let f = fit(egui::vec2(1000.0, 600.0), 26);
        assert!(f.size(26).y + CAPTION <= 600.0, "{f:?}");
        assert!(f.size(26).x <= 1000.0, "{f:?}");
        assert!(f.cell >= MIN_COUNT_CELL, "{f:?}");
        assert_eq!(f.row_label, 240.0);
        // A larger space never gives smaller cells.
        let mut last = 0.0;
        for s in (100..2000).step_by(50) {
            let f = fit(egui::vec2(s as f32, s as f32), 14);
            assert!(f.cell >= last, "{s}: {f:?}");
            last = f.cell;
        }
        // Few classes: cells stop at MAX_CELL and the column-label band shrinks with them.
        let f = fit(egui::vec2(1600.0, 1000.0), 3);
        assert_eq!(f.cell, MAX_CELL);
        assert!(f.col_label <= MAX_CELL * 3.0 * 0.6 + 1e-3, "{f:?}");
        // No room: the smallest cells, never negative or NaN.
        let f = fit(egui::vec2(0.0, 0.0), 60);
        assert_eq!(f.cell, MIN_CELL);
        assert!(f.row_label >= 36.0 && f.col_label >= 36.0, "{f:?}");
        // Cells too small for labels keep the row band narrow however wide the space.
        let f = fit(egui::vec2(1600.0, 200.0), 60);
        assert!(f.cell < MIN_LABEL_CELL, "{f:?}");
        assert_eq!(f.row_label, f.col_label);
    }
}
