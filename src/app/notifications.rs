//! Notifications shown as toasts in the corner; errors stay until dismissed, others fade after a few seconds.

use super::palette::Palette;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug)]
pub struct Notification {
    pub id: u64,
    pub level: Level,
    pub text: String,
    /// `egui` time when shown; `None` until the first frame it is drawn.
    shown_at: Option<f64>,
}

#[derive(Default)]
pub struct Notifications {
    next_id: u64,
    pub items: Vec<Notification>,
}

const FADE_SECS: f64 = 6.0;

impl Notifications {
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        match level {
            Level::Error => tracing::error!("{text}"),
            Level::Warning => tracing::warn!("{text}"),
            Level::Info => tracing::info!("{text}"),
        }
        // Progress news replaces the previous one: a launch's "loaded", "scored" and "loaded predictions" would
        // otherwise stack three toasts over the player. Warnings and errors are kept until they fade or are dismissed.
        if level == Level::Info {
            self.items.retain(|n| n.level != Level::Info);
        }
        self.next_id += 1;
        self.items.push(Notification {
            id: self.next_id,
            level,
            text,
            shown_at: None,
        });
        // Keep the corner readable.
        if self.items.len() > 6 {
            self.items.remove(0);
        }
    }

    pub fn dismiss(&mut self, id: u64) {
        self.items.retain(|n| n.id != id);
    }

    /// Draws the toasts in the bottom right corner of `over` (the player, so that they cover neither the browser nor
    /// the confusion matrix; the window's corner without it); returns the id of one the user dismissed.
    pub fn ui(
        &mut self,
        ctx: &egui::Context,
        over: Option<egui::Rect>,
        palette: &Palette,
    ) -> Option<u64> {
        let now = ctx.input(|i| i.time);
        self.items
            .retain(|n| n.level == Level::Error || n.shown_at.is_none_or(|t| now - t < FADE_SECS));
        if self.items.is_empty() {
            return None;
        }
        let mut dismissed = None;
        let area =
            egui::Area::new(egui::Id::unique("notifications")).order(egui::Order::Foreground);
        let area = match over {
            Some(r) => area
                .pivot(egui::Align2::RIGHT_BOTTOM)
                .fixed_pos(r.right_bottom() - egui::vec2(12.0, 12.0)),
            None => area.anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0)),
        };
        let max_width = over.map_or(420.0, |r| (r.width() - 48.0).clamp(160.0, 420.0));
        area.show(ctx, |ui| {
            for n in &mut self.items {
                n.shown_at.get_or_insert(now);
                let color = match n.level {
                    Level::Info => palette.info,
                    Level::Warning => palette.warning,
                    Level::Error => palette.error,
                };
                egui::Frame::popup(ui.style())
                    .stroke(egui::Stroke::new(1.0, color))
                    .show(ui, |ui| {
                        ui.set_max_width(max_width);
                        // Wrapped to the player's width: a long path would otherwise push the toast over the
                        // browser beside it.
                        ui.horizontal_top(|ui| {
                            if ui.small_button("x").on_hover_text("Dismiss").clicked() {
                                dismissed = Some(n.id);
                            }
                            ui.add(
                                egui::Label::new(egui::RichText::new(&n.text).color(color))
                                    .wrap_mode(egui::TextWrapMode::Wrap),
                            );
                        });
                    });
            }
        });
        if self.items.iter().any(|n| n.level != Level::Error) {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
        dismissed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_replaces_news_but_never_a_warning_or_an_error() {
        let mut n = Notifications::default();
        n.push(Level::Warning, "w");
        n.push(Level::Info, "loaded");
        n.push(Level::Error, "e");
        n.push(Level::Info, "scored");
        let texts: Vec<&str> = n.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, ["w", "e", "scored"]);
    }
}
