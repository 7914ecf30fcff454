//! The flags of `[job]`'s engine keys — which stream job `harness run` and `harness compare`
//! measure when it is not adstream's own, and the harness's side of the contract with it — apart from
//! [`crate::flags::JobArgs`], which `dataflow` takes too.

use clap::Args;

use crate::flags::{Override, set};
use crate::profile::{Engine, Profile, keys};

/// Flags for the engine keys of `[job]`.
// Each flag's doc is its key's help, declared with the key in the profile table.
#[allow(missing_docs)]
#[derive(Debug, Clone, Args, Default)]
pub struct EngineArgs {
    #[arg(long = keys::job::command.long(), help = keys::job::command.help, value_name = "'CMD ARGS…'")]
    pub job: Option<String>,
    #[arg(long = keys::job::engine.long(), help = keys::job::engine.help, value_enum, conflicts_with = "job")]
    pub engine: Option<Engine>,
    #[arg(long = keys::job::ready_line.long(), help = keys::job::ready_line.help, value_name = "TEXT")]
    pub ready_line: Option<String>,
    #[arg(long = keys::job::start_allowance_s.long(), help = keys::job::start_allowance_s.help, value_name = "S")]
    pub start_allowance_s: Option<u64>,
    #[arg(long = keys::job::ready_timeout_s.long(), help = keys::job::ready_timeout_s.help, value_name = "S")]
    pub ready_timeout_s: Option<u64>,
    #[arg(long = keys::job::lateness_ms.long(), help = keys::job::lateness_ms.help, value_name = "MS")]
    pub lateness_ms: Option<u64>,
    #[arg(long = keys::job::finish_timeout_s.long(), help = keys::job::finish_timeout_s.help, value_name = "S")]
    pub finish_timeout_s: Option<u64>,
    #[arg(long = keys::job::stop_grace_ms.long(), help = keys::job::stop_grace_ms.help, value_name = "MS")]
    pub stop_grace_ms: Option<u64>,
}

impl Override for EngineArgs {
    fn apply(&self, profile: &mut Profile) {
        let j = &mut profile.job;
        // One names the job: a flag for one replaces the profile's other.
        if self.job.is_some() {
            j.command.clone_from(&self.job);
            j.engine = None;
        }
        if self.engine.is_some() {
            j.engine = self.engine;
            j.command = None;
        }
        set(&mut j.ready_line, &self.ready_line);
        if self.start_allowance_s.is_some() {
            j.start_allowance_s = self.start_allowance_s;
        }
        set(&mut j.ready_timeout_s, &self.ready_timeout_s);
        if self.lateness_ms.is_some() {
            j.lateness_ms = self.lateness_ms;
        }
        set(&mut j.finish_timeout_s, &self.finish_timeout_s);
        set(&mut j.stop_grace_ms, &self.stop_grace_ms);
    }
}
