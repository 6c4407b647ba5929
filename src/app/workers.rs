//! Background jobs (loading datasets and runs, scoring, file dialogs, re-scoring) on worker threads: each reports
//! progress through a [`JobHandle`] and can be cancelled; results come back over a channel and are applied on the
//! UI thread by the feature that spawned the job. The job bodies themselves live below the app (`crate::pipeline`).

use std::any::Any;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::util::jobs::JobHandle;

/// A finished job's result. Each feature spawns jobs returning a type of its own and takes its results back with
/// [`take`], so this pool names none of them.
pub type JobOutput = Box<dyn Any + Send>;

/// `out` as the feature's result type `T`, or `out` back for the next feature to try.
pub fn take<T: 'static>(out: JobOutput) -> Result<T, JobOutput> {
    out.downcast::<T>().map(|b| *b)
}

pub struct Job {
    pub id: u64,
    pub label: String,
    pub handle: JobHandle,
}

/// Running jobs and the channel their results arrive on.
pub struct Workers {
    next_id: u64,
    pub jobs: Vec<Job>,
    tx: Sender<(u64, JobOutput)>,
    rx: Receiver<(u64, JobOutput)>,
}

impl Default for Workers {
    fn default() -> Self {
        let (tx, rx) = channel();
        Self {
            next_id: 1,
            jobs: Vec::new(),
            tx,
            rx,
        }
    }
}

impl Workers {
    /// Runs `work` on a new thread; its output is returned by [`Self::poll`] unless the job was cancelled.
    pub fn spawn<T: Send + 'static>(
        &mut self,
        ctx: &egui::Context,
        label: impl Into<String>,
        work: impl FnOnce(&JobHandle) -> T + Send + 'static,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let handle = JobHandle::default();
        let worker_handle = handle.clone();
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let label = label.into();
        let spawned = std::thread::Builder::new()
            .name(format!("job {id}"))
            .spawn(move || {
                let out: JobOutput = Box::new(work(&worker_handle));
                tx.send((id, out)).ok();
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            tracing::error!("could not start a worker thread for {label}: {e}");
            return id;
        }
        self.jobs.push(Job { id, label, handle });
        id
    }

    /// Finished jobs' outputs (cancelled jobs' outputs are dropped).
    pub fn poll(&mut self) -> Vec<JobOutput> {
        let mut done = Vec::new();
        while let Ok((id, out)) = self.rx.try_recv() {
            if let Some(pos) = self.jobs.iter().position(|j| j.id == id) {
                let job = self.jobs.remove(pos);
                if !job.handle.cancelled() {
                    done.push(out);
                }
            }
        }
        done
    }

    pub fn cancel(&mut self, id: u64) {
        if let Some(pos) = self.jobs.iter().position(|j| j.id == id) {
            self.jobs[pos].handle.cancel();
            // The thread finishes on its own; its output is dropped by `poll`.
            self.jobs.remove(pos);
        }
    }

    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_shared_and_cancelled_jobs_are_dropped() {
        let ctx = egui::Context::default();
        let mut workers = Workers::default();
        let (go_tx, go_rx) = channel::<()>();
        let id = workers.spawn(&ctx, "slow", move |handle| {
            handle.set_progress(0.5);
            go_rx.recv().ok();
            1u8
        });
        for _ in 0..200 {
            if workers.jobs[0].handle.progress() == 0.5 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(workers.jobs[0].handle.progress(), 0.5);
        workers.cancel(id);
        assert!(!workers.busy());
        go_tx.send(()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(workers.poll().is_empty());

        workers.spawn(&ctx, "fast", |_| String::from("done"));
        let mut got = Vec::new();
        for _ in 0..200 {
            got = workers.poll();
            if !got.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(got.len(), 1);
        let out = got.remove(0);
        let out = take::<u8>(out).expect_err("a String is not a u8");
        assert_eq!(take::<String>(out).ok().as_deref(), Some("done"));
    }
}
