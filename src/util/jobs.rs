//! A long job's shared progress and cancel flag: the explorer's worker threads report through it and the job bodies
//! (below the app, GUI-free) check it between steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Shared with the worker: progress 0..=1 (as f32 bits) and a cancel flag.
#[derive(Clone, Default)]
pub struct JobHandle {
    progress: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
}

impl JobHandle {
    pub fn set_progress(&self, fraction: f32) {
        self.progress
            .store(fraction.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
    }

    pub fn progress(&self) -> f32 {
        f32::from_bits(self.progress.load(Ordering::Relaxed))
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}
