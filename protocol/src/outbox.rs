//! The child's end of the message channel: its stdout as it was when the process started, kept for
//! [`ChildMessage`]s alone. Libraries that print to stdout — timely prints its connection retries
//! there — are sent to stderr instead, so every line the harness reads on a child's stdout is a
//! message, and a line that is not one is an error, never noise to skip.

use std::fs::File;
use std::io::Write as _;
use std::sync::Mutex;

use crate::messages::ChildMessage;

/// Where this process's messages go.
#[derive(Debug)]
pub struct Outbox {
    out: Mutex<File>,
}

impl Outbox {
    /// Takes stdout for messages: keeps a copy of it, and points the process's stdout at stderr.
    /// Call it once, before anything else writes to stdout.
    pub fn claim_stdout() -> std::io::Result<Self> {
        let messages = rustix::io::dup(std::io::stdout())?;
        rustix::stdio::dup2_stdout(std::io::stderr())?;
        Ok(Self {
            out: Mutex::new(File::from(messages)),
        })
    }

    /// Sends one message as one line. A harness that has gone away is not this process's problem to
    /// report: the error is returned for callers that care.
    pub fn send(&self, message: &ChildMessage) -> std::io::Result<()> {
        let mut line = message.to_line();
        line.push('\n');
        let mut out = self.out.lock().expect("outbox lock");
        out.write_all(line.as_bytes())?;
        out.flush()
    }
}
