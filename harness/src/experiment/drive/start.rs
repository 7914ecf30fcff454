//! Starting adstream's own job: its processes here, over ssh or by hand, and the wait for every local
//! worker's readiness; and, for producers the harness does not start, the wait for their first event.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Instant;

use super::{Follow, PUMP};
use crate::experiment::error::RunError;
use crate::experiment::launch::{SshLaunch, Start, ready_timeout};
use crate::experiment::role::Role;
use crate::measure::topic_reader::TopicReader;

impl Follow<'_> {
    /// Waits, until interrupted, for the first record in the events topic, written by producers the harness
    /// does not start (the job is started after it, so its idle clock starts with the input).
    pub(super) fn wait_for_events(&mut self) -> Result<(), RunError> {
        let profile = self.programs.profile;
        let k = &profile.kafka;
        self.display.println(&format!(
        "waiting for events in `{}` at {}: start the producers now; the run ends {} ms after their \
         input goes quiet (job.idle_close_ms)",
        k.events_topic, k.bootstrap, profile.job.idle_close_ms
    ));
        let arrived = TopicReader::all(k, &k.events_topic)?.first_record(self.interrupt.flag());
        if !arrived {
            return Err(RunError::Interrupted(String::new()));
        }
        Ok(())
    }

    /// Starts the job's processes — here, or on their hosts over ssh — and prints the commands of those
    /// the user starts by hand; how many those are.
    pub(super) fn start_job(&mut self) -> Result<u32, RunError> {
        let profile = self.programs.profile;
        let mut remote = 0;
        for launch in &self.jobs {
            let role = Role::Job(launch.line.process);
            match &launch.start {
                Start::Here => {
                    let args = launch.command.args();
                    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
                    self.supervisor
                        .spawn(role, &launch.command.dataflow, &args)?;
                }
                Start::OverSsh { dir } => {
                    let ssh = SshLaunch {
                        ssh: &profile.ssh,
                        launch,
                        dataflow: profile
                            .ssh
                            .dataflow
                            .as_deref()
                            .unwrap_or(self.programs.dataflow),
                        dir,
                    };
                    ssh.copy()?;
                    let args = ssh.command();
                    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
                    self.supervisor
                        .spawn_holding_stdin(role, Path::new("ssh"), &args)?;
                    let host = &launch.line.address.host;
                    self.hosts.insert(role, host.clone());
                    self.display.println(&format!(
                        "job process {} started on {host} over ssh",
                        launch.line.process
                    ));
                }
                Start::ByHand => {
                    remote += 1;
                    self.display.println(&launch.instructions());
                }
            }
        }
        Ok(remote)
    }

    /// Waits until every local worker said it reads its partitions. Timely connects every process before
    /// any worker starts, so the local workers' readiness means the remote processes have joined too.
    pub(super) fn wait_ready(&mut self, remote: u32) -> Result<(), RunError> {
        let profile = self.programs.profile;
        let (timeout, notes) = ready_timeout(profile, remote);
        for note in notes {
            self.display.println(&note);
        }
        let job = &profile.job;
        let workers = ((job.processes - remote) * job.workers) as usize;
        let deadline = Instant::now() + timeout;
        while self.ledger.ready_workers() < workers {
            if Instant::now() >= deadline {
                return Err(RunError::NotReady {
                    ready: self.ledger.ready_workers(),
                    workers,
                    timeout_s: timeout.as_secs(),
                    hint: if remote > 0 {
                        " (are the remote processes started?)"
                    } else {
                        ""
                    },
                });
            }
            self.pump(PUMP)?;
        }
        Ok(())
    }
}
