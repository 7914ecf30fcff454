//! The children of a run: the sibling binaries, started as owned processes (they die with the
//! harness), each named by its role, every line they write delivered to the harness as it comes, and a
//! guard that never leaves a child behind.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::experiment::error::RunError;
use crate::experiment::role::Role;
use crate::services::ownership::owned_command;
use crate::services::process_tree::signal_all;
use rustix::process::Signal;

/// How often [`Supervisor::failure_of`] looks whether a child has exited.
const EXIT_POLL: Duration = Duration::from_millis(10);

/// The path of `name`, an adstream binary built next to the running one.
pub fn sibling_binary(name: &str) -> Result<PathBuf, RunError> {
    let exe = std::env::current_exe().map_err(RunError::io("find the harness binary"))?;
    let path = exe.with_file_name(name);
    if !path.is_file() {
        return Err(RunError::MissingBinary {
            name: name.to_owned(),
            beside: exe,
        });
    }
    Ok(path)
}

/// Which stream of which child a line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The child.
    pub child: Role,
    /// Whether it came from stderr (for people) rather than stdout (messages for the harness).
    pub stderr: bool,
    /// The text, without the newline.
    pub text: String,
    /// When the harness read it (the child wrote it at most a pipe's delay before).
    pub at: Instant,
}

/// Forwards every line of `stream` to `lines`, tagged with `child`.
fn forward_lines(
    stream: impl Read + Send + 'static,
    child: Role,
    stderr: bool,
    lines: Sender<Line>,
) {
    std::thread::spawn(move || {
        for text in BufReader::new(stream).lines().map_while(Result::ok) {
            if lines
                .send(Line {
                    child,
                    stderr,
                    text,
                    at: Instant::now(),
                })
                .is_err()
            {
                break;
            }
        }
    });
}

/// A child process, killed and reaped when the guard is dropped unless it has already exited.
#[derive(Debug)]
pub struct ChildGuard {
    role: Role,
    child: Child,
    status: Option<ExitStatus>,
    /// The child's stdin when it is held open (an ssh session ends its remote process when it closes).
    _stdin: Option<ChildStdin>,
    /// How long the child has to exit after SIGTERM before it is killed, when it is asked first
    /// (another engine's guard, which then stops the engine's whole tree).
    asked_first: Option<Duration>,
}

impl ChildGuard {
    /// Its exit status if it has exited.
    pub fn try_status(&mut self) -> std::io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(patience) = self.asked_first
            && self.status.is_none()
        {
            signal_all(&[self.child.id()], Signal::TERM);
            let deadline = Instant::now() + patience;
            while matches!(self.try_status(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(EXIT_POLL);
            }
        }
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The children of a run and the lines they write.
pub struct Supervisor {
    guards: Vec<ChildGuard>,
    lines: Receiver<Line>,
    sender: Sender<Line>,
}

impl Default for Supervisor {
    fn default() -> Self {
        let (sender, lines) = mpsc::channel();
        Self {
            guards: Vec::new(),
            lines,
            sender,
        }
    }
}

impl Supervisor {
    /// Starts `program` with `args` as `role`: stdin closed, stdout and stderr read line by line.
    pub fn spawn(
        &mut self,
        role: Role,
        program: &Path,
        args: &[&std::ffi::OsStr],
    ) -> Result<(), RunError> {
        self.start(role, program, args, false, |_| {})
    }

    /// Starts `program` with `args` as `role` like [`Supervisor::spawn`], in `dir` with `env` added to
    /// its environment: another engine's guard, with the contract's variables. When it is stopped it
    /// gets SIGTERM first and `patience` to exit before it is killed.
    pub fn spawn_in(
        &mut self,
        role: Role,
        program: &Path,
        args: &[&std::ffi::OsStr],
        dir: &Path,
        env: &[(String, String)],
        patience: Duration,
    ) -> Result<(), RunError> {
        self.start(role, program, args, false, |command| {
            command
                .current_dir(dir)
                .envs(env.iter().map(|(k, v)| (k, v)));
        })?;
        if let Some(guard) = self.guards.last_mut() {
            guard.asked_first = Some(patience);
        }
        Ok(())
    }

    /// Starts `program` with `args` as `role` like [`Supervisor::spawn`], but with its stdin a pipe
    /// held open until the child is stopped: `ssh` running a remote process that ends when its input
    /// does.
    pub fn spawn_holding_stdin(
        &mut self,
        role: Role,
        program: &Path,
        args: &[&std::ffi::OsStr],
    ) -> Result<(), RunError> {
        self.start(role, program, args, true, |_| {})
    }

    fn start(
        &mut self,
        role: Role,
        program: &Path,
        args: &[&std::ffi::OsStr],
        hold_stdin: bool,
        prepare: impl FnOnce(&mut std::process::Command),
    ) -> Result<(), RunError> {
        let mut command = owned_command(program);
        prepare(&mut command);
        let mut child = command
            .args(args)
            .stdin(if hold_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(RunError::io(format!("start {role}")))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        forward_lines(stdout, role, false, self.sender.clone());
        forward_lines(stderr, role, true, self.sender.clone());
        let stdin = child.stdin.take();
        self.guards.push(ChildGuard {
            role,
            child,
            status: None,
            _stdin: stdin,
            asked_first: None,
        });
        Ok(())
    }

    /// The lines written within `wait` (at least one if any comes), and all that are waiting.
    pub fn lines(&self, wait: Duration) -> Vec<Line> {
        let mut lines = Vec::new();
        match self.lines.recv_timeout(wait) {
            Ok(line) => lines.push(line),
            Err(RecvTimeoutError::Timeout) => return lines,
            Err(RecvTimeoutError::Disconnected) => unreachable!("the supervisor holds a sender"),
        }
        lines.extend(self.lines.try_iter());
        lines
    }

    /// The lines still on their way from children that have exited: everything until the streams have
    /// been quiet for `quiet`.
    pub fn last_lines(&self, quiet: Duration) -> Vec<Line> {
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            lines.push(line);
        }
        lines
    }

    /// Kills `role` now (SIGKILL), as a fault injected into the run. Its exit is then seen like any
    /// other failure.
    pub fn kill(&mut self, role: Role) -> Result<(), RunError> {
        for guard in self.guards.iter_mut().filter(|g| g.role == role) {
            if guard.try_status().ok().flatten().is_none() {
                guard
                    .child
                    .kill()
                    .map_err(RunError::io(format!("kill {role}")))?;
            }
        }
        Ok(())
    }

    /// Asks `role` to stop (SIGTERM): another engine's guard then stops the engine's whole tree.
    pub fn terminate(&mut self, role: Role) {
        if let Some(pid) = self.pid(role) {
            signal_all(&[pid], Signal::TERM);
        }
    }

    /// The process id of `role` while it runs.
    pub fn pid(&mut self, role: Role) -> Option<u32> {
        self.guards
            .iter_mut()
            .filter(|g| g.role == role)
            .find_map(|g| {
                let running = g.try_status().ok().flatten().is_none();
                running.then(|| g.child.id())
            })
    }

    /// The children running now, with their process ids.
    pub fn running(&mut self) -> Vec<(Role, u32)> {
        self.guards
            .iter_mut()
            .filter_map(|g| {
                let running = g.try_status().ok().flatten().is_none();
                running.then(|| (g.role, g.child.id()))
            })
            .collect()
    }

    /// Stops and forgets every child that `is` picks out (killing those still running).
    pub fn remove(&mut self, is: impl Fn(Role) -> bool) {
        self.guards.retain(|g| !is(g.role));
    }

    /// The first child that exited unsuccessfully, with its status.
    pub fn failed(&mut self) -> Result<Option<(Role, ExitStatus)>, RunError> {
        for guard in &mut self.guards {
            let status = guard
                .try_status()
                .map_err(RunError::io(format!("wait for {}", guard.role)))?;
            if let Some(status) = status.filter(|s| !s.success()) {
                return Ok(Some((guard.role, status)));
            }
        }
        Ok(None)
    }

    /// How `role` ended if it exits unsuccessfully within `within`; `None` if it still runs, succeeded,
    /// or is not a child of this run.
    pub fn failure_of(&mut self, role: Role, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        let guard = self.guards.iter_mut().find(|g| g.role == role)?;
        loop {
            match guard.try_status() {
                Ok(Some(status)) => return (!status.success()).then_some(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
                _ => return None,
            }
        }
    }

    /// Whether every child that `is` picks out has exited.
    pub fn all_exited(&mut self, is: impl Fn(Role) -> bool) -> Result<bool, RunError> {
        for guard in self.guards.iter_mut().filter(|g| is(g.role)) {
            let status = guard
                .try_status()
                .map_err(RunError::io(format!("wait for {}", guard.role)))?;
            if status.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
