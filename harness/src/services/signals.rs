//! Stopping and continuing a process (SIGSTOP, SIGCONT) for the faults a run injects, with the system's
//! `kill` (procps, which the harness already needs for `pgrep`): the workspace forbids unsafe code,
//! and one command per injected fault costs nothing that matters.

use std::process::{Command, Stdio};

/// A signal the harness sends to pause or resume a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGSTOP: the process stops where it is, as if hung or frozen.
    Stop,
    /// SIGCONT: it goes on.
    Cont,
}

impl Signal {
    fn flag(self) -> &'static str {
        match self {
            Signal::Stop => "-STOP",
            Signal::Cont => "-CONT",
        }
    }
}

/// Sends `signal` to process `pid`.
pub fn send(pid: u32, signal: Signal) -> std::io::Result<()> {
    let status = Command::new("kill")
        .arg(signal.flag())
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill {} {pid} ended with {status}",
            signal.flag()
        )))
    }
}
