//! Faults of a run: the kills an experiment injects (`--kill job:I@SECONDS`, `--kill producer:I@SECONDS`), and
//! job failure — when it happened, when the job was restarted, when it had caught up — kept free of
//! I/O, with the times passed in. The records themselves are report data ([`FaultRecord`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use adstream_protocol::messages::PeerSilence;

use crate::experiment::role::Role;

pub use crate::report::model::FaultRecord;

/// A kill to inject: SIGKILL a job process, a producer or the local broker this long after the
/// producers started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillPlan {
    /// The child to kill.
    pub target: Role,
    /// When, counted from the producers' start.
    pub at: Duration,
}

/// Why a `--kill` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected job:I@SECONDS, producer:I@SECONDS or broker@SECONDS (e.g. job:1@12.5), got {0:?}"
)]
pub struct BadKill(String);

impl FromStr for KillPlan {
    type Err = BadKill;

    fn from_str(text: &str) -> Result<Self, BadKill> {
        let bad = || BadKill(text.to_owned());
        let (target, at) = text.split_once('@').ok_or_else(bad)?;
        let target = match target.split_once(':') {
            None if target == "broker" => Role::Broker,
            None => return Err(bad()),
            Some((kind, index)) => {
                let index = index.parse().map_err(|_| bad())?;
                match kind {
                    "job" => Role::Job(index),
                    "producer" => Role::Producer(index),
                    _ => return Err(bad()),
                }
            }
        };
        let seconds: f64 = at.parse().map_err(|_| bad())?;
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(bad());
        }
        Ok(Self {
            target,
            at: Duration::from_secs_f64(seconds),
        })
    }
}

impl KillPlan {
    /// Whether the run has the child to kill: `jobs` job processes and `producers` producers,
    /// each numbered from 0, and a broker of its own when `owns_broker`; else what is wrong, naming
    /// the flag.
    pub fn within(&self, jobs: u32, producers: u32, owns_broker: bool) -> Result<(), String> {
        let (index, count, what) = match self.target {
            Role::Job(i) => (i, jobs, "the job has {} process(es)"),
            Role::Producer(i) => (i, producers, "the run has {} producer(s)"),
            Role::Broker if owns_broker => return Ok(()),
            Role::Broker => {
                return Err(format!(
                    "--kill {self}: the harness kills only a broker it started (the default \
                     address with no broker there)"
                ));
            }
        };
        if index < count {
            return Ok(());
        }
        Err(format!(
            "--kill {self}: {}, numbered from 0",
            what.replace("{}", &count.to_string())
        ))
    }
}

impl fmt::Display for KillPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.as_secs_f64();
        match self.target {
            Role::Job(i) => write!(f, "job:{i}@{at}"),
            Role::Producer(i) => write!(f, "producer:{i}@{at}"),
            Role::Broker => write!(f, "broker@{at}"),
        }
    }
}

/// Why the harness killed a job process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Killed {
    /// A kill the run injects (`--kill`).
    Injected,
    /// The process had sent nothing for the liveness limit: dead, hung or cut off.
    Silent {
        /// When the harness last heard from it, seconds since the producers started.
        last_heard_at_s: f64,
        /// When the silence was detected and the process killed.
        detected_at_s: f64,
    },
}

/// How a job process failed, as its fault record states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// How it ended, and why when the harness killed it.
    pub cause: String,
    /// Whether the run injected it (`--kill`).
    pub injected: bool,
    /// When it failed, seconds since the producers started.
    pub failed_at_s: f64,
    /// When the harness knew.
    pub detected_at_s: f64,
}

impl Failure {
    /// What happened, in one line: job process `exited` ended with `status`, and the fault is job
    /// process `target`'s (another one when `exited` gave up on a silent peer).
    pub fn headline(&self, exited: u32, target: u32, status: &dyn fmt::Display) -> String {
        if target != exited {
            return format!(
                "job {target} sent job {exited} nothing for {:.1} s (dead, hung or cut off), so \
                 job {exited} ended with {status}",
                self.detected_at_s - self.failed_at_s
            );
        }
        let injected = if self.injected { " (injected)" } else { "" };
        format!("job {exited} exited with {status}{injected}")
    }

    /// The fault record of this failure of `target`, whose job was restarted at `restarted_at_s`.
    pub fn record(self, target: String, restarted_at_s: f64) -> FaultRecord {
        FaultRecord {
            target,
            cause: self.cause,
            injected: self.injected,
            failed_at_s: self.failed_at_s,
            detected_at_s: self.detected_at_s,
            restarted_at_s,
            caught_up_at_s: None,
            events_reread: 0,
        }
    }
}

/// How far behind its schedule a restarted producer may send and count as caught up, ms: one
/// watermark interval's worth at the default, far above a producer's usual lag (a pacing tick).
pub const ON_SCHEDULE_MS: u64 = 100;

/// The recovery in progress: what the job must count to have caught up.
#[derive(Debug, Clone, Copy)]
struct CatchingUp {
    fault: usize,
    events_sent: u64,
}

/// The faults of a run: kills still to inject, failures met and restarts left.
#[derive(Debug, Clone)]
pub struct Faults {
    planned: Vec<KillPlan>,
    /// Children the harness killed and has not yet restarted, with why.
    killed: BTreeMap<Role, Killed>,
    restarts_left: u32,
    records: Vec<FaultRecord>,
    catching_up: Option<CatchingUp>,
    /// Restarted producers not yet back on their schedule: their fault records.
    producers_catching_up: BTreeMap<u32, usize>,
}

impl Faults {
    /// A run that injects `planned` kills and restarts the job at most `max_restarts` times.
    pub fn new(planned: &[KillPlan], max_restarts: u32) -> Self {
        let mut planned = planned.to_vec();
        planned.sort_by_key(|k| k.at);
        Self {
            planned,
            killed: BTreeMap::new(),
            restarts_left: max_restarts,
            records: Vec::new(),
            catching_up: None,
            producers_catching_up: BTreeMap::new(),
        }
    }

    /// The kills due at `elapsed` since the producers started, taken off the plan and remembered as
    /// injected.
    pub fn due(&mut self, elapsed: Duration) -> Vec<KillPlan> {
        let due = self.planned.partition_point(|k| k.at <= elapsed);
        let kills: Vec<KillPlan> = self.planned.drain(..due).collect();
        for kill in &kills {
            self.killed.insert(kill.target, Killed::Injected);
        }
        kills
    }

    /// Job process `process` is killed because it was silent from `last_heard_at_s` until
    /// `detected_at_s` (seconds since the producers started).
    pub fn silent(&mut self, process: u32, last_heard_at_s: f64, detected_at_s: f64) {
        self.killed.insert(
            Role::Job(process),
            Killed::Silent {
                last_heard_at_s,
                detected_at_s,
            },
        );
    }

    /// How the job failed, now that job process `process` exited with `status` at `now_s`: which
    /// process's fault it was, and how. When `process` gave up on a silent peer (`gave_up_on`), the
    /// peer's silence is the fault; else its exit, or the kill that caused it (asked once per
    /// failure).
    pub fn failure(
        &mut self,
        process: u32,
        gave_up_on: Option<PeerSilence>,
        status: &dyn fmt::Display,
        now_s: f64,
    ) -> (u32, Failure) {
        if let Some(silence) = gave_up_on {
            self.killed.remove(&Role::Job(silence.process));
            let silent_s = silence.silent_ms as f64 / 1_000.0;
            let failure = Failure {
                cause: format!(
                    "silent for {silent_s:.1} s (dead, hung or cut off): job {} gave up on it \
                     and ended with {status}",
                    silence.process
                ),
                injected: false,
                failed_at_s: (now_s - silent_s).max(0.0),
                detected_at_s: now_s,
            };
            return (silence.peer, failure);
        }
        let failure = match self.killed.remove(&Role::Job(process)) {
            Some(Killed::Silent {
                last_heard_at_s,
                detected_at_s,
            }) => Failure {
                cause: format!(
                    "silent for {:.1} s (dead, hung or cut off), killed: {status}",
                    detected_at_s - last_heard_at_s
                ),
                injected: false,
                failed_at_s: last_heard_at_s,
                detected_at_s,
            },
            killed => Failure {
                cause: status.to_string(),
                injected: killed == Some(Killed::Injected),
                failed_at_s: now_s,
                detected_at_s: now_s,
            },
        };
        (process, failure)
    }

    /// How producer `id` failed, now that it exited with `status` at `now_s`: on its own, or killed
    /// as the run planned.
    pub fn producer_failure(&mut self, id: u32, status: &dyn fmt::Display, now_s: f64) -> Failure {
        let injected = self.killed.remove(&Role::Producer(id)) == Some(Killed::Injected);
        Failure {
            cause: status.to_string(),
            injected,
            failed_at_s: now_s,
            detected_at_s: now_s,
        }
    }

    /// How the local broker failed: it exited, or it was killed after not answering (`how`), at
    /// `failed_at_s`, found at `detected_at_s`; injected when the run planned its kill.
    pub fn broker_failure(&mut self, how: String, failed_at_s: f64, detected_at_s: f64) -> Failure {
        let injected = self.killed.remove(&Role::Broker) == Some(Killed::Injected);
        Failure {
            cause: how,
            injected,
            failed_at_s,
            detected_at_s,
        }
    }

    /// Whether another restart is allowed.
    pub fn can_restart(&self) -> bool {
        self.restarts_left > 0
    }

    /// Records a failure and the restart that follows it: `counted` events the failed job had counted,
    /// `sent` the producers had sent by the restart.
    pub fn restarted(&mut self, record: FaultRecord, sent: u64) {
        self.restarts_left = self.restarts_left.saturating_sub(1);
        self.records.push(record);
        self.catching_up = Some(CatchingUp {
            fault: self.records.len() - 1,
            events_sent: sent,
        });
    }

    /// Records a producer's failure and its restart (`record.target` names it as `producer I`).
    pub fn producer_restarted(&mut self, id: u32, record: FaultRecord) {
        self.restarts_left = self.restarts_left.saturating_sub(1);
        self.records.push(record);
        self.producers_catching_up
            .insert(id, self.records.len() - 1);
    }

    /// Notes how far behind its schedule restarted producer `id` sent its latest event, at
    /// `elapsed_s`; marks it caught up once that is within [`ON_SCHEDULE_MS`].
    pub fn producer_progress(&mut self, id: u32, behind_ms: u64, elapsed_s: f64) {
        if behind_ms <= ON_SCHEDULE_MS
            && let Some(fault) = self.producers_catching_up.remove(&id)
        {
            self.records[fault].caught_up_at_s = Some(elapsed_s);
        }
    }

    /// Notes the restarted job's count of events and of records it read again at `elapsed_s`; marks
    /// it caught up when it has counted what the producers had sent at the restart.
    pub fn progress(&mut self, counted: u64, replayed: u64, elapsed_s: f64) {
        if let Some(c) = self.catching_up
            && counted >= c.events_sent
        {
            let record = &mut self.records[c.fault];
            record.caught_up_at_s = Some(elapsed_s);
            record.events_reread = replayed;
            self.catching_up = None;
        }
    }

    /// Every failure met, in order.
    pub fn into_records(self) -> Vec<FaultRecord> {
        self.records
    }

    /// Failures met so far.
    pub fn count(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(failed_at_s: f64) -> FaultRecord {
        FaultRecord {
            target: "job 1".to_owned(),
            cause: "signal: 9".to_owned(),
            injected: true,
            detected_at_s: failed_at_s,
            failed_at_s,
            restarted_at_s: failed_at_s + 0.1,
            caught_up_at_s: None,
            events_reread: 10,
        }
    }

    #[test]
    fn kills_parse_and_name_what_is_wrong() {
        assert_eq!(
            "job:1@12.5".parse::<KillPlan>(),
            Ok(KillPlan {
                target: Role::Job(1),
                at: Duration::from_millis(12_500)
            })
        );
        assert_eq!(
            "producer:0@3".parse::<KillPlan>(),
            Ok(KillPlan {
                target: Role::Producer(0),
                at: Duration::from_secs(3)
            })
        );
        assert_eq!(
            "broker@7".parse::<KillPlan>().map(|k| k.target),
            Ok(Role::Broker)
        );
        for bad in [
            "job1@12",
            "job:x@1",
            "job:1@",
            "broker:0@3",
            "job:1@-2",
            "job@1",
        ] {
            assert!(bad.parse::<KillPlan>().is_err(), "{bad}");
        }
    }

    #[test]
    fn kills_come_due_in_time_order_once() {
        let plan = ["job:0@27", "job:1@12"].map(|k| k.parse().unwrap());
        let mut faults = Faults::new(&plan, 3);
        assert!(faults.due(Duration::from_secs(5)).is_empty());
        assert_eq!(faults.due(Duration::from_secs(13))[0].target, Role::Job(1));
        assert!(faults.due(Duration::from_secs(14)).is_empty());
        assert_eq!(faults.due(Duration::from_secs(30))[0].target, Role::Job(0));
    }

    #[test]
    fn restarts_are_bounded_and_catching_up_is_timed() {
        let mut faults = Faults::new(&[], 1);
        assert!(faults.can_restart());
        faults.restarted(record(12.0), 1_000);
        assert!(!faults.can_restart());
        faults.progress(999, 5, 12.5);
        faults.progress(1_000, 7, 13.0);
        faults.progress(5_000, 9, 14.0);
        let records = faults.into_records();
        assert_eq!(records[0].caught_up_at_s, Some(13.0));
        assert_eq!(records[0].events_reread, 7);
        assert_eq!(records[0].recovery_s(), Some(1.0));
    }

    #[test]
    fn a_killed_producer_is_injected_and_caught_up_once_back_on_schedule() {
        let plan = ["producer:1@5".parse().unwrap()];
        let mut faults = Faults::new(&plan, 2);
        assert_eq!(
            faults.due(Duration::from_secs(6))[0].target,
            Role::Producer(1)
        );
        let failure = faults.producer_failure(1, &"signal: 9 (SIGKILL)", 6.1);
        assert!(failure.injected);
        assert_eq!((failure.failed_at_s, failure.detected_at_s), (6.1, 6.1));
        faults.producer_restarted(1, failure.record("producer 1".to_owned(), 6.2));
        faults.producer_progress(0, 0, 7.0);
        faults.producer_progress(1, 900, 7.2);
        faults.producer_progress(1, ON_SCHEDULE_MS, 8.2);
        faults.producer_progress(1, 0, 9.2);
        // Its next failure is its own.
        assert!(!faults.producer_failure(1, &"exit status: 1", 20.0).injected);
        let records = faults.into_records();
        assert_eq!(records[0].caught_up_at_s, Some(8.2));
        assert_eq!(
            records[0].recovery_s().map(|s| (s * 10.0).round()),
            Some(21.0)
        );
    }

    #[test]
    fn a_silent_process_fails_when_last_heard_and_is_detected_when_killed() {
        let mut faults = Faults::new(&[], 3);
        faults.silent(1, 10.0, 13.1);
        let (target, failure) = faults.failure(1, None, &"signal: 9 (SIGKILL)", 13.2);
        assert_eq!(target, 1);
        assert_eq!(
            failure,
            Failure {
                cause: "silent for 3.1 s (dead, hung or cut off), killed: signal: 9 (SIGKILL)"
                    .to_owned(),
                injected: false,
                failed_at_s: 10.0,
                detected_at_s: 13.1,
            }
        );
        // Asked once: the next failure of the process is an exit of its own.
        let (_, failure) = faults.failure(1, None, &"exit status: 1", 20.0);
        assert_eq!((failure.failed_at_s, failure.detected_at_s), (20.0, 20.0));
        assert!(!failure.injected);
    }

    #[test]
    fn a_process_that_gave_up_on_a_silent_peer_puts_the_fault_on_the_peer() {
        let mut faults = Faults::new(&[], 3);
        let gave_up = PeerSilence {
            process: 0,
            peer: 1,
            silent_ms: 3_000,
        };
        let (target, failure) = faults.failure(0, Some(gave_up), &"exit status: 1", 7.5);
        assert_eq!(target, 1);
        assert_eq!(
            failure,
            Failure {
                cause: "silent for 3.0 s (dead, hung or cut off): job 0 gave up on it and ended \
                        with exit status: 1"
                    .to_owned(),
                injected: false,
                failed_at_s: 4.5,
                detected_at_s: 7.5,
            }
        );
        assert_eq!(
            failure.headline(0, 1, &"exit status: 1"),
            "job 1 sent job 0 nothing for 3.0 s (dead, hung or cut off), so job 0 ended with exit \
             status: 1"
        );
    }
}
