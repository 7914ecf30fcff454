//! What a run does when one of its children fails: a job process that exited or went silent stops
//! the whole job, which starts again from its checkpoints; a producer that exited starts again with
//! `--resume`, sending only what the topic does not hold; the local broker, when it exited or stopped
//! answering, starts again on its address with its data — or, when its storage is memory and the
//! data is gone, or the broker is not the harness's, the run ends with one line. Each failure the run
//! survives becomes a fault record.

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::experiment::error::RunError;
use crate::experiment::launch::{local_hostfile, plan_job};
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
        self.mark(
            "fault",
            format!("job {process} silent for {silent_s:.1} s: stopped"),
        );
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
        let last_words = self.ledger.last_words(Role::Job(process));
        self.supervisor.remove(|r| matches!(r, Role::Job(_)));
        let profile = self.programs.profile;
        if let (true, Some(hostfile)) = (self.programs.own_hostfile, &profile.job.hostfile) {
            let dir = hostfile.parent().unwrap_or(Path::new("."));
            local_hostfile(dir, profile.job.processes)?;
            self.jobs = plan_job(profile, self.programs.profile_path, self.programs.dataflow)?;
        }
        self.ledger.new_incarnation();
        self.liveness.forget_all();
        let what = failure.headline(process, target, &status);
        self.display.println(&format!(
            "{what}: restarting the job ({} of at most {})",
            self.faults.restarts() + 1,
            self.programs.profile.job.max_restarts
        ));
        self.start_job()?;
        let mut record = failure.record(
            Role::Job(target).to_string(),
            self.since_start().as_secs_f64(),
        );
        record.last_words = last_words;
        self.faults
            .restarted(Role::Job(target), record, self.ledger.sent());
        self.restarted("the job");
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
            self.faults.restarts() + 1,
            self.programs.profile.job.max_restarts
        ));
        self.supervisor.remove(|r| r == Role::Producer(id));
        self.ledger.producer_restarted(id);
        self.start_producer(id, true)?;
        let mut record = failure.record(
            Role::Producer(id).to_string(),
            self.since_start().as_secs_f64(),
        );
        record.last_words = self.ledger.last_words(Role::Producer(id));
        self.faults.producer_restarted(id, record);
        self.restarted(&Role::Producer(id).to_string());
        Ok(())
    }

    /// Looks at the broker: the harness's own that exited or has not answered for the liveness
    /// limit is killed and started again with its data (a fault like a job's, caught up when the job
    /// has counted what was sent by then); with memory storage the run fails, its events gone. Someone
    /// else's broker that has not answered for the limit fails the run.
    pub(super) fn watch_broker(&mut self) -> Result<(), RunError> {
        let limit = Duration::from_millis(self.programs.profile.job.liveness_timeout_ms);
        let silent = self.broker_watch.silent_for();
        let address = &self.programs.profile.kafka.bootstrap;
        let Some(cell) = self.broker else {
            if silent < limit {
                return Ok(());
            }
            return Err(RunError::BrokerGone {
                address: address.clone(),
                silent_s: silent.as_secs_f64(),
            });
        };
        let mut broker = cell.borrow_mut();
        let exited = broker
            .try_status()
            .map_err(RunError::io("wait for the broker"))?;
        let now_s = self.since_start().as_secs_f64();
        let (how, failed_at_s) = match exited {
            Some(status) => (format!("exited with {status}"), now_s),
            None if silent >= limit => {
                broker.kill();
                let silent_s = silent.as_secs_f64();
                (
                    format!("answered nothing for {silent_s:.1} s (hung or cut off), killed"),
                    (now_s - silent_s).max(0.0),
                )
            }
            None => return Ok(()),
        };
        if !broker.durable() {
            return Err(RunError::BrokerLost {
                address: address.clone(),
                how,
            });
        }
        if !self.faults.can_restart() {
            return Err(RunError::BrokerFailedTooOften {
                address: address.clone(),
                how,
            });
        }
        let failure = self.faults.broker_failure(how, failed_at_s, now_s);
        let injected = if failure.injected { " (injected)" } else { "" };
        self.display.println(&format!(
            "the broker {}{injected}: restarting it on {address} with its data ({} of at most {})",
            failure.cause,
            self.faults.restarts() + 1,
            self.programs.profile.job.max_restarts
        ));
        broker.restart()?;
        drop(broker);
        self.broker_watch.heard_now();
        let record = failure.record(Role::Broker.to_string(), self.since_start().as_secs_f64());
        self.faults
            .restarted(Role::Broker, record, self.ledger.sent());
        self.restarted("the broker");
        Ok(())
    }
}
