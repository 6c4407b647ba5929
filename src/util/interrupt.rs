//! One Ctrl-C flag for the whole process: the first Ctrl-C asks long jobs to stop after their current step (keeping
//! the last complete checkpoint), the second exits at once. Installed on first use, so commands that chain several
//! jobs (bench) share it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The process-wide stop flag; installs the Ctrl-C handler the first time. A handler that cannot be installed
/// (another one is already set) leaves a flag that is never raised.
pub fn stop_flag() -> Arc<AtomicBool> {
    STOP.get_or_init(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let installed = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nstopping after this step (Ctrl-C again to quit at once)");
        });
        if let Err(e) = installed {
            tracing::warn!("Ctrl-C will not stop jobs cleanly: {e}");
        }
        stop
    })
    .clone()
}

thread_local! {
    static LOCAL: std::cell::RefCell<Option<Arc<AtomicBool>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `flag` counting as a stop request on this thread, besides Ctrl-C: a GUI job's Cancel button stops
/// the same code (`models fetch`'s pip and unpacking) that Ctrl-C stops.
pub fn with_local_stop<R>(flag: Arc<AtomicBool>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            LOCAL.with(|l| *l.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(LOCAL.with(|l| l.borrow_mut().replace(flag)));
    f()
}

/// Whether Ctrl-C was pressed, or this thread's [`with_local_stop`] flag is raised.
pub fn stop_requested() -> bool {
    STOP.get().is_some_and(|s| s.load(Ordering::SeqCst))
        || LOCAL.with(|l| {
            l.borrow()
                .as_ref()
                .is_some_and(|f| f.load(Ordering::SeqCst))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_flag_stops_only_its_thread_and_only_inside() {
        let flag = Arc::new(AtomicBool::new(false));
        assert!(!stop_requested());
        with_local_stop(flag.clone(), || {
            assert!(!stop_requested());
            flag.store(true, Ordering::SeqCst);
            assert!(stop_requested());
            assert!(!std::thread::spawn(stop_requested).join().unwrap_or(true));
        });
        assert!(!stop_requested());
    }
}
