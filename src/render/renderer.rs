//! GPU side of the skeleton pass: the shader module, two instanced pipelines, the camera uniform and growable
//! instance buffers. It draws into whatever render pass it is given (egui's, or the offscreen one in
//! [`super::headless`]).

use eframe::wgpu;
use wgpu::util::DeviceExt as _;

use super::camera::{CameraView, Mat4};
use super::scene::{DiscInstance, DrawKind, Scene, SegmentInstance};

/// The WGSL source, compiled into the binary.
pub const SKELETON_WGSL: &str = include_str!("../../shaders/skeleton.wgsl");

/// Layout matches `Camera` in `shaders/skeleton.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CameraUniform {
    pub view_proj: Mat4,
    pub viewport: [f32; 4],
}

impl CameraUniform {
    pub fn new(view: &CameraView, srgb_target: bool) -> Self {
        Self {
            view_proj: view.clip_from_world,
            viewport: [
                view.viewport_px[0],
                view.viewport_px[1],
                view.pixels_per_unit,
                if srgb_target { 1.0 } else { 0.0 },
            ],
        }
    }
}

/// An instance buffer that grows (doubling) when a scene outgrows it.
pub(super) struct InstanceBuffer {
    pub(super) buffer: wgpu::Buffer,
    capacity_bytes: u64,
    label: &'static str,
}

impl InstanceBuffer {
    pub(super) fn new(device: &wgpu::Device, label: &'static str, capacity_bytes: u64) -> Self {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: capacity_bytes,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            buffer,
            capacity_bytes,
            label,
        }
    }

    pub(super) fn write(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let needed = bytes.len() as u64;
        if needed > self.capacity_bytes {
            *self = Self::new(device, self.label, needed.next_power_of_two());
        }
        queue.write_buffer(&self.buffer, 0, bytes);
    }
}

/// A uniform buffer holding `initial`, its layout and its bind group (binding 0, read by the vertex and fragment
/// stages): the skeleton's camera and the markers' mapping.
pub(super) fn uniform_binding(
    device: &wgpu::Device,
    label: &str,
    initial: &[u8],
) -> (wgpu::BindGroupLayout, wgpu::Buffer, wgpu::BindGroup) {
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }],
    });
    let buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: initial,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &layout,
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: buffer.as_entire_binding(),
        }],
    });
    (layout, buffer, bind_group)
}

/// What [`instanced_pipeline`] builds: a quad per instance (six vertices from the vertex index), one instance
/// buffer, premultiplied alpha blending over a colour target of `format` with `sample_count` samples, no depth.
pub(super) struct InstancedPipeline<'a> {
    pub label: &'a str,
    pub layout: &'a wgpu::PipelineLayout,
    pub shader: &'a wgpu::ShaderModule,
    /// Vertex and fragment entry points.
    pub entry_points: (&'a str, &'a str),
    pub stride: usize,
    pub attributes: &'a [wgpu::VertexAttribute],
    pub format: wgpu::TextureFormat,
    pub sample_count: u32,
}

pub(super) fn instanced_pipeline(
    device: &wgpu::Device,
    p: &InstancedPipeline<'_>,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(p.label),
        layout: Some(p.layout),
        vertex: wgpu::VertexState {
            module: p.shader,
            entry_point: Some(p.entry_points.0),
            compilation_options: Default::default(),
            buffers: &[Some(wgpu::VertexBufferLayout {
                array_stride: p.stride as u64,
                step_mode: wgpu::VertexStepMode::Instance,
                attributes: p.attributes,
            })],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState {
            count: p.sample_count.max(1),
            ..Default::default()
        },
        fragment: Some(wgpu::FragmentState {
            module: p.shader,
            entry_point: Some(p.entry_points.1),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: p.format,
                blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

pub struct SkeletonRenderer {
    segment_pipeline: wgpu::RenderPipeline,
    disc_pipeline: wgpu::RenderPipeline,
    camera_buffer: wgpu::Buffer,
    camera_bind_group: wgpu::BindGroup,
    segments: InstanceBuffer,
    discs: InstanceBuffer,
    draws: Vec<super::scene::Draw>,
    srgb_target: bool,
}

impl SkeletonRenderer {
    /// Builds the pipelines for a colour target of `format` with `sample_count` samples and no depth buffer.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat, sample_count: u32) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("skeleton.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SKELETON_WGSL.into()),
        });
        let (camera_layout, camera_buffer, camera_bind_group) = uniform_binding(
            device,
            "skeleton camera",
            bytemuck::bytes_of(&CameraUniform {
                view_proj: [[0.0; 4]; 4],
                viewport: [1.0; 4],
            }),
        );
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("skeleton"),
            bind_group_layouts: &[Some(&camera_layout)],
            immediate_size: 0,
        });

        let segment_attributes = wgpu::vertex_attr_array![
            0 => Float32x3, 1 => Float32x3, 2 => Float32, 3 => Unorm8x4
        ];
        let disc_attributes =
            wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32, 2 => Unorm8x4, 3 => Float32];
        let pipeline = |label: &str,
                        vs: &str,
                        fs: &str,
                        stride: usize,
                        attributes: &[wgpu::VertexAttribute]| {
            instanced_pipeline(
                device,
                &InstancedPipeline {
                    label,
                    layout: &layout,
                    shader: &shader,
                    entry_points: (vs, fs),
                    stride,
                    attributes,
                    format,
                    sample_count,
                },
            )
        };
        let segment_pipeline = pipeline(
            "skeleton segments",
            "vs_segment",
            "fs_segment",
            size_of::<SegmentInstance>(),
            &segment_attributes,
        );
        let disc_pipeline = pipeline(
            "skeleton discs",
            "vs_disc",
            "fs_disc",
            size_of::<DiscInstance>(),
            &disc_attributes,
        );
        Self {
            segment_pipeline,
            disc_pipeline,
            camera_buffer,
            camera_bind_group,
            segments: InstanceBuffer::new(device, "skeleton segments", 64 * 1024),
            discs: InstanceBuffer::new(device, "skeleton discs", 16 * 1024),
            draws: Vec::new(),
            srgb_target: format.is_srgb(),
        }
    }

    /// Uploads the camera and the scene's instances; the next [`Self::paint`] draws them.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        view: &CameraView,
        scene: &Scene,
    ) {
        let uniform = CameraUniform::new(view, self.srgb_target);
        queue.write_buffer(&self.camera_buffer, 0, bytemuck::bytes_of(&uniform));
        self.segments
            .write(device, queue, bytemuck::cast_slice(&scene.segments));
        self.discs
            .write(device, queue, bytemuck::cast_slice(&scene.discs));
        self.draws.clone_from(&scene.draws);
    }

    /// Records the draws of the last prepared scene.
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>) {
        pass.set_bind_group(0, &self.camera_bind_group, &[]);
        for draw in &self.draws {
            match draw.kind {
                DrawKind::Segments => {
                    pass.set_pipeline(&self.segment_pipeline);
                    pass.set_vertex_buffer(0, self.segments.buffer.slice(..));
                }
                DrawKind::Discs => {
                    pass.set_pipeline(&self.disc_pipeline);
                    pass.set_vertex_buffer(0, self.discs.buffer.slice(..));
                }
            }
            pass.draw(0..6, draw.instances.clone());
        }
    }
}
