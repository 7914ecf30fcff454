//! The guard another engine runs under (`harness engine-guard`, started by the harness for each
//! `--job` or `--engine` run): a process between the harness and the engine's command that owns the
//! engine's whole tree — a shell, a JVM, its Python workers — so that all of it is measured and
//! stopped as one, also when the harness is killed.
//!
//! - It is the tree's *subreaper* (`PR_SET_CHILD_SUBREAPER`): a process of the tree whose parent
//!   exits is re-parented to the guard, not to init, so the tree stays one tree, and the guard waits
//!   for every process that ends (its CPU then counts in the guard's children's time).
//! - It asks for SIGTERM when the harness goes (`PR_SET_PDEATHSIG`), and on SIGTERM (the harness
//!   stopping the engine, or the harness gone) it sends SIGTERM to every process of the tree, waits
//!   up to the grace period for them to exit, then SIGKILLs what is left.
//! - When the command's own process exits, what it left running is stopped the same way and the guard
//!   exits with the command's status (128 + the signal for a signal).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{Signal, WaitOptions, getpid, getppid, wait};

use crate::services::process_tree::{descendants, signal_all};

/// How often the guard looks at the tree and reaps what ended.
const LOOK: Duration = Duration::from_millis(20);
/// The exit code of a guard stopped by SIGTERM.
const EXIT_TERMINATED: i32 = 128 + 15;

/// What the guard runs and how long the engine has to stop.
#[derive(Debug, Clone)]
pub struct GuardPlan {
    /// The engine's command, run by `sh -c`.
    pub command: String,
    /// From SIGTERM to SIGKILL.
    pub grace: Duration,
    /// The harness's process id: the guard stops at once if its parent is already another.
    pub parent: u32,
}

/// Runs the plan's command as the guard of its tree and returns the exit code the guard should end
/// with. Errors are those of setting the guard up or starting the command.
pub fn guard(plan: &GuardPlan) -> std::io::Result<i32> {
    rustix::process::set_child_subreaper(Some(getpid()))?;
    rustix::process::set_parent_process_death_signal(Some(Signal::TERM))?;
    let terminated = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&terminated);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(std::io::Error::other)?;
    // The harness may have gone before the death signal was asked for.
    if getppid().map(|p| p.as_raw_nonzero().get()) != i32::try_from(plan.parent).ok() {
        return Ok(EXIT_TERMINATED);
    }
    let child = Command::new("sh").arg("-c").arg(&plan.command).spawn()?;
    let main = child.id();
    // The child is reaped below with every other process of the tree, not through `child`.
    drop(child);
    loop {
        if let Some(code) = reap(main) {
            stop_tree(plan.grace, main);
            return Ok(code);
        }
        if terminated.load(Ordering::SeqCst) {
            stop_tree(plan.grace, main);
            return Ok(EXIT_TERMINATED);
        }
        std::thread::sleep(LOOK);
    }
}

/// Reaps every process of the tree that has ended; the exit code of `main` if it was one of them.
fn reap(main: u32) -> Option<i32> {
    let mut code = None;
    while let Ok(Some((pid, status))) = wait(WaitOptions::NOHANG) {
        if pid.as_raw_nonzero().get() as u32 == main {
            code = Some(
                status
                    .exit_status()
                    .or_else(|| status.terminating_signal().map(|s| 128 + s))
                    .unwrap_or(1),
            );
        }
    }
    code
}

/// SIGTERM to every process of the tree, up to `grace` for them to exit, then SIGKILL to the rest.
fn stop_tree(grace: Duration, main: u32) {
    let me = std::process::id();
    let mut left = descendants(me);
    if left.is_empty() {
        return;
    }
    signal_all(&left, Signal::TERM);
    let deadline = Instant::now() + grace;
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(LOOK);
        reap(main);
        left = descendants(me);
    }
    while !left.is_empty() {
        signal_all(&left, Signal::KILL);
        std::thread::sleep(LOOK);
        reap(main);
        left = descendants(me);
    }
}
