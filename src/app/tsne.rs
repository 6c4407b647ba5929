//! The t-SNE view: the run's skeleton features of every scored sample and its class-text points in one 2-D map,
//! computed on a worker ([`crate::pipeline::tsne`]). Points are coloured by class, seen classes round and unseen ones
//! diamonds, mistakes crossed; hover names a sample, a click selects and plays it, a box (in box mode) or a
//! free-hand lasso (in lasso mode) lists its samples in the browser. A legend beside the map gives each class's
//! colour (a click shows that class alone and lists its samples); class-text labels that would overlap are left
//! out (hover their square for the name).

mod dots;

use egui_plot::{MarkerShape, Plot, PlotPoint, Points, Polygon, Text};

use self::dots::{Dot, Dots, Marker};
use super::browser::Joined;
use super::command::Command;
use super::palette::Palette;
use crate::dataset::Dataset;
use crate::pipeline::analysis::FeatureExport;
use crate::pipeline::predictions::Predictions;
use crate::pipeline::tsne::{TsneConfig, TsneMap};

pub struct TsneView {
    pub open: bool,
    pub perplexity: f32,
    pub iterations: usize,
    pub map: Option<TsneMap>,
    /// Drag to select a box instead of panning.
    pub box_mode: bool,
    /// Drag a free-hand polygon instead of panning.
    pub lasso_mode: bool,
    /// The lasso drawn so far (plot coordinates).
    lasso: Vec<PlotPoint>,
    drag_from: Option<PlotPoint>,
    drag_to: Option<PlotPoint>,
    /// The sample (dataset index) under the pointer.
    pub hovered: Option<usize>,
    /// The prediction row last clicked (the analysis views fall back to it when no dataset sample is selected).
    pub picked_row: Option<usize>,
    /// Plot-to-screen mapping of the last frame (tests aim clicks with it).
    pub last_transform: Option<egui_plot::PlotTransform>,
    /// The class (dataset index) shown alone, chosen in the legend.
    pub only: Option<usize>,
    /// Class columns whose text label was drawn last frame (the others would have overlapped).
    pub labelled: Vec<usize>,
    /// The markers as last handed to the GPU (uploaded again only when they change).
    gpu_dots: dots::GpuDots,
}

impl Default for TsneView {
    fn default() -> Self {
        Self {
            open: false,
            perplexity: 30.0,
            iterations: 750,
            map: None,
            box_mode: false,
            lasso_mode: false,
            lasso: Vec::new(),
            drag_from: None,
            drag_to: None,
            hovered: None,
            picked_row: None,
            last_transform: None,
            only: None,
            labelled: Vec::new(),
            gpu_dots: dots::GpuDots::default(),
        }
    }
}

/// What the view needs from the app for one frame.
pub struct TsneContext<'a> {
    pub predictions: Option<&'a Predictions>,
    pub dataset: Option<&'a Dataset>,
    pub joined: &'a Joined,
    pub run_key: u64,
    pub running: Option<(u64, f32)>,
    pub selected: Option<usize>,
    pub palette: &'a Palette,
    /// The markers are drawn by the wgpu renderer ([`crate::bridge::dots_callback`]); without wgpu, as a mesh.
    pub gpu: bool,
}

impl TsneView {
    pub fn config(&self) -> TsneConfig {
        TsneConfig {
            perplexity: self.perplexity,
            iterations: self.iterations,
            ..TsneConfig::default()
        }
    }

    /// The view's contents (in its dock tab).
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &TsneContext<'_>, commands: &mut Vec<Command>) {
        self.contents_ui(ui, cx, commands);
    }

    fn contents_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &TsneContext<'_>,
        commands: &mut Vec<Command>,
    ) {
        let Some(p) = cx.predictions else {
            ui.weak("Open a run to embed its features.");
            return;
        };
        let Some(features) = &p.features else {
            ui.weak("This run exported no features (features in predictions.json).");
            return;
        };
        self.controls_ui(ui, cx, p, features, commands);
        // Taken out while the view draws and edits its selection state, put back below.
        let Some(map) = self.map.take_if(|m| m.run_key == cx.run_key) else {
            ui.weak("Not computed yet for this run.");
            return;
        };
        caption_ui(ui, p, features, &map);
        // Prediction row -> dataset sample.
        let mut sample_of_row = vec![None; map.num_rows];
        for (s, row) in cx.joined.pred_row.iter().enumerate() {
            if let Some(r) = row
                && let Some(slot) = sample_of_row.get_mut(*r)
            {
                *slot = Some(s);
            }
        }
        // The map on the left, the legend on the right (a narrow tab puts the legend under nothing: it scrolls).
        let legend_w = (ui.available_width() * 0.28).clamp(120.0, 220.0);
        ui.horizontal_top(|ui| {
            let map_w = (ui.available_width() - legend_w - ui.spacing().item_spacing.x).max(160.0);
            ui.vertical(|ui| {
                ui.set_width(map_w);
                let response = self.plot_ui(ui, cx, p, &map, &sample_of_row);
                let hovered_row = self.selection_ui(ui, &response, &map, &sample_of_row, commands);
                self.hover_ui(ui, cx, p, &map, response.response, hovered_row);
            });
            ui.vertical(|ui| self.legend_ui(ui, cx, p, commands));
        });
        self.map = Some(map);
    }

    /// Perplexity, iterations, run / cancel, the selection mode, and what the map holds.
    /// Each class's colour and marker; a click shows that class alone and lists its samples in the browser.
    fn legend_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &TsneContext<'_>,
        p: &Predictions,
        commands: &mut Vec<Command>,
    ) {
        let names = cx.dataset.map_or(&[][..], |d| &d.classes[..]);
        ui.strong("Classes").on_hover_text(
            "Click a class to show it alone and list its samples; click again for all",
        );
        egui::ScrollArea::vertical()
            .id_salt("tsne legend")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (col, &class) in p.classes.iter().enumerate() {
                    let name = p.class_name(class, names);
                    let chosen = self.only == Some(class);
                    let color = cx.palette.class_color(class);
                    let r = ui
                        .horizontal(|ui| {
                            // The map's marker: a circle for a seen class, a diamond for an unseen one.
                            let (rect, _) = ui
                                .allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                            let c = rect.center();
                            if p.unseen[col] {
                                let d = 5.0;
                                ui.painter().add(egui::Shape::convex_polygon(
                                    vec![
                                        c + egui::vec2(0.0, -d),
                                        c + egui::vec2(d, 0.0),
                                        c + egui::vec2(0.0, d),
                                        c + egui::vec2(-d, 0.0),
                                    ],
                                    color,
                                    egui::Stroke::NONE,
                                ));
                            } else {
                                ui.painter().circle_filled(c, 4.0, color);
                            }
                            ui.add(
                                egui::Button::selectable(
                                    chosen,
                                    egui::RichText::new(&name).color(color),
                                )
                                .truncate(),
                            )
                        })
                        .inner
                        .on_hover_text(format!(
                            "{name} ({}): {}",
                            if p.unseen[col] { "unseen" } else { "seen" },
                            if chosen {
                                "show every class"
                            } else {
                                "show this class alone"
                            }
                        ));
                    if r.clicked() {
                        if chosen {
                            self.only = None;
                            commands.push(Command::ClearCellFilter);
                        } else {
                            self.only = Some(class);
                            if let Some(d) = cx.dataset {
                                let samples: Vec<usize> = (0..d.samples.len())
                                    .filter(|&i| {
                                        d.samples[i].meta.label == class
                                            && cx
                                                .joined
                                                .pred_row
                                                .get(i)
                                                .copied()
                                                .flatten()
                                                .is_some()
                                    })
                                    .collect();
                                commands.push(Command::FilterSamples(samples));
                            }
                        }
                    }
                }
            });
    }

    fn controls_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &TsneContext<'_>,
        p: &Predictions,
        features: &FeatureExport,
        commands: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.perplexity, 2.0..=100.0).text("perplexity"));
            ui.add(
                egui::Slider::new(&mut self.iterations, 100..=2000)
                    .text("iterations")
                    .step_by(50.0),
            );
        });
        ui.horizontal(|ui| {
            match cx.running {
                Some((id, progress)) => {
                    ui.add(
                        egui::ProgressBar::new(progress)
                            .desired_width(160.0)
                            .show_percentage(),
                    );
                    if ui.button("Cancel t-SNE").clicked() {
                        commands.push(Command::CancelJob(id));
                    }
                }
                None => {
                    let label = if self.map.is_some() {
                        "Re-run t-SNE"
                    } else {
                        "Run t-SNE"
                    };
                    if ui.button(label).clicked() {
                        commands.push(Command::RunTsne(self.config()));
                    }
                }
            }
            if ui.checkbox(&mut self.box_mode, "Box select").changed() && self.box_mode {
                self.lasso_mode = false;
            }
            if ui.checkbox(&mut self.lasso_mode, "Lasso select").changed() && self.lasso_mode {
                self.box_mode = false;
            }
            ui.weak(format!(
                "{} samples + {} classes, {}-d",
                p.num_samples(),
                features.classes.len() / features.dim.max(1),
                features.dim
            ));
        });
        if features.classes.is_empty() {
            ui.weak("This file has no class-text points.");
        }
    }

    /// The map: sample points by class (seen round, unseen diamonds), class-text squares, mistakes crossed, the
    /// selected sample ringed, and the selection being drawn.
    fn plot_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &TsneContext<'_>,
        p: &Predictions,
        map: &TsneMap,
        sample_of_row: &[Option<usize>],
    ) -> egui_plot::PlotResponse<()> {
        let names = cx.dataset.map_or(&[][..], |d| &d.classes[..]);
        let class_name = |c: usize| p.class_name(c, names);
        let palette = cx.palette;
        let dragging_selects = self.box_mode || self.lasso_mode;
        let lasso: Vec<[f64; 2]> = self.lasso.iter().map(|p| [p.x, p.y]).collect();
        let rect = match (self.drag_from, self.drag_to) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        let selected_row = cx
            .selected
            .and_then(|s| cx.joined.pred_row.get(s).copied().flatten());
        // Placed with last frame's mapping (the map moves little between frames).
        let labelled = match self.last_transform {
            Some(t) => {
                let font = egui::TextStyle::Body.resolve(ui.style());
                let boxes: Vec<egui::Rect> = (0..p.num_classes())
                    .map(|col| {
                        let Some(&pt) = map.points.get(map.num_rows + col) else {
                            return egui::Rect::NOTHING;
                        };
                        let at = t.position_from_point(&PlotPoint::new(
                            f64::from(pt[0]),
                            f64::from(pt[1]),
                        ));
                        let name = class_name(p.classes[col]);
                        let w: f32 = ui
                            .ctx()
                            .fonts_mut(|f| name.chars().map(|c| f.glyph_width(&font, c)).sum());
                        egui::Rect::from_min_max(
                            at - egui::vec2(0.0, font.size),
                            at + egui::vec2(w, 0.0),
                        )
                    })
                    .collect();
                let first = self
                    .only
                    .and_then(|c| p.classes.iter().position(|&k| k == c));
                declutter(&boxes, first)
            }
            None => Vec::new(),
        };
        self.labelled.clone_from(&labelled);
        let only = self.only;
        // Every sample's marker in one item (one mesh: `tsne/dots.rs`), the mistakes' crosses after them on top.
        let col_of_class: std::collections::HashMap<usize, usize> =
            p.classes.iter().enumerate().map(|(c, &k)| (k, c)).collect();
        let col_color: Vec<egui::Color32> = p
            .classes
            .iter()
            .map(|&class| {
                if only.is_some_and(|c| c != class) {
                    palette.class_color(class).gamma_multiply(0.15)
                } else {
                    palette.class_color(class)
                }
            })
            .collect();
        let mut markers: Vec<Dot> = Vec::with_capacity(map.num_rows);
        for (r, label) in p.labels.iter().enumerate().take(map.num_rows) {
            if let (Some(&c), Some(&at)) = (col_of_class.get(label), map.points.get(r)) {
                markers.push(Dot {
                    at,
                    color: col_color[c],
                    marker: if p.unseen[c] {
                        Marker::Diamond
                    } else {
                        Marker::Circle
                    },
                    radius: 3.0,
                });
            }
        }
        for (r, &at) in map.points.iter().enumerate().take(map.num_rows) {
            let wrong = sample_of_row[r]
                .and_then(|s| cx.joined.rows.get(s))
                .is_some_and(|info| info.correct == Some(false));
            if wrong {
                markers.push(Dot {
                    at,
                    color: palette.incorrect,
                    marker: Marker::Cross,
                    radius: 5.0,
                });
            }
        }
        // The tab's height less the hover line under the plot (a docked tab does not grow with its contents).
        let height =
            (ui.available_height() - ui.text_style_height(&egui::TextStyle::Body) - 8.0).max(160.0);
        Plot::new("tsne plot")
            .height(height)
            .data_aspect(1.0)
            .show_axes(false)
            .show_grid(false)
            .show_x(false)
            .show_y(false)
            .allow_drag(!dragging_selects)
            .allow_boxed_zoom(!dragging_selects)
            .show(ui, |plot| {
                let samples = Dots::new("samples", &markers);
                plot.add(if cx.gpu {
                    samples.on_gpu(self.gpu_dots.update(&markers))
                } else {
                    samples
                });
                for (col, &class) in p.classes.iter().enumerate() {
                    let color = col_color[col];
                    if let Some(&pt) = map.points.get(map.num_rows + col) {
                        let at = PlotPoint::new(f64::from(pt[0]), f64::from(pt[1]));
                        plot.points(
                            Points::new(
                                format!("{} (text)", class_name(class)),
                                vec![[at.x, at.y]],
                            )
                            .color(color)
                            .shape(MarkerShape::Square)
                            .radius(7.0)
                            .allow_hover(false),
                        );
                        if labelled.contains(&col) {
                            plot.text(
                                Text::new("class names", at, class_name(class))
                                    .anchor(egui::Align2::LEFT_BOTTOM)
                                    .color(color),
                            );
                        }
                    }
                }
                if let Some(r) = selected_row.filter(|&r| r < map.num_rows) {
                    plot.points(
                        Points::new(
                            "selected",
                            vec![[f64::from(map.points[r][0]), f64::from(map.points[r][1])]],
                        )
                        .color(palette.joint_highlight)
                        .shape(MarkerShape::Circle)
                        .filled(false)
                        .radius(8.0)
                        .allow_hover(false),
                    );
                }
                if lasso.len() >= 2 {
                    plot.polygon(
                        Polygon::new("lasso", lasso.clone())
                            .fill_color(palette.info.gamma_multiply(0.15))
                            .stroke(egui::Stroke::new(1.0, palette.info))
                            .allow_hover(false),
                    );
                }
                if let Some((a, b)) = rect {
                    plot.polygon(
                        Polygon::new(
                            "selection",
                            vec![[a.x, a.y], [b.x, a.y], [b.x, b.y], [a.x, b.y]],
                        )
                        .fill_color(palette.info.gamma_multiply(0.15))
                        .stroke(egui::Stroke::new(1.0, palette.info))
                        .allow_hover(false),
                    );
                }
            })
    }

    /// Box and lasso selections (listed in the browser) and a click (plays the sample); returns the hovered row.
    fn selection_ui(
        &mut self,
        ui: &egui::Ui,
        response: &egui_plot::PlotResponse<()>,
        map: &TsneMap,
        sample_of_row: &[Option<usize>],
        commands: &mut Vec<Command>,
    ) -> Option<usize> {
        let transform = response.transform;
        self.last_transform = Some(transform);
        let resp = &response.response;
        // The nearest sample point (prediction row) within 10 px of the pointer.
        let nearest = |pos: egui::Pos2| -> Option<usize> {
            (0..map.num_rows)
                .map(|r| {
                    let pt =
                        PlotPoint::new(f64::from(map.points[r][0]), f64::from(map.points[r][1]));
                    (r, transform.position_from_point(&pt).distance_sq(pos))
                })
                .filter(|&(_, d)| d <= 100.0)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(r, _)| r)
        };
        let hovered_row = resp.hover_pos().and_then(nearest);
        self.hovered = hovered_row.and_then(|r| sample_of_row[r]);
        if self.box_mode {
            // From where the button went down: a drag is recognised only after the pointer has moved.
            if resp.drag_started()
                && let Some(pos) = ui
                    .input(|i| i.pointer.press_origin())
                    .or(resp.interact_pointer_pos())
            {
                self.drag_from = Some(transform.value_from_position(pos));
                self.drag_to = self.drag_from;
            }
            if resp.dragged()
                && let Some(pos) = resp.interact_pointer_pos()
            {
                self.drag_to = Some(transform.value_from_position(pos));
            }
            if resp.drag_stopped()
                && let (Some(a), Some(b)) = (self.drag_from.take(), self.drag_to.take())
            {
                let (x0, x1) = (a.x.min(b.x), a.x.max(b.x));
                let (y0, y1) = (a.y.min(b.y), a.y.max(b.y));
                let inside: Vec<usize> = (0..map.num_rows)
                    .filter(|&r| {
                        let [x, y] = map.points[r].map(f64::from);
                        (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
                    })
                    .filter_map(|r| sample_of_row[r])
                    .collect();
                commands.push(Command::FilterSamples(inside));
            }
        }
        if self.lasso_mode {
            if resp.drag_started() {
                self.lasso.clear();
                if let Some(pos) = ui
                    .input(|i| i.pointer.press_origin())
                    .or(resp.interact_pointer_pos())
                {
                    self.lasso.push(transform.value_from_position(pos));
                }
            }
            if resp.dragged()
                && let Some(pos) = resp.interact_pointer_pos()
            {
                // A vertex every few pixels keeps the polygon small.
                let far = self
                    .lasso
                    .last()
                    .is_none_or(|last| transform.position_from_point(last).distance(pos) >= 3.0);
                if far {
                    self.lasso.push(transform.value_from_position(pos));
                }
            }
            if resp.drag_stopped() {
                let polygon: Vec<[f64; 2]> = self.lasso.drain(..).map(|p| [p.x, p.y]).collect();
                if polygon.len() >= 3 {
                    let inside: Vec<usize> = (0..map.num_rows)
                        .filter(|&r| point_in_polygon(map.points[r].map(f64::from), &polygon))
                        .filter_map(|r| sample_of_row[r])
                        .collect();
                    commands.push(Command::FilterSamples(inside));
                }
            }
        }
        if resp.clicked()
            && let Some(r) = resp.interact_pointer_pos().and_then(nearest)
        {
            // Rows of samples that are not in the open dataset can still be inspected (STAR, InfoCPL).
            self.picked_row = Some(r);
            if let Some(s) = sample_of_row[r] {
                commands.push(Command::PlaySample(s));
            }
        }
        hovered_row
    }

    /// What the pointer is over: the sample, its class and prediction.
    fn hover_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &TsneContext<'_>,
        p: &Predictions,
        map: &TsneMap,
        resp: egui::Response,
        hovered_row: Option<usize>,
    ) {
        let names = cx.dataset.map_or(&[][..], |d| &d.classes[..]);
        let class_name = |c: usize| p.class_name(c, names);
        // A class-text square under the pointer (its label may have been left out to avoid overlap).
        let hovered_class = match (self.last_transform, resp.hover_pos()) {
            (Some(t), Some(pos)) => (0..p.num_classes())
                .filter_map(|col| {
                    let pt = map.points.get(map.num_rows + col)?;
                    let at =
                        t.position_from_point(&PlotPoint::new(f64::from(pt[0]), f64::from(pt[1])));
                    Some((col, at.distance_sq(pos)))
                })
                .filter(|&(_, d)| d <= 100.0)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(col, _)| col),
            _ => None,
        };
        if let (Some(col), None) = (hovered_class, hovered_row) {
            let text = format!("{} (class text)", class_name(p.classes[col]));
            ui.label(&text);
            resp.on_hover_text_at_pointer(text);
            return;
        }
        let hover_text = match (self.hovered, cx.dataset, hovered_row) {
            (Some(s), Some(d), _) => {
                let sample = &d.samples[s];
                let info = cx.joined.rows.get(s);
                format!(
                    "{} · {} -> {}",
                    sample.meta.id,
                    class_name(sample.meta.label),
                    info.and_then(|i| i.predicted)
                        .map_or("–".into(), class_name)
                )
            }
            (_, _, Some(r)) => {
                let predicted = p.predicted(r, crate::pipeline::predictions::Setting::Gzsl);
                format!(
                    "{} · {} -> {} (not in the open dataset)",
                    p.sample_ids[r],
                    class_name(p.labels[r]),
                    predicted.map_or("–".into(), class_name)
                )
            }
            _ => "Hover a point; click to play it".to_owned(),
        };
        if hovered_row.is_some() {
            resp.on_hover_text_at_pointer(hover_text.clone());
        }
        ui.label(hover_text);
    }
}

/// The class-text labels to draw: in order (`first` before all), each one kept only if its box overlaps none kept
/// before it. Returns the kept indices.
pub fn declutter(boxes: &[egui::Rect], first: Option<usize>) -> Vec<usize> {
    let order = first
        .into_iter()
        .chain((0..boxes.len()).filter(|&i| Some(i) != first));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let b = boxes[i];
        // A few points apart, as well as not overlapping.
        if b.is_positive() && !kept.iter().any(|&k| boxes[k].expand(3.0).intersects(b)) {
            kept.push(i);
        }
    }
    kept
}

/// What the map shows and what it does not keep.
fn caption_ui(ui: &mut egui::Ui, p: &Predictions, features: &FeatureExport, map: &TsneMap) {
    let space = if features.space.is_empty() {
        "the run's exported features".to_owned()
    } else {
        features.space.clone()
    };
    ui.weak(format!(
        "The {} samples this run scored (its test split) and its class texts, mapped to 2-D by t-SNE (perplexity \
         {:.0}, {} iterations, {:.2} s). The map keeps neighbourhoods, not distances: the nearest class square on \
         it need not be the prediction, which is the best score in the full space.",
        p.num_samples(),
        map.config.perplexity,
        map.config.iterations,
        map.seconds,
    ))
    .on_hover_text(format!(
        "Computed from {space}.\ncircle: seen class, diamond: unseen class, square: class text, cross: \
         misclassified, ring: selected"
    ));
}

/// Whether `p` lies inside the closed polygon `polygon` (even-odd rule: a ray to the right crosses its edges an odd
/// number of times). Self-intersecting lassos follow the same rule.
pub fn point_in_polygon(p: [f64; 2], polygon: &[[f64; 2]]) -> bool {
    let mut inside = false;
    let n = polygon.len();
    for i in 0..n {
        let [xi, yi] = polygon[i];
        let [xj, yj] = polygon[(i + n - 1) % n];
        if (yi > p[1]) != (yj > p[1]) && p[0] < (xj - xi) * (p[1] - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests;
