//! The one seam between egui and the wgpu renderers: they live in egui-wgpu's callback resources, and each frame
//! the player hands the skeleton renderer a camera and a scene, and the t-SNE view hands the marker renderer the
//! plot's mapping and its markers, through paint callbacks.

use std::sync::Arc;

use eframe::egui_wgpu::{self, wgpu};

use crate::render::{CameraView, DotSet, DotsMapping, DotsRenderer, Scene, SkeletonRenderer};

/// Creates the renderer for eframe's render target and stores it in the callback resources. Returns false when
/// eframe runs without wgpu (then the player falls back to egui's painter).
pub fn install(render_state: Option<&egui_wgpu::RenderState>) -> bool {
    let Some(rs) = render_state else {
        return false;
    };
    // eframe's render pass uses one sample and no depth buffer unless told otherwise; the app does not change it.
    let renderer = SkeletonRenderer::new(&rs.device, rs.target_format, 1);
    let dots = DotsRenderer::new(&rs.device, rs.target_format, 1);
    let mut egui_renderer = rs.renderer.write();
    egui_renderer.callback_resources.insert(renderer);
    egui_renderer.callback_resources.insert(dots);
    true
}

struct SkeletonCallback {
    view: CameraView,
    scene: Arc<Scene>,
}

impl egui_wgpu::CallbackTrait for SkeletonCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        match resources.get_mut::<SkeletonRenderer>() {
            Some(renderer) => renderer.prepare(device, queue, &self.view, &self.scene),
            None => tracing::error!("skeleton renderer missing from the callback resources"),
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(renderer) = resources.get::<SkeletonRenderer>() {
            renderer.paint(pass);
        }
    }
}

/// A paint callback drawing `scene` into `rect` (egui points); `view` must be built for the rect in physical
/// pixels (egui-wgpu sets the viewport to the rect).
pub fn skeleton_callback(rect: egui::Rect, view: CameraView, scene: Arc<Scene>) -> egui::Shape {
    egui::Shape::Callback(egui_wgpu::Callback::new_paint_callback(
        rect,
        SkeletonCallback { view, scene },
    ))
}

struct DotsCallback {
    mapping: DotsMapping,
    set: DotSet,
}

impl egui_wgpu::CallbackTrait for DotsCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let mapping = DotsMapping {
            viewport: screen.size_in_pixels.map(|v| v as f32),
            ..self.mapping
        };
        match resources.get_mut::<DotsRenderer>() {
            Some(renderer) => renderer.prepare(device, queue, &mapping, &self.set),
            None => tracing::error!("marker renderer missing from the callback resources"),
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(renderer) = resources.get::<DotsRenderer>() {
            renderer.paint(pass);
        }
    }
}

/// A paint callback drawing the markers of `set`, clipped to egui's clip rect; `mapping` takes plot coordinates to
/// the window's physical pixels (its `viewport`, the window's size, is filled in here).
pub fn dots_callback(rect: egui::Rect, mapping: DotsMapping, set: DotSet) -> egui::Shape {
    egui::Shape::Callback(egui_wgpu::Callback::new_paint_callback(
        rect,
        DotsCallback { mapping, set },
    ))
}
