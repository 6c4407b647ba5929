//! The wgpu skeleton renderer: orbit camera, CPU-built scenes, the instanced pipelines, and offscreen rendering.
//! It knows nothing of the app; [`crate::bridge`] joins it to egui.

pub mod camera;
pub mod headless;
pub mod renderer;
pub mod scene;

pub use camera::{CameraView, OrbitCamera};
pub use headless::{Headless, RenderError};
pub use renderer::{SKELETON_WGSL, SkeletonRenderer};
pub use scene::{Bounds, Floor, Scene, SkeletonStyle, build_frame_scene, pick_joint};
