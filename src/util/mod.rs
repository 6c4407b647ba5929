//! Small helpers shared by every layer.

pub mod atomic;
pub mod format_version;
pub mod interrupt;
pub mod progress;

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

/// Thread settings for candle's CPU backend, applied once at start-up, before any other thread exists.
///
/// - `CANDLE_NUM_THREADS=1` (unless set): candle's element-wise ops over 64K+ elements fan out to a barrier pool
///   whose caller busy-waits (unbounded spin) for the worker. On a loaded 2-core machine the worker is often
///   descheduled, and `perf` showed 50 to 70% of STAR's training CPU time in that spin; GEMMs keep their rayon threads.
/// - `RAYON_NUM_THREADS` (unless set) is pinned to candle's default, which candle otherwise recomputes by reading
///   `/proc/cpuinfo` on every matrix multiply (3% of STAR's training time).
///
/// # Safety
/// Call it first in `main` (or a bench's `main`), while the process has a single thread: it sets environment
/// variables.
pub unsafe fn configure_threads() {
    // SAFETY: the caller guarantees no other thread exists yet.
    unsafe {
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            let n = candle_core::utils::get_num_threads();
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        }
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
