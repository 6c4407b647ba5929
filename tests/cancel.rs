//! Ctrl-C stops `skelzero train` cleanly: after the current epoch, with one message, and the run folder it would have
//! replaced is left exactly as it was. It stops `skelzero pretrain` after the current batch, keeping the checkpoint
//! of the last complete epoch, from which the same command resumes.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod interrupt;
mod zsl_synth;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn train(d: &Path, epochs: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skelzero"));
    cmd.args([
        "train", "--method", "devise", "--split", "split1", "--lr", "1e-2",
    ])
    .args(["--epochs", epochs])
    .arg("--features")
    .arg(d.join("split1.safetensors"))
    .arg("--texts")
    .arg(d.join("texts.safetensors"))
    .arg("--out")
    .arg(d.join("run"));
    cmd
}

#[test]
fn ctrl_c_stops_train_and_keeps_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    zsl_synth::write_split(&d.join("split1.safetensors"), &d.join("texts.safetensors"));
    let first = train(d, "3").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let files = ["config.toml", "weights.safetensors", "classes.safetensors"];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(d.join("run").join(f)).unwrap())
        .collect();

    // Far more epochs than the test waits for.
    let mut child = train(d, "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "training ended early");
    let (status, stderr, _) = interrupt::interrupt(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{status:?}: {stderr}");
    assert!(
        stderr.contains("stopping after this step")
            && stderr.contains("error: stopped by Ctrl-C after epoch"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for (f, old) in files.iter().zip(&before) {
        assert!(
            std::fs::read(d.join("run").join(f)).unwrap() == *old,
            "{f} changed"
        );
    }
}

fn pretrain(out: &Path, epochs: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skelzero"));
    cmd.args(["pretrain", "--dataset", "synthetic", "--batch-size", "16"])
        .args(["--epochs", epochs])
        .arg("--out")
        .arg(out);
    cmd
}

fn epochs_done(run: &Path) -> usize {
    std::fs::read_to_string(run.join("progress.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["epochs_done"].as_u64())
        .map_or(0, |n| n as usize)
}

#[test]
fn ctrl_c_stops_pretrain_keeping_the_last_checkpoint_and_it_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut child = pretrain(&run, "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first complete epoch (and its checkpoint).
    let start = Instant::now();
    while epochs_done(&run) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no epoch in 5 minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "pretraining ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // It stops after the current batch, not the epoch.
    let (status, stderr, _) = interrupt::interrupt(&mut child, Duration::from_secs(60));
    assert!(status.success(), "{status:?}: {stderr}");
    let done = epochs_done(&run);
    assert!(done >= 1);
    assert!(
        stderr.contains(&format!(
            "stopped; {} keeps the checkpoint of epoch {done}; run the same command to resume",
            run.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The same command, one epoch longer, resumes from that checkpoint.
    let more = (done + 1).to_string();
    let out = pretrain(&run, &more).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("resuming after epoch {done}")),
        "{stderr}"
    );
    assert_eq!(epochs_done(&run), done + 1);

    // Once more on the complete run: nothing to resume, and it says so instead of announcing a resume.
    let out = pretrain(&run, &more).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("already trained for {} epochs", done + 1))
            && !stderr.contains("resuming after"),
        "{stderr}"
    );
    assert_eq!(epochs_done(&run), done + 1);
}
