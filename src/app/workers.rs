//! Background jobs (loading datasets and runs, file dialogs) on worker threads: each reports progress and can be
//! cancelled; results come back over a channel and are applied on the UI thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::dataset::Dataset;

use super::predictions::Predictions;

/// What a file dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickTarget {
    DatasetFolder,
    DatasetFile,
    RunFolder,
    /// A description-set file to load into the class-description editor, or to save it to.
    DescriptionSetOpen,
    DescriptionSetSave,
}

pub enum JobOutput {
    Dataset(PathBuf, Result<Dataset, String>),
    Run(PathBuf, Result<Box<Predictions>, String>),
    Picked(PickTarget, Option<PathBuf>),
    /// A run scored live (the demo, or `--encoder` with a run folder).
    Scored(PathBuf, Result<Box<super::scoring::Scored>, String>),
    /// Edited class descriptions scored again.
    Rescored(Result<Box<super::editor::Rescore>, String>),
    /// A sentence encoder installed (its folder).
    ModelFetched(Result<PathBuf, String>),
    Tsne(Result<super::tsne::TsneMap, String>),
    /// InfoCPL branch-set editing: a run's weights loaded, or the dataset scored with an edited set.
    Branches(super::branch_editor::BranchOutput),
    Exported(Result<Vec<PathBuf>, String>),
}

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
    pub fn spawn(
        &mut self,
        ctx: &egui::Context,
        label: impl Into<String>,
        work: impl FnOnce(&JobHandle) -> JobOutput + Send + 'static,
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
                let out = work(&worker_handle);
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

/// Reads a dataset from a folder or file, or the built-in demo for the path `demo`.
pub fn load_dataset_job(path: &Path, handle: &JobHandle) -> Result<Dataset, String> {
    handle.set_progress(0.05);
    if path.as_os_str() == "demo" {
        return Ok(super::demo::demo_dataset());
    }
    let dataset = crate::dataset::load::load_dataset(path, None).map_err(|e| e.to_string())?;
    handle.set_progress(1.0);
    if dataset.samples.is_empty() {
        return Err(format!("{}: no samples found", path.display()));
    }
    Ok(dataset)
}

/// Opens a native file dialog (blocking; called on a worker). Returns `None` on cancel and on machines with no
/// portal.
pub fn pick_path(target: PickTarget) -> Option<PathBuf> {
    let dialog = rfd::FileDialog::new();
    match target {
        PickTarget::DatasetFolder => dialog.set_title("Open dataset folder").pick_folder(),
        PickTarget::DatasetFile => dialog.set_title("Open skeleton file").pick_file(),
        PickTarget::RunFolder => dialog.set_title("Open run folder").pick_folder(),
        PickTarget::DescriptionSetOpen => dialog
            .set_title("Load a description set")
            .add_filter("description set", &["toml"])
            .pick_file(),
        PickTarget::DescriptionSetSave => dialog
            .set_title("Save the description set")
            .add_filter("description set", &["toml"])
            .set_file_name("descriptions.toml")
            .save_file(),
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
            JobOutput::Picked(PickTarget::RunFolder, None)
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

        workers.spawn(&ctx, "fast", |_| {
            JobOutput::Picked(PickTarget::DatasetFile, None)
        });
        let mut got = Vec::new();
        for _ in 0..200 {
            got = workers.poll();
            if !got.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(matches!(
            got.as_slice(),
            [JobOutput::Picked(PickTarget::DatasetFile, None)]
        ));
    }
}
