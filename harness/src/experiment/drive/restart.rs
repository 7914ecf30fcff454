//! What a run does when one of its children fails: a job process that exited or went silent stops
//! the whole job, which starts again from its checkpoints; a producer that exited starts again with
//! `--resume`, sending only what the topic does not hold. Each failure becomes a fault record.

use std::ffi::OsStr;
use std::time::Instant;

use crate::experiment::error::RunError;
use crate::experiment::role::Role;

use super::Follow;

impl Follow<'_> {
    /// Kills the job process that has been silent for the liveness limit, if one has: its exit is
    /// then handled like a crash, and its record says it was detected.
    pub(super) fn kill_silent(&mut self) -> Result<(), RunError> {
        let Some(silence) = self.liveness.silent(Instant::now()) else {
            return Ok(());
        };
        let (process, silent_s) = (silence.process, silence.silent_for.as_secs_f64());
        self.liveness.forget(process);
        let detected_s = self.since_start().as_secs_f64();
        self.faults
            .silent(process, detected_s - silent_s, detected_s);
        self.display.println(&format!(
            "job {process} sent nothing for {silent_s:.1} s (dead, hung or cut off): stopping it"
        ));
        self.supervisor.kill(Role::Job(process))
    }

    /// Stops every job process and starts them all again, after job process `process` ended with
    /// `status`.
    pub(super) fn restart(
        &mut self,
        process: u32,
        status: std::process::ExitStatus,
    ) -> Result<(), RunError> {
        let now_s = self.since_start().as_secs_f64();
        let gave_up_on = self.ledger.peer_silence_from(process);
        let (target, failure) = self.faults.failure(process, gave_up_on, &status, now_s);
        self.supervisor.remove(|r| matches!(r, Role::Job(_)));
        self.ledger.new_incarnation();
        self.liveness.forget_all();
        let what = failure.headline(process, target, &status);
        self.display.println(&format!(
            "{what}: restarting the job ({} of at most {})",
            self.faults.count() + 1,
            self.programs.profile.job.max_restarts
        ));
        self.start_job()?;
        let record = failure.record(
            Role::Job(target).to_string(),
            self.since_start().as_secs_f64(),
        );
        self.faults.restarted(record, self.ledger.sent());
        self.metrics.restarted();
        Ok(())
    }

    /// Starts producer `id`; `resume` when an earlier incarnation of it failed.
    pub(super) fn start_producer(&mut self, id: u32, resume: bool) -> Result<(), RunError> {
        let id_text = id.to_string();
        let mut args = vec![
            OsStr::new("--config"),
            self.programs.profile_path.as_os_str(),
            OsStr::new("--id"),
            OsStr::new(&id_text),
        ];
        if resume {
            args.push(OsStr::new("--resume"));
        }
        self.supervisor
            .spawn(Role::Producer(id), self.programs.producer, &args)
    }

    /// Starts producer `id` again after it exited with `status`: it finds where its events in the
    /// topic end and sends the rest, behind its schedule until it has caught up.
    pub(super) fn restart_producer(
        &mut self,
        id: u32,
        status: std::process::ExitStatus,
    ) -> Result<(), RunError> {
        let now_s = self.since_start().as_secs_f64();
        let failure = self.faults.producer_failure(id, &status, now_s);
        let injected = if failure.injected { " (injected)" } else { "" };
        self.display.println(&format!(
            "producer {id} exited with {status}{injected}: restarting it where its events end ({} of \
             at most {})",
            self.faults.count() + 1,
            self.programs.profile.job.max_restarts
        ));
        self.supervisor.remove(|r| r == Role::Producer(id));
        self.ledger.producer_restarted(id);
        self.start_producer(id, true)?;
        let record = failure.record(
            Role::Producer(id).to_string(),
            self.since_start().as_secs_f64(),
        );
        self.faults.producer_restarted(id, record);
        self.metrics.restarted();
        Ok(())
    }
}
