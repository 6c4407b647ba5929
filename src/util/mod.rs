//! Small helpers shared by every layer.

pub mod atomic;
pub mod format_version;
pub mod interrupt;
pub mod progress;
pub mod stale;

pub use atomic::{write_atomic, write_bytes_atomic};

/// `e` without the backtrace candle attaches to its errors when `RUST_BACKTRACE` is set: an error reaches the user
/// as one message, never a stack dump.
pub fn candle_error_without_backtrace(e: candle_core::Error) -> candle_core::Error {
    use candle_core::Error;
    match e {
        Error::WithBacktrace { inner, .. } => candle_error_without_backtrace(*inner),
        Error::Context { inner, context } => Error::Context {
            inner: Box::new(candle_error_without_backtrace(*inner)),
            context,
        },
        Error::WithPath { inner, path } => Error::WithPath {
            inner: Box::new(candle_error_without_backtrace(*inner)),
            path,
        },
        e => e,
    }
}

/// Stops glibc from returning large blocks to the OS after every tensor op. Without it each big allocation is a fresh
/// `mmap` that page-faults again on every op, which costs candle up to 3x on CPU (see the candle probe notes).
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
