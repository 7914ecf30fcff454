//! One fault of a run and its recovery, as the report lists it: when it failed, was detected,
//! restarted or resumed, and caught up.

use serde::Serialize;

/// One fault of a run — a failure of a child, or a fault the run injected — and the recovery, in seconds
/// since the producers started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRecord {
    /// The child that failed, e.g. `job 1`, `producer 0` or `broker`.
    pub target: String,
    /// What happened, e.g. `signal: 9 (SIGKILL)` or `stopped (SIGSTOP) for 3.0 s`.
    pub cause: String,
    /// Whether the harness injected it (`--kill`, `--fault`).
    pub injected: bool,
    /// When it failed or was injected: an exit, a stop, or for a process that went silent the last
    /// time the harness heard from it.
    pub failed_at_s: f64,
    /// When the harness knew it had to act: at once for an exit, after the liveness limit for a
    /// silent process; `None` when nothing had to be done (a stop the run rode out).
    pub detected_at_s: Option<f64>,
    /// When the job's processes (or the producer, or the broker) were started again; `None` when
    /// nothing was restarted.
    pub restarted_at_s: Option<f64>,
    /// When a stop or a cut was over (the process continued, its packets let through again); `None`
    /// for other faults.
    pub resumed_at_s: Option<f64>,
    /// When the run was back to normal: the job had counted as many events as the producers had sent
    /// by its restart (or the end of the fault); for a producer, when it was back on its schedule.
    /// `None` if the run ended first.
    pub caught_up_at_s: Option<f64>,
    /// Records the restarted job read again (from its checkpoints' replay offsets) until it caught
    /// up (0 for a producer).
    pub events_reread: u64,
    /// The last lines the failed process wrote on stderr, to tell why it ended.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_words: String,
}

impl FaultRecord {
    /// Whether the fault was a job process's (not a producer's).
    pub fn of_job(&self) -> bool {
        self.target.starts_with("job ")
    }

    /// Seconds from the failure to catching up.
    pub fn recovery_s(&self) -> Option<f64> {
        self.caught_up_at_s.map(|t| t - self.failed_at_s)
    }
}
