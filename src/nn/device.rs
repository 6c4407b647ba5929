//! Where inference runs: the CPU, or a CUDA GPU when skelzero is built with the `cuda` feature.
//!
//! The custom CPU kernels of [`super::ops`] and [`super::shift_ops`] each have a plain-candle implementation that
//! other devices take; [`super::kernels::ops::with_portable_ops`] runs that path on the CPU so tests can check it.

use candle_core::Device;

/// The user's choice of device (command line, explorer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// CUDA when built with the `cuda` feature and a GPU is present, else CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "--device cuda: this skelzero was built without the `cuda` feature (cargo build --features cuda)"
    )]
    NotBuilt,
    #[error("--device cuda: no usable CUDA device: {0}")]
    Unavailable(String),
}

/// Whether this binary was built with CUDA support.
pub fn cuda_built() -> bool {
    cfg!(feature = "cuda")
}

/// The device for `choice`: `Auto` falls back to the CPU, an explicit `Cuda` fails with the reason.
pub fn device_from_choice(choice: DeviceChoice) -> Result<Device, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda if !cuda_built() => Err(DeviceError::NotBuilt),
        DeviceChoice::Cuda => {
            Device::new_cuda(0).map_err(|e| DeviceError::Unavailable(first_line(&e.to_string())))
        }
        DeviceChoice::Auto if cuda_built() && candle_core::utils::cuda_is_available() => {
            Ok(Device::new_cuda(0).unwrap_or(Device::Cpu))
        }
        DeviceChoice::Auto => Ok(Device::Cpu),
    }
}

/// A short name for the status bar and logs ("CPU", "CUDA 0").
pub fn device_label(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "CPU".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("CUDA {gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("Metal {gpu_id}"),
    }
}

// candle errors may carry a backtrace after the message.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_auto_resolve_without_a_gpu_build() {
        assert!(device_from_choice(DeviceChoice::Cpu).unwrap().is_cpu());
        if !cuda_built() {
            assert!(device_from_choice(DeviceChoice::Auto).unwrap().is_cpu());
            let e = device_from_choice(DeviceChoice::Cuda).unwrap_err();
            assert!(e.to_string().contains("--features cuda"), "{e}");
        }
        assert_eq!(device_label(&Device::Cpu), "CPU");
    }
}
