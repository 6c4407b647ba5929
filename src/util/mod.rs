//! Small helpers shared by every layer.

pub mod atomic;
pub mod format_version;
pub mod interrupt;
pub mod jobs;
pub mod parallel;
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

/// Thread settings for candle's CPU backend, applied once at start-up, before any other thread exists.
///
/// - `RAYON_NUM_THREADS` (unless set) is pinned to candle's default, which candle otherwise recomputes by reading
///   `/proc/cpuinfo` on every matrix multiply (3% of STAR's training time).
/// - `CANDLE_NUM_THREADS` (unless set): candle's element-wise ops over 64K+ elements fan out to a barrier pool whose
///   caller busy-waits for the worker. With free cores that pays (MiniLM/mpnet embedding 15-20% faster than with
///   one thread); on a loaded machine the worker is often descheduled, and `perf` showed 50 to 70% of STAR's
///   training CPU time in that spin. So the pool keeps candle's default size only while the one-minute load average
///   is below the thread count plus one, else it is turned off (1: the caller does the work; GEMMs keep their rayon threads).
/// - `one_thread_per_op`: a command that runs its jobs side by side ([`parallel::side_by_side`]) wants each op on
///   one thread; both variables are then 1 unless the user set `RAYON_NUM_THREADS`.
///
/// # Safety
/// Call it first in `main` (or a bench's `main`), while the process has a single thread: it sets environment
/// variables.
pub unsafe fn configure_threads(one_thread_per_op: bool) {
    let user_set = std::env::var_os("RAYON_NUM_THREADS").is_some();
    let threads = if one_thread_per_op && !user_set {
        1
    } else {
        candle_core::utils::get_num_threads()
    };
    // SAFETY: the caller guarantees no other thread exists yet.
    unsafe {
        if !user_set {
            std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        }
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            let n = elementwise_threads(threads, load_average());
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        }
    }
}

/// Threads for candle's element-wise pool: all of them while the load average is below the thread count plus one
/// (at load 2 on 2 cores the pool still measured faster: embedding 20%, an ST-GCN training step 1.8x), else one.
pub fn elementwise_threads(threads: usize, load: Option<f64>) -> usize {
    match load {
        Some(l) if l < threads as f64 + 1.0 => threads,
        _ => 1,
    }
}

/// The one-minute load average (Linux), `None` where it cannot be read.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Stops glibc from returning large blocks to the OS after every tensor op. Without it each big allocation is a fresh
/// `mmap` that page-faults again on every op, which costs candle up to 3x on CPU (see the candle probe notes).
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        // -1 turns trimming off (mallopt(3)); i32::MAX still trimmed whenever a training step's peak passed 2 GiB,
        // so every step faulted its activations in afresh.
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1);
    }
}

#[cfg(test)]
mod thread_tests {
    use super::elementwise_threads;

    #[test]
    fn the_elementwise_pool_is_off_on_a_loaded_machine() {
        assert_eq!(elementwise_threads(2, Some(0.3)), 2);
        assert_eq!(elementwise_threads(2, Some(1.9)), 2);
        assert_eq!(elementwise_threads(2, Some(2.9)), 2);
        assert_eq!(elementwise_threads(2, Some(3.0)), 1);
        assert_eq!(elementwise_threads(2, Some(11.0)), 1);
        assert_eq!(elementwise_threads(8, None), 1);
    }
}
