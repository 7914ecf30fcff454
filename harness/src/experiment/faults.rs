//! Faults of a run: the kills an experiment injects (`--kill job:I@SECONDS`), and what became of every
//! job failure — when it happened, when the job was restarted, when it had caught up — kept free of
//! I/O, with the times passed in. The records themselves are report data ([`FaultRecord`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use crate::report::model::FaultRecord;

/// A kill to inject: SIGKILL job process `process` this long after the producers started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillPlan {
    /// The job process.
    pub process: u32,
    /// When, counted from the producers' start.
    pub at: Duration,
}

/// Why a `--kill` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected job:I@SECONDS (e.g. job:1@12.5), got {0:?}")]
pub struct BadKill(String);

impl FromStr for KillPlan {
    type Err = BadKill;

    fn from_str(text: &str) -> Result<Self, BadKill> {
        let bad = || BadKill(text.to_owned());
        let rest = text.strip_prefix("job:").ok_or_else(bad)?;
        let (process, at) = rest.split_once('@').ok_or_else(bad)?;
        let process = process.parse().map_err(|_| bad())?;
        let seconds: f64 = at.parse().map_err(|_| bad())?;
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(bad());
        }
        Ok(Self {
            process,
            at: Duration::from_secs_f64(seconds),
        })
    }
}

impl fmt::Display for KillPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job:{}@{}", self.process, self.at.as_secs_f64())
    }
}

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
    /// Job processes killed on purpose and not yet restarted.
    injected: std::collections::BTreeSet<u32>,
    restarts_left: u32,
    records: Vec<FaultRecord>,
    catching_up: Option<CatchingUp>,
}

impl Faults {
    /// A run that injects `planned` kills and restarts the job at most `max_restarts` times.
    pub fn new(planned: &[KillPlan], max_restarts: u32) -> Self {
        let mut planned = planned.to_vec();
        planned.sort_by_key(|k| k.at);
        Self {
            planned,
            injected: std::collections::BTreeSet::new(),
            restarts_left: max_restarts,
            records: Vec::new(),
            catching_up: None,
        }
    }

    /// The kills due at `elapsed` since the producers started, taken off the plan and remembered as
    /// injected.
    pub fn due(&mut self, elapsed: Duration) -> Vec<KillPlan> {
        let due = self.planned.partition_point(|k| k.at <= elapsed);
        let kills: Vec<KillPlan> = self.planned.drain(..due).collect();
        self.injected.extend(kills.iter().map(|k| k.process));
        kills
    }

    /// Whether job process `process` failed because a kill was injected (asked once per failure).
    pub fn take_injected(&mut self, process: u32) -> bool {
        self.injected.remove(&process)
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
                process: 1,
                at: Duration::from_millis(12_500)
            })
        );
        for bad in ["job1@12", "job:x@1", "job:1@", "producer:0@3", "job:1@-2"] {
            assert!(bad.parse::<KillPlan>().is_err(), "{bad}");
        }
    }

    #[test]
    fn kills_come_due_in_time_order_once() {
        let plan = ["job:0@27", "job:1@12"].map(|k| k.parse().unwrap());
        let mut faults = Faults::new(&plan, 3);
        assert!(faults.due(Duration::from_secs(5)).is_empty());
        assert_eq!(faults.due(Duration::from_secs(13))[0].process, 1);
        assert!(faults.due(Duration::from_secs(14)).is_empty());
        assert_eq!(faults.due(Duration::from_secs(30))[0].process, 0);
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
}
