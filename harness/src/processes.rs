//! Child processes of a run: the sibling binaries, a guard that never leaves a child behind, and the
//! lines a child writes, delivered to the harness as they come.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

/// The path of `name`, an adstream binary built next to the running one.
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", exe.display()))?;
    let path = dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "the `{name}` binary is not next to {} — build the whole workspace (`cargo build --release`)",
        exe.display()
    );
    Ok(path)
}

/// Which stream of which child a line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The child's name, e.g. `job 1` or `producer 0`.
    pub child: String,
    /// Whether it came from stderr.
    pub stderr: bool,
    /// The text, without the newline.
    pub text: String,
}

/// Forwards every line of `stream` to `lines`, tagged with `child`.
pub fn forward_lines(
    stream: impl Read + Send + 'static,
    child: String,
    stderr: bool,
    lines: Sender<Line>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for text in BufReader::new(stream).lines().map_while(Result::ok) {
            let line = Line {
                child: child.clone(),
                stderr,
                text,
            };
            if lines.send(line).is_err() {
                break;
            }
        }
    })
}

/// A named child process, killed and reaped when the guard is dropped unless it has already exited.
#[derive(Debug)]
pub struct ChildGuard {
    /// The child's name.
    pub name: String,
    child: Child,
    status: Option<ExitStatus>,
}

impl ChildGuard {
    /// Guards `child`.
    pub fn new(name: impl Into<String>, child: Child) -> Self {
        Self {
            name: name.into(),
            child,
            status: None,
        }
    }

    /// Its exit status if it has exited.
    pub fn try_status(&mut self) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self.child.wait()?;
        self.status = Some(status);
        Ok(status)
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Takes its piped stdout.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Takes its piped stderr.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
