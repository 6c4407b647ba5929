//! Atomic file writes: write a temporary file beside the target, flush it to disk, then rename it into place, so a
//! crash or kill never leaves a half-written file where a good one was. A killed writer leaves its temporary file
//! (`.skelzero-PID-*.tmp`); the first write of a later process into that folder removes it ([`super::stale`]).

use std::io::Write;
use std::path::Path;

/// Temporary files are named `TMP_BASE<pid>-<random>TMP_SUFFIX`.
const TMP_BASE: &str = ".skelzero-";
const TMP_SUFFIX: &str = ".tmp";

/// Writes `path` atomically with the bytes `write` produces. The parent folder is created if missing.
pub fn write_atomic<F>(path: &Path, write: F) -> std::io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    super::stale::remove_stale_once(dir, TMP_BASE, TMP_SUFFIX);
    let mut tmp = tempfile::Builder::new()
        .prefix(&super::stale::owned_prefix(TMP_BASE))
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)?;
    {
        let mut buf = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buf)?;
        buf.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// [`write_atomic`] for a byte slice.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_bytes_atomic(&path, b"good").unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("killed"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"good");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_killed_writers_temporary_file_is_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A writer killed mid-way: its process is gone, its temporary file untouched for an hour.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let leftover = d.join(format!(".skelzero-{dead}-x1y2z3.tmp"));
        // A writer still running (the test's parent process) in the middle of its write.
        let running = std::os::unix::process::parent_id();
        let in_progress = d.join(format!(".skelzero-{running}-a1b2c3.tmp"));
        for p in [&leftover, &in_progress] {
            std::fs::write(p, b"half").unwrap();
            std::fs::File::open(p)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        }
        write_bytes_atomic(&d.join("weights.bin"), b"new").unwrap();
        assert!(!leftover.exists());
        assert!(in_progress.exists());
        assert_eq!(std::fs::read(d.join("weights.bin")).unwrap(), b"new");
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
