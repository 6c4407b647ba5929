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

/// Whether Ctrl-C was pressed.
pub fn stop_requested() -> bool {
    STOP.get().is_some_and(|s| s.load(Ordering::SeqCst))
}
