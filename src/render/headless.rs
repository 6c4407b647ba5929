//! Offscreen rendering with no window: for tests and scripted image output. The adapter comes from the
//! environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`), so on a machine without a GPU it is Mesa's lavapipe.

use eframe::wgpu;

use super::camera::CameraView;
use super::dots::{DotSet, DotsMapping, DotsRenderer};
use super::renderer::SkeletonRenderer;
use super::scene::Scene;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no graphics adapter: {0}")]
    Adapter(String),
    #[error("could not open the graphics device: {0}")]
    Device(String),
    #[error("reading back the rendered image failed: {0}")]
    Readback(String),
}

/// Drives a future to completion on this thread. wgpu's native futures are ready at once or after a device poll,
/// so a spin with a no-op waker is enough (and avoids a dependency on an executor).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// A device for offscreen work.
pub struct Headless {
    pub adapter_info: wgpu::AdapterInfo,
    device: wgpu::Device,
    queue: wgpu::Queue,
}

/// The offscreen colour format (RGBA, not sRGB, like eframe's surfaces).
pub const HEADLESS_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

impl Headless {
    pub fn new() -> Result<Self, RenderError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = block_on(wgpu::util::initialize_adapter_from_env_or_default(
            &instance, None,
        ))
        .map_err(|e| RenderError::Adapter(e.to_string()))?;
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("skelzero headless"),
            required_limits: wgpu::Limits::downlevel_defaults(),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(e.to_string()))?;
        Ok(Self {
            adapter_info: adapter.get_info(),
            device,
            queue,
        })
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// Renders `scene` over a `background` colour into a `width` x `height` RGBA8 image (rows top to bottom).
    pub fn render(
        &self,
        renderer: &mut SkeletonRenderer,
        view: &CameraView,
        scene: &Scene,
        background: [u8; 4],
    ) -> Result<Vec<u8>, RenderError> {
        let width = view.viewport_px[0].round().max(1.0) as u32;
        let height = view.viewport_px[1].round().max(1.0) as u32;
        renderer.prepare(&self.device, &self.queue, view, scene);
        self.draw(width, height, background, |pass| renderer.paint(pass))
    }

    /// Renders the markers of `set` with `mapping` (its viewport the image) over `background`.
    pub fn render_dots(
        &self,
        renderer: &mut DotsRenderer,
        mapping: &DotsMapping,
        set: &DotSet,
        background: [u8; 4],
    ) -> Result<Vec<u8>, RenderError> {
        let width = mapping.viewport[0].round().max(1.0) as u32;
        let height = mapping.viewport[1].round().max(1.0) as u32;
        renderer.prepare(&self.device, &self.queue, mapping, set);
        self.draw(width, height, background, |pass| renderer.paint(pass))
    }

    /// One pass over a cleared `width` x `height` target, read back as RGBA8 rows top to bottom.
    fn draw(
        &self,
        width: u32,
        height: u32,
        background: [u8; 4],
        paint: impl FnOnce(&mut wgpu::RenderPass<'_>),
    ) -> Result<Vec<u8>, RenderError> {
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("headless target"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: HEADLESS_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let target = texture.create_view(&wgpu::TextureViewDescriptor::default());

        let padded_row = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("headless readback"),
            size: u64::from(padded_row) * u64::from(height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        {
            let bg = |c: u8| f64::from(c) / 255.0;
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("headless"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: bg(background[0]),
                            g: bg(background[1]),
                            b: bg(background[2]),
                            a: bg(background[3]),
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            paint(&mut pass);
        }
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        self.queue.submit([encoder.finish()]);

        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            tx.send(r).ok();
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        rx.recv()
            .map_err(|e| RenderError::Readback(e.to_string()))?
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        let mapped = slice
            .get_mapped_range()
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        let mut pixels = Vec::with_capacity((width * height * 4) as usize);
        for row in mapped.chunks_exact(padded_row as usize) {
            pixels.extend_from_slice(&row[..(width * 4) as usize]);
        }
        Ok(pixels)
    }
}
