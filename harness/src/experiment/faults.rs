//! Faults of a run: the kills an experiment injects (`--kill job:I@SECONDS`, `--kill producer:I@SECONDS`), and
//! job failure — when it happened, when the job was restarted, when it had caught up — kept free of
//! I/O, with the times passed in. The records themselves are report data ([`FaultRecord`]).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use adstream_protocol::messages::PeerSilence;

pub use crate::experiment::fault_plan::{Action, FaultPlan};
use crate::experiment::role::Role;

pub use crate::report::model::FaultRecord;

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
        if target != exited && self.detected_at_s == self.failed_at_s {
            return format!(
                "job {exited} lost its connection to job {target}, so it ended with {status}"
            );
        }
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
            detected_at_s: Some(self.detected_at_s),
            restarted_at_s: Some(restarted_at_s),
            resumed_at_s: None,
            caught_up_at_s: None,
            events_reread: 0,
            last_words: String::new(),
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

/// A stop or a cut the run injected that is still on: its target, when it is over, and its record.
#[derive(Debug, Clone, Copy)]
struct Stopped {
    target: Role,
    action: Action,
    until: Option<Duration>,
    record: usize,
}

/// The faults of a run: those still to inject, failures met and restarts left.
#[derive(Debug, Clone)]
pub struct Faults {
    planned: Vec<FaultPlan>,
    /// Injected stops not yet over.
    stopped: Vec<Stopped>,
    /// Children the harness killed and has not yet restarted, with why.
    killed: BTreeMap<Role, Killed>,
    max_restarts: u32,
    restarts_left: u32,
    records: Vec<FaultRecord>,
    /// Faults the job has not caught up from yet.
    catching_up: Vec<CatchingUp>,
    /// Restarted producers not yet back on their schedule: their fault records.
    producers_catching_up: BTreeMap<u32, usize>,
}

impl Faults {
    /// A run that injects `planned` faults and restarts failed children at most `max_restarts`
    /// times.
    pub fn new(planned: &[FaultPlan], max_restarts: u32) -> Self {
        let mut planned = planned.to_vec();
        planned.sort_by_key(|k| k.at);
        Self {
            planned,
            stopped: Vec::new(),
            killed: BTreeMap::new(),
            max_restarts,
            restarts_left: max_restarts,
            records: Vec::new(),
            catching_up: Vec::new(),
            producers_catching_up: BTreeMap::new(),
        }
    }

    /// The faults due at `elapsed` since the producers started, taken off the plan: a kill is
    /// remembered as injected (its exit is then recorded as the fault), a stop is recorded now.
    pub fn due(&mut self, elapsed: Duration) -> Vec<FaultPlan> {
        let due = self.planned.partition_point(|k| k.at <= elapsed);
        let faults: Vec<FaultPlan> = self.planned.drain(..due).collect();
        let at_s = elapsed.as_secs_f64();
        for fault in &faults {
            match fault.action {
                Action::Kill => {
                    self.killed.insert(fault.target, Killed::Injected);
                }
                Action::Stop | Action::Cut => {
                    let what = match fault.action {
                        Action::Cut => "cut off (its packets dropped)",
                        _ => "stopped (SIGSTOP)",
                    };
                    let cause = match fault.lasts {
                        Some(lasts) => format!("{what} for {:.1} s", lasts.as_secs_f64()),
                        None => format!("{what} for good"),
                    };
                    self.records.push(FaultRecord {
                        target: fault.target.to_string(),
                        cause,
                        injected: true,
                        failed_at_s: at_s,
                        detected_at_s: None,
                        restarted_at_s: None,
                        resumed_at_s: None,
                        caught_up_at_s: None,
                        events_reread: 0,
                        last_words: String::new(),
                    });
                    self.stopped.push(Stopped {
                        target: fault.target,
                        action: fault.action,
                        until: fault.lasts.map(|l| fault.at + l),
                        record: self.records.len() - 1,
                    });
                }
            }
        }
        faults
    }

    /// The stops and cuts over at `elapsed` (their targets to continue or reconnect), with the events
    /// the producers had `sent` by then: each record notes it, and the run has caught up once that
    /// many are counted (a producer: once it is back on its schedule).
    pub fn ended(&mut self, elapsed: Duration, sent: u64) -> Vec<(Role, Action)> {
        let (over, still): (Vec<Stopped>, Vec<Stopped>) = self
            .stopped
            .iter()
            .partition(|s| s.until.is_some_and(|u| u <= elapsed));
        self.stopped = still;
        for s in &over {
            self.records[s.record].resumed_at_s = Some(elapsed.as_secs_f64());
            self.catch_up(s.target, s.record, sent);
        }
        over.into_iter().map(|s| (s.target, s.action)).collect()
    }

    /// From now on record `fault` of `target` waits for the run to catch up.
    fn catch_up(&mut self, target: Role, fault: usize, sent: u64) {
        match target {
            Role::Producer(id) => {
                self.producers_catching_up.insert(id, fault);
            }
            Role::Job(_) | Role::Broker | Role::Engine => {
                self.catching_up.push(CatchingUp {
                    fault,
                    events_sent: sent,
                });
            }
        }
    }

    /// Files `record` of a failure and its restart: into the record of a stop or cut injected into the
    /// same child, when one is on (it caused it), else as a record of its own; its index.
    fn file(&mut self, record: FaultRecord, target: Role) -> usize {
        self.restarts_left = self.restarts_left.saturating_sub(1);
        let Some(i) = self.stopped.iter().position(|s| s.target == target) else {
            self.records.push(record);
            return self.records.len() - 1;
        };
        let stop = self.stopped.remove(i);
        let filed = &mut self.records[stop.record];
        filed.cause = format!("{}; then {}", filed.cause, record.cause);
        filed.detected_at_s = record.detected_at_s;
        filed.restarted_at_s = record.restarted_at_s;
        filed.last_words = record.last_words;
        stop.record
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
            if let Some(killed) = self.killed.remove(&Role::Job(silence.peer)) {
                // The harness killed the peer itself (found silent, or as planned), and the process
                // that noticed its connection close was faster to exit: the kill is the fault.
                let failure = Self::of_kill(Some(killed), &"signal: 9 (SIGKILL)", now_s);
                return (silence.peer, failure);
            }
            let silent_s = silence.silent_ms as f64 / 1_000.0;
            let how = if silence.silent_ms == 0 {
                "gone (its connection closed)".to_owned()
            } else {
                format!("silent for {silent_s:.1} s (dead, hung or cut off)")
            };
            // A stop or cut injected into the process that gave up made the silence mutual: the
            // fault is that process's, whichever of the two gave up first.
            let giver = Role::Job(silence.process);
            if self.stopped.iter().any(|s| s.target == giver) {
                let failure = Failure {
                    cause: format!(
                        "{how}: it and job {} heard nothing from each other, and it ended with \
                         {status}",
                        silence.peer
                    ),
                    injected: false,
                    failed_at_s: (now_s - silent_s).max(0.0),
                    detected_at_s: now_s,
                };
                return (silence.process, failure);
            }
            let failure = Failure {
                cause: format!(
                    "{how}: job {} gave up on it and ended with {status}",
                    silence.process
                ),
                injected: false,
                failed_at_s: (now_s - silent_s).max(0.0),
                detected_at_s: now_s,
            };
            return (silence.peer, failure);
        }
        let killed = self.killed.remove(&Role::Job(process));
        (process, Self::of_kill(killed, status, now_s))
    }

    /// The failure of a process that ended with `status` at `now_s`, and why when the harness
    /// `killed` it.
    fn of_kill(killed: Option<Killed>, status: &dyn fmt::Display, now_s: f64) -> Failure {
        match killed {
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
        }
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

    /// Records a failure of `target` (a job process or the broker) and the restart that follows it,
    /// `sent` the events the producers had sent by the restart.
    pub fn restarted(&mut self, target: Role, record: FaultRecord, sent: u64) {
        let fault = self.file(record, target);
        self.catch_up(target, fault, sent);
    }

    /// Records a producer's failure and its restart (`record.target` names it as `producer I`).
    pub fn producer_restarted(&mut self, id: u32, record: FaultRecord) {
        let fault = self.file(record, Role::Producer(id));
        self.catch_up(Role::Producer(id), fault, 0);
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
        let records = &mut self.records;
        self.catching_up.retain(|c| {
            if counted < c.events_sent {
                return true;
            }
            let record = &mut records[c.fault];
            record.caught_up_at_s = Some(elapsed_s);
            if record.restarted_at_s.is_some() {
                record.events_reread = replayed;
            }
            false
        });
    }

    /// Every failure met, in order.
    pub fn into_records(self) -> Vec<FaultRecord> {
        self.records
    }

    /// Restarts made so far.
    pub fn restarts(&self) -> u32 {
        self.max_restarts - self.restarts_left
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
            detected_at_s: Some(failed_at_s),
            failed_at_s,
            restarted_at_s: Some(failed_at_s + 0.1),
            resumed_at_s: None,
            caught_up_at_s: None,
            events_reread: 10,
            last_words: String::new(),
        }
    }

    #[test]
    fn kills_come_due_in_time_order_once() {
        let plan = ["job:0@27", "job:1@12"].map(|k| FaultPlan::kill(k).unwrap());
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
        faults.restarted(Role::Job(1), record(12.0), 1_000);
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
    fn a_stop_ridden_out_is_recorded_continued_and_caught_up() {
        let plan = ["stop:job:1@10+3".parse().unwrap()];
        let mut faults = Faults::new(&plan, 1);
        assert!(faults.ended(Duration::from_secs(11), 100).is_empty());
        assert_eq!(faults.due(Duration::from_secs(10))[0].action, Action::Stop);
        assert!(faults.ended(Duration::from_millis(12_900), 900).is_empty());
        assert_eq!(
            faults.ended(Duration::from_secs(13), 1_000),
            [(Role::Job(1), Action::Stop)]
        );
        assert!(faults.ended(Duration::from_secs(14), 1_100).is_empty());
        faults.progress(999, 0, 13.5);
        faults.progress(1_000, 0, 14.0);
        assert_eq!(faults.restarts(), 0);
        let records = faults.into_records();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(
            (r.target.as_str(), r.cause.as_str(), r.injected),
            ("job 1", "stopped (SIGSTOP) for 3.0 s", true)
        );
        assert_eq!((r.failed_at_s, r.resumed_at_s), (10.0, Some(13.0)));
        assert_eq!((r.detected_at_s, r.restarted_at_s), (None, None));
        assert_eq!(r.caught_up_at_s, Some(14.0));
    }

    #[test]
    fn faults_close_together_are_each_caught_up_in_turn() {
        let plan = ["stop:job:0@20+2".parse().unwrap()];
        let mut faults = Faults::new(&plan, 3);
        faults.restarted(Role::Job(1), record(12.0), 1_000);
        faults.due(Duration::from_secs(20));
        faults.ended(Duration::from_secs(22), 2_000);
        faults.progress(1_500, 30, 22.5);
        faults.progress(2_000, 31, 23.0);
        let records = faults.into_records();
        assert_eq!(records[0].caught_up_at_s, Some(22.5));
        assert_eq!(records[0].events_reread, 30);
        assert_eq!(records[1].caught_up_at_s, Some(23.0));
        assert_eq!(
            records[1].events_reread, 0,
            "nothing was restarted for the stop"
        );
    }

    #[test]
    fn a_stop_that_leads_to_a_restart_is_one_record() {
        let plan = ["stop:job:1@10".parse().unwrap()];
        let mut faults = Faults::new(&plan, 2);
        faults.due(Duration::from_secs(10));
        faults.silent(1, 9.9, 13.0);
        let (target, failure) = faults.failure(1, None, &"signal: 9 (SIGKILL)", 13.1);
        faults.restarted(
            Role::Job(target),
            failure.record("job 1".to_owned(), 13.2),
            500,
        );
        assert_eq!(faults.restarts(), 1);
        faults.progress(500, 40, 14.0);
        let records = faults.into_records();
        assert_eq!(records.len(), 1, "{records:?}");
        let r = &records[0];
        assert_eq!(
            r.cause,
            "stopped (SIGSTOP) for good; then silent for 3.1 s (dead, hung or cut off), killed: \
             signal: 9 (SIGKILL)"
        );
        assert_eq!((r.failed_at_s, r.detected_at_s), (10.0, Some(13.0)));
        assert_eq!(
            (r.restarted_at_s, r.caught_up_at_s),
            (Some(13.2), Some(14.0))
        );
        assert_eq!(r.events_reread, 40);
    }

    #[test]
    fn a_killed_producer_is_injected_and_caught_up_once_back_on_schedule() {
        let plan = [FaultPlan::kill("producer:1@5").unwrap()];
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
    fn a_peer_the_harness_killed_keeps_its_kill_whoever_exits_first() {
        let mut faults = Faults::new(&[FaultPlan::kill("job:1@5").unwrap()], 3);
        faults.due(Duration::from_secs(5));
        let lost = PeerSilence {
            process: 0,
            peer: 1,
            silent_ms: 0,
        };
        let (target, failure) = faults.failure(0, Some(lost), &"exit status: 1", 5.1);
        assert_eq!(target, 1);
        assert!(failure.injected);
        assert_eq!(failure.cause, "signal: 9 (SIGKILL)");
        faults.silent(1, 10.0, 13.0);
        let (target, failure) = faults.failure(0, Some(lost), &"exit status: 1", 13.1);
        assert_eq!(target, 1);
        assert_eq!(
            (failure.failed_at_s, failure.detected_at_s, failure.injected),
            (10.0, 13.0, false)
        );
        assert!(
            failure.cause.starts_with("silent for 3.0 s"),
            "{}",
            failure.cause
        );
    }

    #[test]
    fn a_cut_process_that_gives_up_first_keeps_the_fault() {
        let mut faults = Faults::new(&["cut:job:1@3".parse().unwrap()], 3);
        faults.due(Duration::from_secs(3));
        let gave_up = PeerSilence {
            process: 1,
            peer: 0,
            silent_ms: 3_000,
        };
        let (target, failure) = faults.failure(1, Some(gave_up), &"exit status: 1", 6.4);
        assert_eq!(target, 1);
        faults.restarted(Role::Job(1), failure.record("job 1".to_owned(), 8.4), 100);
        let records = faults.into_records();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(
            records[0].cause,
            "cut off (its packets dropped) for good; then silent for 3.0 s (dead, hung or cut \
             off): it and job 0 heard nothing from each other, and it ended with exit status: 1"
        );
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
