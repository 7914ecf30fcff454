//! Following a run from the first job process to the job's exit: start the job's processes (or print
//! the commands for remote ones), wait for every local worker's readiness, start the producers, and
//! watch every child's lines and exit until the job is done. A job process that fails — on its own or
//! killed as a fault the run injects — is handled by stopping the rest of the job and starting every
//! job process again (up to the run's restart budget), while the producers keep producing: the
//! restarted job reads the events again and skips the results already written, so results stay exact.
//! Any other child that fails, any line that is not a message, and an interrupt end the run at once.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use adstream_protocol::clock::unix_ms;

use crate::experiment::error::RunError;
use crate::experiment::faults::{FaultRecord, Faults};
use crate::experiment::harness_metrics::Phase;
use crate::experiment::interrupt::Interrupt;
use crate::experiment::launch::{JobLaunch, Programs, plan_job};
use crate::experiment::ledger::Ledger;
use crate::experiment::live_feed::Shown;
use crate::experiment::role::Role;
use crate::experiment::status_line::StatusLine;
use crate::experiment::supervisor::{Line, Supervisor};
use crate::measure::collectors::RunCollectors;
use crate::services::broker::LocalBroker;
use crate::services::broker_watch::BrokerWatch;
use crate::services::cut::Cut;
use crate::services::process_tree::TreeMeter;
use adstream_protocol::liveness::Liveness;

mod engine;
mod inject;
mod restart;
mod show;
mod start;

pub use engine::EngineEnd;

/// How long the job may take to finish after the last producer ended, beyond one window.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the harness waits for lines before it looks at the children again.
const PUMP: Duration = Duration::from_millis(100);
/// How long a job process whose peer's connection closed may take to be seen exiting.
const PEER_EXIT: Duration = Duration::from_secs(1);
/// How long the streams of exited children may stay quiet before their last lines are taken as all.
const LAST_LINES_QUIET: Duration = Duration::from_millis(200);

/// The children of a run, what they said, its faults, and the live display.
pub struct Follow<'a> {
    /// What the run starts.
    programs: &'a Programs<'a>,
    /// The job's processes, planned once.
    jobs: Vec<JobLaunch>,
    supervisor: Supervisor,
    ledger: Ledger,
    /// When each job process at work was last heard from.
    liveness: Liveness,
    display: StatusLine,
    echo: bool,
    interrupt: &'a Interrupt,
    faults: Faults,
    /// When the producers started: the clock of injected kills and fault records.
    started: Option<Instant>,
    /// The hosts of the job processes started over ssh, to prefix their lines with.
    hosts: BTreeMap<Role, String>,
    /// The harness's metrics and the run's timeline.
    shown: Shown<'a>,
    /// The local broker when the harness started it.
    broker: Option<&'a RefCell<LocalBroker>>,
    /// Whether the broker answers.
    broker_watch: BrokerWatch,
    /// The ports cut off the network now, by the fault's target (restored when dropped).
    cuts: BTreeMap<Role, Cut>,
    /// Another engine's process tree, while it runs.
    tree: Option<TreeMeter>,
}

impl<'a> Follow<'a> {
    /// Nothing started yet; `echo` shows the children's stderr as it comes; `faults` holds the kills
    /// to inject and the restart budget; `shown` follows the run's phase and progress.
    pub fn new(
        programs: &'a Programs<'a>,
        echo: bool,
        interrupt: &'a Interrupt,
        faults: Faults,
        shown: Shown<'a>,
        broker: Option<&'a RefCell<LocalBroker>>,
    ) -> Result<Self, RunError> {
        let jobs = plan_job(programs.profile, programs.profile_path, programs.dataflow)?;
        let limit = Duration::from_millis(programs.profile.job.liveness_timeout_ms);
        Ok(Self {
            programs,
            jobs,
            supervisor: Supervisor::default(),
            ledger: Ledger::default(),
            liveness: Liveness::new(limit),
            display: StatusLine::new(),
            echo,
            interrupt,
            faults,
            started: None,
            hosts: BTreeMap::new(),
            shown,
            broker,
            broker_watch: BrokerWatch::start(&programs.profile.kafka.connection())?,
            cuts: BTreeMap::new(),
            tree: None,
        })
    }

    fn since_start(&self) -> Duration {
        self.started.map_or(Duration::ZERO, |t| t.elapsed())
    }

    fn take(&mut self, line: Line) -> Result<(), RunError> {
        if line.stderr && self.echo {
            let text = match self.hosts.get(&line.child) {
                Some(host) => format!("  [{} on {host}] {}", line.child, line.text),
                None => format!("  [{}] {}", line.child, line.text),
            };
            self.display.println(&text);
        }
        let (child, message) = (line.child, !line.stderr);
        self.ledger.take(line)?;
        if let (Role::Job(process), true) = (child, message) {
            if self.ledger.summarized(process) {
                self.liveness.forget(process);
            } else {
                self.liveness.heard(process, Instant::now());
            }
        }
        Ok(())
    }

    /// Takes the lines of up to `wait`, injects the kills that are due, and restarts a failed job;
    /// fails if another child exited unsuccessfully, the job failed once too often, or the run was
    /// interrupted.
    fn pump(&mut self, wait: Duration) -> Result<(), RunError> {
        if self.interrupt.is_set() {
            return Err(RunError::Interrupted(String::new()));
        }
        for line in self.supervisor.lines(wait) {
            self.take(line)?;
        }
        if self.started.is_some() {
            for fault in self.faults.due(self.since_start()) {
                self.inject(fault)?;
            }
            for (target, action) in self.faults.ended(self.since_start(), self.ledger.sent()) {
                self.end_fault(target, action)?;
            }
        }
        self.kill_silent()?;
        self.watch_broker()?;
        if let Some(tree) = &mut self.tree {
            tree.look();
        }
        if let Some((child, status)) = self.supervisor.failed()? {
            // Take in what it said before it died.
            for line in self.supervisor.last_lines(LAST_LINES_QUIET) {
                let _ = self.take(line);
            }
            match child {
                Role::Engine => {
                    return Err(RunError::EngineFailed {
                        command: self
                            .programs
                            .engine
                            .map(|e| e.command.clone())
                            .unwrap_or_default(),
                        status,
                        last_words: self.ledger.last_words(child),
                    });
                }
                Role::Job(process) if self.faults.can_restart() => self.restart(process, status)?,
                Role::Producer(id) if self.faults.can_restart() => {
                    self.restart_producer(id, status)?
                }
                _ => {
                    let (child, status) = self.root_cause(child, status);
                    return Err(RunError::ChildFailed {
                        child,
                        status,
                        last_words: self.ledger.last_words(child),
                    });
                }
            }
        }
        let since = self.since_start().as_secs_f64();
        self.faults
            .progress(self.ledger.processed(), self.ledger.replayed(), since);
        for (id, behind_ms) in self.ledger.producers_behind_ms() {
            self.faults.producer_progress(id, behind_ms, since);
        }
        Ok(())
    }

    /// The child whose failure ended the run: a job process that exited because its peer's
    /// connection closed points at that peer when the peer, too, exited unsuccessfully (the peer died
    /// first; the one that noticed may be reaped first).
    fn root_cause(&mut self, child: Role, status: ExitStatus) -> (Role, ExitStatus) {
        let Role::Job(process) = child else {
            return (child, status);
        };
        let gone = self
            .ledger
            .peer_silence_from(process)
            .filter(|s| s.silent_ms == 0);
        match gone {
            Some(silence) => {
                let peer = Role::Job(silence.peer);
                match self.supervisor.failure_of(peer, PEER_EXIT) {
                    Some(peer_status) => (peer, peer_status),
                    None => (child, status),
                }
            }
            None => (child, status),
        }
    }

    /// Takes the last lines of the exited children and hands over what they said and the faults met.
    pub fn conclude(mut self) -> Result<(Ledger, Vec<FaultRecord>), RunError> {
        self.display.finish();
        for line in self.supervisor.last_lines(LAST_LINES_QUIET) {
            self.ledger.take(line)?;
        }
        Ok((self.ledger, self.faults.into_records()))
    }

    /// Stops every child (killing those still running) and hands over what they said.
    pub fn stop(self) -> Ledger {
        self.display.finish();
        self.ledger
    }
}

/// What following a run to the job's exit found.
#[derive(Debug)]
pub struct Driven {
    /// Seconds from the first producer's start to the job's exit.
    pub elapsed_s: f64,
    /// Job processes started by hand on other hosts.
    pub remote_processes: u32,
    /// When the producers started (Unix ms).
    pub started_unix_ms: u64,
    /// Seconds from the job's start to its readiness.
    pub ready_after_s: f64,
    /// How another engine's part ended, when the run measured one.
    pub engine: Option<EngineEnd>,
}

/// Starts the job and the producers and follows them to the job's exit. A run without
/// producers of ours waits for the first event of someone else's, starts the job, and follows it until
/// it exits on its own once the input has gone quiet.
pub fn drive(follow: &mut Follow<'_>, collectors: &RunCollectors) -> Result<Driven, RunError> {
    let programs = follow.programs;
    let external = programs.profile.producers.count == 0;
    if external {
        follow.shown.phase(Phase::WaitingForEvents);
        follow.wait_for_events()?;
    }
    follow.shown.phase(Phase::Starting);
    let starting = Instant::now();
    let remote = match programs.engine {
        Some(engine) => {
            follow.start_engine(engine)?;
            follow.wait_engine_ready()?;
            0
        }
        None => {
            let remote = follow.start_job()?;
            follow.wait_ready(remote)?;
            remote
        }
    };
    let ready_after_s = starting.elapsed().as_secs_f64();
    let started = Instant::now();
    let started_unix_ms = unix_ms();
    follow.started = Some(started);
    follow.shown.live.borrow_mut().started(started_unix_ms);
    follow.shown.phase(Phase::Producing);
    for id in 0..programs.profile.producers.count {
        follow.start_producer(id, false)?;
    }
    while !follow
        .supervisor
        .all_exited(|r| matches!(r, Role::Producer(_)))?
    {
        follow.pump(PUMP)?;
        follow.show(collectors, !external);
    }
    // Our producers are done: the job has a window and a margin to finish. Others' producers may go on
    // as long as they like; the job ends once their input is quiet.
    follow.shown.phase(Phase::Draining);
    if programs.engine.is_some() {
        let end = follow.finish_engine(collectors, started, started_unix_ms)?;
        return Ok(Driven {
            elapsed_s: end.elapsed_s,
            remote_processes: 0,
            started_unix_ms,
            ready_after_s,
            engine: Some(end),
        });
    }
    let patience = DRAIN_TIMEOUT + Duration::from_secs(programs.profile.window.size);
    let deadline = (!external).then(|| Instant::now() + patience);
    // The job's work ends with its summaries; a process may then keep serving its metrics for a while
    // (metrics.linger_ms), which the run's figures do not count.
    let followed = (programs.profile.job.processes - remote) as usize;
    while !follow
        .supervisor
        .all_exited(|r| matches!(r, Role::Job(_)))?
    {
        let finished = follow.ledger.job_finished_at(followed).is_some();
        if !finished && deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RunError::JobDidNotFinish(patience.as_secs()));
        }
        follow.pump(PUMP)?;
        follow.show(collectors, !external);
    }
    follow.pump(Duration::ZERO)?;
    let elapsed_s = follow
        .ledger
        .job_finished_at(followed)
        .unwrap_or_else(Instant::now)
        .duration_since(started)
        .as_secs_f64();
    Ok(Driven {
        elapsed_s,
        remote_processes: remote,
        started_unix_ms,
        ready_after_s,
        engine: None,
    })
}
