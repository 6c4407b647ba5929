//! GPU side of the t-SNE map's sample markers (`shaders/dots.wgsl`): one instanced pipeline, the plot's mapping
//! as a uniform, and the markers uploaded only when they change. At 50,000 markers the CPU mesh it replaces was
//! rebuilt and tessellated every frame (about 450,000 vertices: 3 ms of the UI pass and 2 ms of tessellation).

use std::sync::Arc;

use super::renderer::{InstanceBuffer, InstancedPipeline, instanced_pipeline, uniform_binding};
use eframe::wgpu;

/// The WGSL source, compiled into the binary.
pub const DOTS_WGSL: &str = include_str!("../../shaders/dots.wgsl");

/// A marker's shape, as `DotIn::shape` in `shaders/dots.wgsl` reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DotShape {
    Circle = 0,
    Diamond = 1,
    Cross = 2,
}

/// One marker. Layout matches `DotIn` in `shaders/dots.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DotInstance {
    /// Plot coordinates.
    pub at: [f32; 2],
    /// Points.
    pub radius: f32,
    /// [`DotShape`] as a number.
    pub shape: u32,
    /// sRGB, not premultiplied.
    pub color: [u8; 4],
}

impl DotInstance {
    pub fn new(at: [f32; 2], radius: f32, shape: DotShape, color: [u8; 4]) -> Self {
        Self {
            at,
            radius,
            shape: shape as u32,
            color,
        }
    }
}

/// The plot's mapping for one frame. Layout matches `Mapping` in `shaders/dots.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DotsMapping {
    /// Physical pixels from the target's top-left corner = `at * scale + offset` (y down).
    pub scale: [f32; 2],
    pub offset: [f32; 2],
    /// The whole target in physical pixels: [`DotsRenderer::paint`] draws over all of it (the pass's scissor,
    /// egui's clip rect, keeps the markers in the plot), so the mapping does not depend on how egui-wgpu rounds and
    /// clamps a callback's viewport.
    pub viewport: [f32; 2],
    pub pixels_per_point: f32,
    /// Set by the renderer: 1 for an sRGB target.
    pub srgb: f32,
}

/// Markers and a version number that changes whenever they do, so a frame with the same markers uploads nothing.
#[derive(Clone, Debug)]
pub struct DotSet {
    pub version: u64,
    pub dots: Arc<Vec<DotInstance>>,
}

pub struct DotsRenderer {
    pipeline: wgpu::RenderPipeline,
    mapping_buffer: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    instances: InstanceBuffer,
    count: u32,
    version: Option<u64>,
    viewport: [f32; 2],
    srgb_target: bool,
}

impl DotsRenderer {
    /// Builds the pipeline for a colour target of `format` with `sample_count` samples and no depth buffer.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat, sample_count: u32) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("dots.wgsl"),
            source: wgpu::ShaderSource::Wgsl(DOTS_WGSL.into()),
        });
        let (mapping_layout, mapping_buffer, bind_group) = uniform_binding(
            device,
            "dots mapping",
            bytemuck::bytes_of(&DotsMapping {
                scale: [1.0; 2],
                offset: [0.0; 2],
                viewport: [1.0; 2],
                pixels_per_point: 1.0,
                srgb: 0.0,
            }),
        );
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("dots"),
            bind_group_layouts: &[Some(&mapping_layout)],
            immediate_size: 0,
        });
        let attributes = wgpu::vertex_attr_array![
            0 => Float32x2, 1 => Float32, 2 => Uint32, 3 => Unorm8x4
        ];
        let pipeline = instanced_pipeline(
            device,
            &InstancedPipeline {
                label: "dots",
                layout: &layout,
                shader: &shader,
                entry_points: ("vs_dot", "fs_dot"),
                stride: size_of::<DotInstance>(),
                attributes: &attributes,
                format,
                sample_count,
            },
        );
        Self {
            pipeline,
            mapping_buffer,
            bind_group,
            instances: InstanceBuffer::new(device, "dots", 64 * 1024),
            count: 0,
            version: None,
            viewport: [1.0; 2],
            srgb_target: format.is_srgb(),
        }
    }

    /// Uploads the mapping, and the markers when their version differs from the last upload's.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        mapping: &DotsMapping,
        set: &DotSet,
    ) {
        let mapping = DotsMapping {
            srgb: if self.srgb_target { 1.0 } else { 0.0 },
            ..*mapping
        };
        queue.write_buffer(&self.mapping_buffer, 0, bytemuck::bytes_of(&mapping));
        self.viewport = mapping.viewport;
        if self.version != Some(set.version) {
            self.instances
                .write(device, queue, bytemuck::cast_slice(set.dots.as_slice()));
            self.count = u32::try_from(set.dots.len()).unwrap_or(u32::MAX);
            self.version = Some(set.version);
        }
    }

    /// Records the draw of the last prepared markers, over the whole target (see [`DotsMapping::viewport`]).
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>) {
        if self.count == 0 {
            return;
        }
        pass.set_viewport(0.0, 0.0, self.viewport[0], self.viewport[1], 0.0, 1.0);
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_vertex_buffer(0, self.instances.buffer.slice(..));
        pass.draw(0..6, 0..self.count);
    }
}
