//! A writer killed mid-way never leaves a half-written file where a good one was. `skelzero train` re-run over a
//! saved run is killed by the kernel in the middle of writing its weights (a file-size limit below the weights' size:
//! the write that crosses it gets SIGXFSZ), and the run it was replacing must still be there, byte for byte, and load.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod zsl_synth;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Output;
mod cli;
use cli::{skelzero, succeeded};

fn write_inputs(dir: &Path) {
    zsl_synth::write_split(
        &dir.join("split1.safetensors"),
        &dir.join("texts.safetensors"),
    );
}

/// `skelzero train` into `dir/run`; with `max_file_bytes`, every file the process writes is limited to that size.
fn train(dir: &Path, epochs: &str, max_file_bytes: Option<u64>) -> Output {
    let mut cmd = skelzero();
    cmd.args([
        "train", "--method", "devise", "--split", "split1", "--lr", "2e-2",
    ])
    .args(["--epochs", epochs])
    .arg("--features")
    .arg(dir.join("split1.safetensors"))
    .arg("--texts")
    .arg(dir.join("texts.safetensors"))
    .arg("--out")
    .arg(dir.join("run"));
    if let Some(limit) = max_file_bytes {
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The default action (terminate), in case the test harness ignores the signal.
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

fn snapshot(run: &Path) -> Vec<(String, Vec<u8>)> {
    ["config.toml", "weights.safetensors", "classes.safetensors"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(run.join(f)).unwrap()))
        .collect()
}

#[test]
fn killed_train_keeps_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(d);
    let first = train(d, "5", None);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let run = d.join("run");
    let before = snapshot(&run);
    let weights_len = before[1].1.len() as u64;
    assert!(weights_len > 64, "weights file of {weights_len} bytes");

    // Different epochs, so the new files would differ; the weights are written first and die half-way.
    let killed = train(d, "9", Some(weights_len / 2));
    assert_eq!(
        killed.status.signal(),
        Some(libc::SIGXFSZ),
        "the writer was not killed mid-write: {:?}\n{}",
        killed.status,
        String::from_utf8_lossy(&killed.stderr)
    );
    let after = snapshot(&run);
    for ((name, old), (_, new)) in before.iter().zip(&after) {
        assert!(old == new, "{name} changed after the kill");
    }
    succeeded(skelzero().args(["eval", "--json", "--run"]).arg(&run));

    // Without the limit the same command replaces the run completely.
    let again = train(d, "9", None);
    assert!(again.status.success());
    let replaced = snapshot(&run);
    assert!(
        replaced[0].1 != before[0].1,
        "config.toml was not rewritten"
    );
}
