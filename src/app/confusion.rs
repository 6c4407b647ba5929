//! The confusion matrix view: rows are the true class, columns the prediction; cells coloured by the row share,
//! counts inside, hover for details, click to list the cell's samples.

use super::command::Command;
use super::palette::Palette;
use crate::pipeline::predictions::{Confusion, Setting};

const LABEL_WIDTH: f32 = 86.0;

fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        let cut: String = name.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

pub fn confusion_ui(
    ui: &mut egui::Ui,
    confusion: &Confusion,
    class_names: &[String],
    palette: &Palette,
    commands: &mut Vec<Command>,
) {
    let k = confusion.size();
    if k == 0 {
        ui.weak("No classes in this setting.");
        return;
    }
    let name = |c: usize| class_names.get(c).map(String::as_str).unwrap_or("?");
    let available = ui.available_width() - LABEL_WIDTH - 8.0;
    // Always fit the panel: with many classes cells get small and hover names them.
    let cell = (available / k as f32).clamp(2.0, 34.0);
    let size = egui::vec2(LABEL_WIDTH + cell * k as f32, LABEL_WIDTH + cell * k as f32);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect.expand(2.0));
    let origin = rect.min + egui::vec2(LABEL_WIDTH, LABEL_WIDTH);
    let text_color = ui.visuals().text_color();
    let font = egui::FontId::proportional((cell * 0.42).clamp(8.0, 12.0));
    // Labels shrink with the cells and are left out when too small to read (hover still names the cell).
    let label_size = (cell * 0.95).min(11.0);
    let label_font = egui::FontId::proportional(label_size.max(6.0));
    let max_chars = 13;

    for (i, &class) in confusion.classes.iter().enumerate() {
        if label_size < 6.0 {
            break;
        }
        let y = origin.y + (i as f32 + 0.5) * cell;
        painter.text(
            egui::pos2(origin.x - 4.0, y),
            egui::Align2::RIGHT_CENTER,
            short(name(class), max_chars),
            label_font.clone(),
            text_color,
        );
        // Column labels run upwards above the matrix.
        let galley = painter.layout_no_wrap(
            short(name(class), max_chars),
            label_font.clone(),
            text_color,
        );
        let x = origin.x + (i as f32 + 0.5) * cell - galley.size().y * 0.5;
        let pos = egui::pos2(x, origin.y - 4.0);
        painter.add(
            egui::epaint::TextShape::new(pos, galley, text_color)
                .with_angle(-std::f32::consts::FRAC_PI_2),
        );
    }

    for t in 0..k {
        for p in 0..k {
            let min = origin + egui::vec2(p as f32 * cell, t as f32 * cell);
            let cell_rect = egui::Rect::from_min_size(min, egui::vec2(cell, cell)).shrink(0.5);
            let count = confusion.count(t, p);
            let fraction = confusion.row_fraction(t, p);
            painter.rect_filled(cell_rect, 1.0, palette.matrix_color(fraction));
            if t == p {
                painter.rect_stroke(
                    cell_rect,
                    1.0,
                    egui::Stroke::new(1.0, palette.matrix_diagonal_stroke),
                    egui::StrokeKind::Inside,
                );
            }
            if count > 0 && cell >= 16.0 {
                let fg = if fraction > 0.5 {
                    egui::Color32::WHITE
                } else {
                    text_color
                };
                painter.text(
                    cell_rect.center(),
                    egui::Align2::CENTER_CENTER,
                    count.to_string(),
                    font.clone(),
                    fg,
                );
            }
            let (truth, pred) = (confusion.classes[t], confusion.classes[p]);
            let label = format!("{} -> {}: {count}", name(truth), name(pred));
            let id = ui
                .scope_id()
                .with(("confusion", confusion.setting == Setting::Gzsl, t, p));
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
    ui.weak("rows: truth · columns: predicted · colour: % of the row");
}
