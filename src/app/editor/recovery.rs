//! Crash survival of unsaved description edits: the working set is written (atomically, on a writer thread) to
//! `<recovery dir>/<run key>.toml` within a second of an edit, and removed once it is saved or discarded. On the
//! next start with the same run the editor offers to restore it.
//!
//! The recovery folder is `$SKELZERO_RECOVERY_DIR` when set, else `$XDG_DATA_HOME/skelzero/recovery` (the
//! platform's data folder elsewhere).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

/// Environment variable overriding the recovery folder.
pub const RECOVERY_DIR_ENV: &str = "SKELZERO_RECOVERY_DIR";

/// Seconds after the first unsaved change before the working set is written (typing goes on meanwhile; the next
/// change after a write starts a new wait), so a kill loses at most this long of typing.
pub const AUTOSAVE_DELAY_S: f64 = 0.5;

pub fn default_recovery_dir() -> Option<PathBuf> {
    match std::env::var_os(RECOVERY_DIR_ENV) {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::data_dir().map(|d| d.join("skelzero").join("recovery")),
    }
}

/// A stable key of a run (FNV-1a of its folder and configuration), naming its recovery file.
pub fn run_key(dir: &Path, config: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir
        .to_string_lossy()
        .bytes()
        .chain([0u8])
        .chain(config.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

enum Task {
    Write(PathBuf, String),
    Remove(PathBuf),
}

/// Writes and removes recovery files on a thread of its own, in order, so the UI never waits on the disk.
pub struct Autosaver {
    tx: Option<Sender<Task>>,
    errors: Option<Receiver<String>>,
    /// Completed writes and removals (tests wait on it).
    done: Arc<AtomicUsize>,
}

impl Default for Autosaver {
    fn default() -> Self {
        Self {
            tx: None,
            errors: None,
            done: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Autosaver {
    fn send(&mut self, task: Task) {
        if self.tx.is_none() {
            let (tx, rx) = channel::<Task>();
            let (etx, erx) = channel::<String>();
            let done = self.done.clone();
            let spawned = std::thread::Builder::new()
                .name("autosave".into())
                .spawn(move || {
                    for task in rx {
                        let result = match &task {
                            Task::Write(path, text) => {
                                crate::util::write_bytes_atomic(path, text.as_bytes())
                                    .map_err(|e| format!("autosave to {}: {e}", path.display()))
                            }
                            Task::Remove(path) => match std::fs::remove_file(path) {
                                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                    Err(format!("removing {}: {e}", path.display()))
                                }
                                _ => Ok(()),
                            },
                        };
                        if let Err(e) = result {
                            etx.send(e).ok();
                        }
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("could not start the autosave thread: {e}");
                return;
            }
            self.tx = Some(tx);
            self.errors = Some(erx);
        }
        if let Some(tx) = &self.tx {
            tx.send(task).ok();
        }
    }

    pub fn write(&mut self, path: PathBuf, text: String) {
        self.send(Task::Write(path, text));
    }

    pub fn remove(&mut self, path: PathBuf) {
        self.send(Task::Remove(path));
    }

    /// The writer's errors since the last call.
    pub fn errors(&self) -> Vec<String> {
        self.errors
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default()
    }

    pub fn completed(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let a = run_key(Path::new("runs/a"), "method = 1");
        assert_eq!(a, run_key(Path::new("runs/a"), "method = 1"));
        assert_ne!(a, run_key(Path::new("runs/b"), "method = 1"));
        assert_ne!(a, run_key(Path::new("runs/a"), "method = 2"));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn writes_and_removes_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r").join("k.toml");
        let mut s = Autosaver::default();
        s.write(path.clone(), "one".into());
        s.write(path.clone(), "two".into());
        for _ in 0..400 {
            if s.completed() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        s.remove(path.clone());
        for _ in 0..400 {
            if s.completed() == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!path.exists());
        assert!(s.errors().is_empty());
    }
}
