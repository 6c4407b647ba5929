//! Running the `skelzero` binary from the integration tests.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses some of these; a failure is a test failure

use std::process::{Command, Output};

/// The binary under test.
pub fn skelzero() -> Command {
    Command::new(env!("CARGO_BIN_EXE_skelzero"))
}

/// Runs `cmd`, which must succeed; a failure shows its stderr.
pub fn succeeded(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
