//! `harness engine-guard` (hidden): the process the harness starts another engine's job under, which
//! owns the job's whole process tree (see the guard's module in the services layer). Not for people:
//! `harness run --job` starts it.

use std::time::Duration;

use adstream_harness::services::engine_guard::{GuardPlan, guard};
use anyhow::Context as _;
use clap::Args;

/// The guard's command line.
#[derive(Debug, Args)]
pub struct EngineGuardArgs {
    /// Milliseconds from SIGTERM to SIGKILL of the job's processes.
    #[arg(long, value_name = "MS")]
    grace_ms: u64,
    /// The harness's process id.
    #[arg(long, value_name = "PID")]
    parent: u32,
    /// The job's shell command.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Runs the job under the guard; the exit code is the job's.
pub fn run(args: &EngineGuardArgs) -> anyhow::Result<u8> {
    let plan = GuardPlan {
        command: args.command.join(" "),
        grace: Duration::from_millis(args.grace_ms),
        parent: args.parent,
    };
    let code = guard(&plan).with_context(|| format!("start the job `{}`", plan.command))?;
    Ok(u8::try_from(code).unwrap_or(1))
}
