//! Ctrl-C for a `skelzero` child process, shared by the cancellation tests.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Sends SIGINT to `child` and waits for it to exit, failing the test after `limit`; returns its status, stderr
/// (piped by the caller) and how long it took to stop.
pub fn interrupt(child: &mut Child, limit: Duration) -> (ExitStatus, String, Duration) {
    // SAFETY: signalling our own child process only.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            sent.elapsed() < limit,
            "no stop {} s after Ctrl-C",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr, sent.elapsed())
}
