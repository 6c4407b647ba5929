//! The dock: the analysis views and the description editor as tabs of an `egui_tiles` tree, in a panel under the
//! player and the predictions, so that no view ever covers the player or the browser. Tabs can be dragged into
//! side-by-side or stacked splits and resized; the tree is saved with the settings (eframe persistence) and
//! `--fresh` starts from an empty one.
//!
//! Which views are open stays in each view's `open` flag (the View menu, `--view` and the tests set those);
//! [`sync`] makes the tree follow the flags each frame, and closing a tab clears its flag.

use egui_tiles::{
    Behavior, Container, SimplificationOptions, Tile, TileId, Tiles, Tree, UiResponse,
};

use super::ExplorerApp;
use super::command::AnalysisView;

pub type DockTree = Tree<AnalysisView>;

/// The dock with no tab (the state `--fresh` starts from).
pub fn empty_tree() -> DockTree {
    Tree::empty(egui::Id::unique("dock"))
}

/// The views that have a tab in `tree`, with their tiles.
pub fn panes(tree: &DockTree) -> Vec<(TileId, AnalysisView)> {
    let mut out: Vec<(TileId, AnalysisView)> = tree
        .tiles
        .iter()
        .filter_map(|(id, t)| match t {
            Tile::Pane(v) => Some((*id, *v)),
            Tile::Container(_) => None,
        })
        .collect();
    // The tiles are a hash map: a fixed order keeps the dump and the tests stable.
    out.sort_by_key(|(id, _)| id.0);
    out
}

/// The first tab group reached from the root (depth first), where newly opened views go.
fn first_tabs(tree: &DockTree) -> Option<TileId> {
    let mut stack: Vec<TileId> = tree.root.into_iter().collect();
    while let Some(id) = stack.pop() {
        if let Some(Tile::Container(c)) = tree.tiles.get(id) {
            if let Container::Tabs(_) = c {
                return Some(id);
            }
            stack.extend(c.children_vec().into_iter().rev());
        }
    }
    None
}

/// Makes `tree` hold one tab for each view where `open` holds, and no other: tabs of closed views are removed and a
/// newly opened view becomes the active tab of the first tab group.
pub fn sync(tree: &mut DockTree, open: impl Fn(AnalysisView) -> bool) {
    let mut present = Vec::new();
    for (id, v) in panes(tree) {
        // A view has one tab (a hand-edited or older saved tree could hold two).
        if open(v) && !present.contains(&v) {
            present.push(v);
        } else {
            tree.remove_recursively(id);
        }
    }
    for v in AnalysisView::ALL {
        if !open(v) || present.contains(&v) {
            continue;
        }
        let id = tree.tiles.insert_pane(v);
        match first_tabs(tree) {
            Some(tabs) => {
                if let Some(Tile::Container(Container::Tabs(t))) = tree.tiles.get_mut(tabs) {
                    t.add_child(id);
                    t.set_active(id);
                }
            }
            None => {
                // An empty dock, or a root without tabs: a tab group holding the root and the new view.
                let children: Vec<TileId> = tree.root.into_iter().chain([id]).collect();
                let tabs = tree.tiles.insert_tab_tile(children);
                if let Some(Tile::Container(Container::Tabs(t))) = tree.tiles.get_mut(tabs) {
                    t.set_active(id);
                }
                tree.root = Some(tabs);
            }
        }
    }
}

/// Draws each visible tab with the app's views; collects the tabs the user closed and where each view was shown.
struct DockBehavior<'a> {
    app: &'a mut ExplorerApp,
    closed: Vec<AnalysisView>,
    shown: Vec<(AnalysisView, egui::Rect)>,
    /// The tab bar that carries the taller / shorter toggle.
    first_bar: Option<TileId>,
}

impl Behavior<AnalysisView> for DockBehavior<'_> {
    fn pane_ui(&mut self, ui: &mut egui::Ui, _id: TileId, view: &mut AnalysisView) -> UiResponse {
        self.shown.push((*view, ui.max_rect()));
        egui::Frame::new()
            .inner_margin(egui::Margin::same(6))
            .show(ui, |ui| {
                ui.set_min_size(ui.available_size());
                self.app.pane_ui(ui, *view);
            });
        UiResponse::None
    }

    fn tab_title_for_pane(&mut self, view: &AnalysisView) -> egui::WidgetText {
        view.title().into()
    }

    fn is_tab_closable(&self, _tiles: &Tiles<AnalysisView>, _id: TileId) -> bool {
        true
    }

    fn on_tab_close(&mut self, tiles: &mut Tiles<AnalysisView>, id: TileId) -> bool {
        if let Some(Tile::Pane(v)) = tiles.get(id) {
            self.closed.push(*v);
        }
        true
    }

    fn top_bar_right_ui(
        &mut self,
        tiles: &Tiles<AnalysisView>,
        ui: &mut egui::Ui,
        id: TileId,
        _tabs: &egui_tiles::Tabs,
        _scroll: &mut f32,
    ) {
        // One toggle, on the first tab bar.
        let first = self.first_bar.get_or_insert(id);
        if *first != id || tiles.is_empty() {
            return;
        }
        let tall = self.app.settings.dock_tall;
        let label = if tall { "Shorter" } else { "Taller" };
        if ui
            .small_button(label)
            .on_hover_text("Give the dock more or less of the height (the player keeps the rest)")
            .clicked()
        {
            self.app.settings.dock_tall = !tall;
        }
    }

    fn simplification_options(&self) -> SimplificationOptions {
        SimplificationOptions {
            // Every view keeps a tab (its title and close button), even alone in a split.
            all_panes_must_have_tabs: true,
            ..SimplificationOptions::default()
        }
    }
}

impl ExplorerApp {
    /// Whether `view` is open (has a tab).
    pub fn view_open(&self, view: AnalysisView) -> bool {
        let v = &self.views;
        match view {
            AnalysisView::Tsne => v.tsne.open,
            AnalysisView::Calibration => v.calibration.open,
            AnalysisView::Star => v.star.open,
            AnalysisView::Branches => v.branches.open,
            AnalysisView::Export => v.export_open,
            AnalysisView::Editor => self.editor.open,
            AnalysisView::ClassAccuracy => v.research.accuracy_open,
            AnalysisView::Neighbours => v.research.neighbours_open,
            AnalysisView::Compare => v.compare.open,
            AnalysisView::Matrix => v.matrix_open,
        }
    }

    /// Sets `view`'s open flag only (no side effect such as computing t-SNE at once).
    pub(super) fn set_view_flag(&mut self, view: AnalysisView, open: bool) {
        let v = &mut self.views;
        match view {
            AnalysisView::Tsne => v.tsne.open = open,
            AnalysisView::Calibration => v.calibration.open = open,
            AnalysisView::Star => v.star.open = open,
            AnalysisView::Branches => v.branches.open = open,
            AnalysisView::Export => v.export_open = open,
            AnalysisView::Editor => self.editor.open = open,
            AnalysisView::ClassAccuracy => v.research.accuracy_open = open,
            AnalysisView::Neighbours => v.research.neighbours_open = open,
            AnalysisView::Compare => v.compare.open = open,
            AnalysisView::Matrix => v.matrix_open = open,
        }
    }

    /// Whether the dock takes most of the height: set by its toggle, and while the description editor shows (it
    /// needs the room; the player keeps a strip).
    pub(super) fn dock_tall(&self) -> bool {
        self.settings.dock_tall
            || self
                .views
                .rects
                .iter()
                .any(|(v, _)| *v == AnalysisView::Editor)
    }

    /// Whether the dock panel is shown (some view is open).
    pub(super) fn dock_shown(&self) -> bool {
        AnalysisView::ALL.into_iter().any(|v| self.view_open(v))
    }

    /// The dock's tabs, in the panel's `ui`; records each shown view's rectangle in `views.rects`.
    pub(super) fn dock_ui(&mut self, ui: &mut egui::Ui) {
        let mut tree = std::mem::replace(&mut self.settings.dock, empty_tree());
        sync(&mut tree, |v| self.view_open(v));
        let mut behavior = DockBehavior {
            app: self,
            closed: Vec::new(),
            shown: Vec::new(),
            first_bar: None,
        };
        tree.ui(&mut behavior, ui);
        let DockBehavior { closed, shown, .. } = behavior;
        for v in closed {
            self.set_view_flag(v, false);
        }
        self.views.rects = shown;
        self.settings.dock = tree;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views(tree: &DockTree) -> Vec<AnalysisView> {
        panes(tree).into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn the_tree_follows_the_open_flags() {
        let mut tree = empty_tree();
        sync(&mut tree, |v| {
            matches!(v, AnalysisView::Tsne | AnalysisView::Calibration)
        });
        assert_eq!(
            views(&tree),
            [AnalysisView::Tsne, AnalysisView::Calibration]
        );
        // The last one opened is the active tab.
        let tabs = first_tabs(&tree).unwrap();
        let Some(Tile::Container(Container::Tabs(t))) = tree.tiles.get(tabs) else {
            panic!("a tab group");
        };
        let active = t.active.and_then(|id| tree.tiles.get_pane(&id).copied());
        assert_eq!(active, Some(AnalysisView::Calibration));

        sync(&mut tree, |v| {
            matches!(v, AnalysisView::Calibration | AnalysisView::Editor)
        });
        assert_eq!(
            views(&tree),
            [AnalysisView::Calibration, AnalysisView::Editor]
        );
        sync(&mut tree, |_| false);
        assert!(views(&tree).is_empty());
        // The tree survives the settings' round trip (eframe persistence).
        sync(&mut tree, |v| v == AnalysisView::Star);
        let back: DockTree = serde_json::from_str(&serde_json::to_string(&tree).unwrap()).unwrap();
        assert_eq!(views(&back), [AnalysisView::Star]);
    }
}
