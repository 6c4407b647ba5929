//! Leftovers of writers that died: the temporary files of atomic writes (`.skelzero-PID-*.tmp`) and the staging
//! folders of model fetches (`.fetch-NAME-PID-*`) carry their writer's process id, so a later writer can tell a
//! leftover from work in progress and remove it.
//!
//! An entry is removed when its process is gone (checked on this machine) and nothing in it changed for
//! [`GRACE`], or when nothing in it changed for [`MAX_IDLE`] whatever its name says (a reused process id, or a name
//! written before ids were added). The grace keeps the work of a writer on another machine sharing the folder,
//! whose process id means nothing here, as long as it is still writing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long a dead writer's entry must have been left untouched before it is removed.
pub const GRACE: Duration = Duration::from_secs(120);
/// How long any entry with the prefix may stay untouched before it is removed.
pub const MAX_IDLE: Duration = Duration::from_secs(24 * 3600);

/// `BASE<pid>-`: the name prefix of this process's temporary entries.
pub fn owned_prefix(base: &str) -> String {
    format!("{base}{}-", std::process::id())
}

/// Whether a process with this id runs on this machine.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    // EPERM: it exists but belongs to another user.
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The writer's process id in `NAME` = `BASE<pid>-...`, if it has one.
fn owner(name: &str, base: &str) -> Option<u32> {
    let rest = name.strip_prefix(base)?;
    let (digits, _) = rest.split_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The newest modification time in `path` (a file, or a folder and everything in it).
fn last_change(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let mut newest = meta.modified().ok()?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            if let Some(t) = last_change(&entry.path()) {
                newest = newest.max(t);
            }
        }
    }
    Some(newest)
}

fn is_stale(path: &Path, pid: Option<u32>, now: SystemTime) -> bool {
    let Some(changed) = last_change(path) else {
        return false;
    };
    // A time in the future (clock skew) counts as just changed.
    let idle = now.duration_since(changed).unwrap_or_default();
    if idle >= MAX_IDLE {
        return true;
    }
    idle >= GRACE && pid.is_some_and(|p| !process_alive(p))
}

/// Removes the stale entries of `dir` whose names start with `base` (and end with `suffix`); returns those removed.
/// Entries that cannot be read or removed are left alone: cleaning up never fails the caller.
pub fn remove_stale(dir: &Path, base: &str, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    let own = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !name.starts_with(base) || !name.ends_with(suffix) {
            continue;
        }
        let pid = owner(name, base);
        let path = entry.path();
        if pid == Some(own) || !is_stale(&path, pid, now) {
            continue;
        }
        let gone = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Ok(()) => {
                tracing::info!("removed {}, left by a writer that stopped", path.display());
                removed.push(path);
            }
            Err(e) => tracing::debug!("could not remove {}: {e}", path.display()),
        }
    }
    removed
}

/// [`remove_stale`] the first time this process calls it for `dir` (later calls return at once), so that writing
/// many files into one folder lists it once.
pub fn remove_stale_once(dir: &Path, base: &str, suffix: &str) {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let first = match SWEPT.lock() {
        Ok(mut swept) => swept
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf()),
        // A panic elsewhere while holding the lock: skip the sweep rather than propagate it.
        Err(_) => false,
    };
    if first {
        remove_stale(dir, base, suffix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id of a process that has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    fn age(path: &Path, by: Duration) {
        let f = std::fs::File::open(path).unwrap();
        f.set_modified(SystemTime::now() - by).unwrap();
    }

    #[test]
    fn owners_are_parsed_from_names() {
        assert_eq!(owner(".skelzero-123-abcd.tmp", ".skelzero-"), Some(123));
        assert_eq!(owner(".skelzero-abcd.tmp", ".skelzero-"), None);
        assert_eq!(owner(".skelzero-12x-a.tmp", ".skelzero-"), None);
        assert_eq!(owner(".fetch-minilm-77-q", ".fetch-minilm-"), Some(77));
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(dead_pid()));
        assert!(!process_alive(0));
    }

    #[test]
    fn only_dead_writers_idle_entries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = dead_pid();
        let live = std::process::id();
        let parent = std::os::unix::process::parent_id(); // alive, not us
        let make = |name: &str, idle: Duration| {
            let p = d.join(name);
            std::fs::write(&p, b"x").unwrap();
            age(&p, idle);
            p
        };
        let hour = Duration::from_secs(3600);
        let stale = make(&format!(".skelzero-{dead}-a.tmp"), hour);
        let fresh_dead = make(&format!(".skelzero-{dead}-b.tmp"), Duration::ZERO);
        let ours = make(&format!(".skelzero-{live}-c.tmp"), hour);
        let other_live = make(&format!(".skelzero-{parent}-d.tmp"), hour);
        let legacy = make(".skelzero-Ab3xYz.tmp", hour);
        let ancient = make(".skelzero-QwErTy.tmp", MAX_IDLE + hour);
        let unrelated = make(&format!("keep-{dead}-a.tmp"), MAX_IDLE + hour);
        // A staging folder whose files changed recently is kept even though its own time is old.
        let folder = d.join(format!(".skelzero-{dead}-e.tmp"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("part"), b"y").unwrap();
        age(&folder, hour);

        let removed = remove_stale(d, ".skelzero-", ".tmp");
        let mut expected = vec![stale.clone(), ancient.clone()];
        expected.sort();
        let mut removed = removed;
        removed.sort();
        assert_eq!(removed, expected);
        for kept in [
            &fresh_dead,
            &ours,
            &other_live,
            &legacy,
            &unrelated,
            &folder,
        ] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
    }
}
