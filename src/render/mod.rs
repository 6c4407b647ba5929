//! The wgpu renderers: the skeleton's (orbit camera, CPU-built scenes, the instanced pipelines, offscreen rendering)
//! and the t-SNE map's markers ([`dots`]).
//! It knows nothing of the app; [`crate::bridge`] joins it to egui.

pub mod camera;
pub mod dots;
pub mod floor;
pub mod headless;
pub mod renderer;
pub mod scene;

pub use camera::{CameraView, OrbitCamera, level_basis};
pub use dots::{DOTS_WGSL, DotInstance, DotSet, DotShape, DotsMapping, DotsRenderer};
pub use floor::{Floor, up_of_sequence};
pub use headless::{Headless, RenderError};
pub use renderer::{SKELETON_WGSL, SkeletonRenderer};
pub use scene::{
    Bounds, Scene, SkeletonStyle, Tracking, build_frame_scene, pick_joint, side_index,
};
