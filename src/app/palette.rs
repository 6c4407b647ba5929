//! Every colour the app uses, for the dark and the light theme. Views take colours from here only.

use egui::Color32;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

impl Theme {
    pub fn toggled(self) -> Self {
        match self {
            Self::Dark => Self::Light,
            Self::Light => Self::Dark,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    pub viewport_background: Color32,
    pub grid: Color32,
    /// Each person's left side, right side and centre line (spine and head): cool left, warm right, and the two
    /// persons in different hues.
    pub bodies: [[Color32; 3]; 2],
    /// Bones projected on the floor and feet touching it.
    pub shadow: Color32,
    pub joint_highlight: Color32,
    pub correct: Color32,
    pub incorrect: Color32,
    pub truth_highlight: Color32,
    pub seen: Color32,
    pub unseen: Color32,
    pub matrix_empty: Color32,
    /// The matrix colour ramp from 0 % to 100 % of a row.
    pub matrix_low: Color32,
    pub matrix_high: Color32,
    pub matrix_diagonal_stroke: Color32,
    pub error: Color32,
    pub warning: Color32,
    pub info: Color32,
}

impl Palette {
    pub fn for_theme(theme: Theme) -> Self {
        match theme {
            Theme::Dark => Self {
                viewport_background: Color32::from_rgb(18, 20, 24),
                grid: Color32::from_rgba_unmultiplied(150, 150, 150, 150),
                bodies: [
                    [
                        Color32::from_rgb(60, 170, 255),
                        Color32::from_rgb(255, 140, 40),
                        Color32::from_rgb(215, 215, 220),
                    ],
                    [
                        Color32::from_rgb(80, 215, 140),
                        Color32::from_rgb(240, 80, 170),
                        Color32::from_rgb(175, 165, 210),
                    ],
                ],
                shadow: Color32::from_rgba_unmultiplied(0, 0, 0, 150),
                joint_highlight: Color32::WHITE,
                correct: Color32::from_rgb(90, 200, 110),
                incorrect: Color32::from_rgb(240, 90, 80),
                truth_highlight: Color32::from_rgb(255, 210, 60),
                seen: Color32::from_rgb(150, 150, 160),
                unseen: Color32::from_rgb(190, 140, 255),
                matrix_empty: Color32::from_rgb(32, 34, 40),
                matrix_low: Color32::from_rgb(40, 50, 80),
                matrix_high: Color32::from_rgb(70, 160, 255),
                matrix_diagonal_stroke: Color32::from_rgb(255, 210, 60),
                error: Color32::from_rgb(240, 90, 80),
                warning: Color32::from_rgb(240, 190, 60),
                info: Color32::from_rgb(120, 180, 255),
            },
            Theme::Light => Self {
                viewport_background: Color32::from_rgb(236, 238, 242),
                grid: Color32::from_rgba_unmultiplied(90, 90, 90, 140),
                bodies: [
                    [
                        Color32::from_rgb(20, 110, 210),
                        Color32::from_rgb(225, 100, 10),
                        Color32::from_rgb(70, 70, 80),
                    ],
                    [
                        Color32::from_rgb(20, 150, 80),
                        Color32::from_rgb(200, 40, 140),
                        Color32::from_rgb(110, 90, 160),
                    ],
                ],
                shadow: Color32::from_rgba_unmultiplied(0, 0, 0, 70),
                joint_highlight: Color32::BLACK,
                correct: Color32::from_rgb(30, 140, 60),
                incorrect: Color32::from_rgb(200, 40, 40),
                truth_highlight: Color32::from_rgb(190, 130, 0),
                seen: Color32::from_rgb(100, 100, 110),
                unseen: Color32::from_rgb(120, 60, 200),
                matrix_empty: Color32::from_rgb(245, 245, 248),
                matrix_low: Color32::from_rgb(215, 228, 250),
                matrix_high: Color32::from_rgb(20, 90, 200),
                matrix_diagonal_stroke: Color32::from_rgb(190, 130, 0),
                error: Color32::from_rgb(200, 40, 40),
                warning: Color32::from_rgb(170, 120, 0),
                info: Color32::from_rgb(20, 90, 200),
            },
        }
    }

    /// The matrix cell colour for a row fraction in 0..=1.
    pub fn matrix_color(&self, fraction: f32) -> Color32 {
        if fraction <= 0.0 {
            return self.matrix_empty;
        }
        self.matrix_low
            .lerp_to_gamma(self.matrix_high, fraction.clamp(0.0, 1.0).sqrt())
    }

    /// A distinct colour per class (golden-ratio hues), darker on the light theme.
    pub fn class_color(&self, class: usize) -> Color32 {
        let hue = (class as f32 * 0.618_034).fract();
        let value = if self.viewport_background.r() > 128 {
            0.7
        } else {
            0.95
        };
        egui::ecolor::Hsva::new(hue, 0.75, value, 1.0).into()
    }

    /// The attention colour map (viridis, sampled at five stops) for a value in 0..=1.
    pub fn heat(&self, t: f32) -> Color32 {
        const STOPS: [Color32; 5] = [
            Color32::from_rgb(68, 1, 84),
            Color32::from_rgb(59, 82, 139),
            Color32::from_rgb(33, 145, 140),
            Color32::from_rgb(94, 201, 98),
            Color32::from_rgb(253, 231, 37),
        ];
        let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f32;
        let i = (x.floor() as usize).min(STOPS.len() - 2);
        STOPS[i].lerp_to_gamma(STOPS[i + 1], x - i as f32)
    }
}

/// egui colour as the renderer's sRGBA bytes.
pub fn rgba8(c: Color32) -> [u8; 4] {
    c.to_srgba_unmultiplied()
}
