//! A private Xvfb server for tests that open the real window (`-displayfd` picks a free display).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        // `-displayfd` lets the server take a free display number and write it once it accepts connections, so
        // neither another session nor a stale socket of a killed server can be mistaken for it.
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                // Without it the server resets when its last client leaves, and a window opened during that reset
                // cannot connect ("Failed to open connection to X server": a test that launches the explorer
                // several times in a row failed so once in CI).
                "-noreset",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("Xvfb must be installed (apt-get install xvfb; .ci/run does it)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).ok();
            tx.send(line).ok();
        });
        let n = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("Xvfb did not report its display within 10 s");
        let n = n.trim();
        assert!(
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb reported display {n:?}"
        );
        Self {
            child,
            display: format!(":{n}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
