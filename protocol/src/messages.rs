//! The messages a child process sends the harness: one JSON object per line on the child's stdout,
//! externally tagged by kind (`{"ready": {...}}`). The children serialise them and the harness parses
//! them with the same types, so a field renamed on one side is an error the harness names — an unknown
//! or missing field, an unknown kind — never a silent zero. Everything meant for people goes to stderr.
//!
//! Who sends what:
//! - a job worker: [`ChildMessage::Ready`] once it reads its partitions (the harness starts the
//!   producers after every worker said so), then [`ChildMessage::Progress`] about once a second;
//! - a job process: [`ChildMessage::JobSummary`] once at its end, or [`ChildMessage::PeerSilent`]
//!   before it gives up on another process of the job that went silent;
//! - a producer: [`ChildMessage::ProducerProgress`] about once a second while it sends, and
//!   [`ChildMessage::ProducerSummary`] at its end (not in a dry run, whose stdout carries the events).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// A job process's word that another process of the job went silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSilence {
    /// The process that gives up.
    pub process: u32,
    /// The silent process.
    pub peer: u32,
    /// How long it had been silent, ms.
    pub silent_ms: u64,
}

/// One line of a child's stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildMessage {
    /// A job worker has assigned its partitions and reads them.
    Ready(WorkerReady),
    /// A job worker's counts so far.
    Progress(WorkerProgress),
    /// What a job process did, at its end.
    JobSummary(JobSummary),
    /// A job process gives up on a peer process that has been silent for the liveness limit.
    PeerSilent(PeerSilence),
    /// A producer's count of events sent so far.
    ProducerProgress(ProducerProgress),
    /// What a producer did, at its end.
    ProducerSummary(ProducerSummary),
}

/// A line that is not a [`ChildMessage`]; its text names what is wrong (field, kind or syntax).
#[derive(Debug, thiserror::Error)]
#[error("{problem} in {line:?}")]
pub struct MessageError {
    /// What serde found wrong, e.g. "unknown field `processd`, expected one of …".
    pub problem: String,
    /// The line.
    pub line: String,
}

impl ChildMessage {
    /// The message on `line`.
    pub fn parse(line: &str) -> Result<Self, MessageError> {
        serde_json::from_str(line).map_err(|e| MessageError {
            problem: e.to_string(),
            line: line.to_owned(),
        })
    }

    /// The message as one line (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("messages serialise")
    }
}

/// A job worker and the partitions it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerReady {
    /// The job process.
    pub process: u32,
    /// The worker's global index.
    pub worker: u32,
    /// The partitions it reads (possibly none).
    pub partitions: Vec<i32>,
    /// Events already counted: restored from its checkpoints (0 on a first start).
    #[serde(default)]
    pub processed: u64,
}

/// A job worker's counts so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerProgress {
    /// The job process.
    pub process: u32,
    /// The worker's global index.
    pub worker: u32,
    /// Valid events counted so far.
    pub processed: u64,
    /// Results written so far.
    pub results: u64,
    /// Records read again after a restart to rebuild open windows.
    pub replayed: u64,
    /// Records rejected (dead-lettered) so far.
    #[serde(default)]
    pub rejected: u64,
    /// Events dead-lettered as late so far.
    #[serde(default)]
    pub late: u64,
    /// The event time below which the worker expects nothing more, Unix ms (`None`: not known yet,
    /// or its input is over).
    #[serde(default)]
    pub event_time_ms: Option<u64>,
    /// Checkpoints it took and stored.
    #[serde(default)]
    pub checkpoints: u64,
    /// Records in its partitions not read yet, by the ends its consumer last heard of (its consumer
    /// lag; `None` while it knows none).
    #[serde(default)]
    pub lag: Option<u64>,
    /// The windows it closed since its previous progress message, with when (Unix ms), as in
    /// [`JobCounts::closed_at_ms`].
    #[serde(default)]
    pub closed_at_ms: BTreeMap<u64, u64>,
}

/// What one job worker — or, summed with `+=`, one job process or the whole job — did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobCounts {
    /// Valid events counted in a window.
    pub processed: u64,
    /// Records rejected as bad input (sent to the dead-letter topic).
    pub rejected: u64,
    /// Events below a window already closed (sent to the dead-letter topic).
    pub late: u64,
    /// Control records applied.
    pub control: u64,
    /// Records read again after a restart, to rebuild the windows open when the job failed.
    pub replayed: u64,
    /// Result records written: one per (window, campaign) this worker owns.
    pub results: u64,
    /// The windows results were written for.
    pub windows: BTreeSet<u64>,
    /// Update mode: revisions written for a window after it had closed (for late events within the
    /// allowed lateness), final ones not counted.
    #[serde(default)]
    pub late_revisions: u64,
    /// Dead-letter or result deliveries that failed.
    pub delivery_failures: u64,
    /// When (Unix ms) a source closed each window: the time it read the record that let the window
    /// close there. Summed counts keep the latest, so a window's results are due from that moment.
    pub closed_at_ms: BTreeMap<u64, u64>,
    /// Per partition read, the offset after the last record taken, once the input is over: where a
    /// recount of what the job read stops (with producers of its own a run stops at their end
    /// markers instead).
    pub read_to: BTreeMap<i32, i64>,
}

impl std::ops::AddAssign for JobCounts {
    fn add_assign(&mut self, o: Self) {
        self.processed += o.processed;
        self.rejected += o.rejected;
        self.late += o.late;
        self.control += o.control;
        self.replayed += o.replayed;
        self.results += o.results;
        self.late_revisions += o.late_revisions;
        self.windows.extend(o.windows);
        for (window, at) in o.closed_at_ms {
            let latest = self.closed_at_ms.entry(window).or_insert(at);
            *latest = (*latest).max(at);
        }
        self.delivery_failures += o.delivery_failures;
        for (partition, offset) in o.read_to {
            let furthest = self.read_to.entry(partition).or_insert(offset);
            *furthest = (*furthest).max(offset);
        }
    }
}

/// What one job process did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSummary {
    /// The job process.
    pub process: u32,
    /// Its workers' counts, summed.
    pub counts: JobCounts,
    /// CPU seconds the process used (user + system), when known.
    pub cpu_s: Option<f64>,
}

/// A producer's count of events sent so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerProgress {
    /// The producer id.
    pub producer: u32,
    /// Events handed to the client so far (with those an earlier incarnation had stored).
    pub sent: u64,
    /// How far behind its schedule the producer's latest event was sent, ms (0 unpaced).
    #[serde(default)]
    pub behind_ms: u64,
}

/// What one producer did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSummary {
    /// The producer id.
    pub producer: u32,
    /// Events sent.
    pub events: u64,
    /// Events confirmed delivered, including those an earlier incarnation had stored.
    pub delivered: u64,
    /// Events an earlier incarnation had stored, found in the topic and not sent again (0 at a first
    /// start).
    #[serde(default)]
    pub resumed: u64,
    /// Events whose delivery failed.
    pub failed: u64,
    /// Seconds from the first send to the last delivery report.
    pub elapsed_s: f64,
    /// Events per second achieved over `elapsed_s`.
    pub rate: f64,
    /// Whether the producer followed the real-time schedule.
    pub paced: bool,
    /// Largest schedule lag in milliseconds (paced only).
    pub lag_max_ms: f64,
    /// 99th-percentile schedule lag in milliseconds (paced only).
    pub lag_p99_ms: f64,
    /// CPU seconds the producer process used (user + system), when known.
    pub cpu_s: Option<f64>,
}

/// The one-line summary a producer ends with on stderr.
impl fmt::Display for ProducerSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "producer {}: sent {} events in {:.2} s ({:.0} events/s), delivered {}, failed {}, ",
            self.producer, self.events, self.elapsed_s, self.rate, self.delivered, self.failed
        )?;
        if self.resumed > 0 {
            write!(f, "resumed with {} already stored, ", self.resumed)?;
        }
        if self.paced {
            write!(
                f,
                "schedule lag max {:.2} ms p99 {:.2} ms",
                self.lag_max_ms, self.lag_p99_ms
            )
        } else {
            f.write_str("unpaced")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_one_tagged_line() {
        let ready = ChildMessage::Ready(WorkerReady {
            process: 0,
            worker: 1,
            partitions: vec![1, 3],
            processed: 7,
        });
        let line = ready.to_line();
        assert_eq!(
            line,
            r#"{"ready":{"process":0,"worker":1,"partitions":[1,3],"processed":7}}"#
        );
        assert_eq!(ChildMessage::parse(&line).unwrap(), ready);
        let mut counts = JobCounts {
            processed: 5,
            ..JobCounts::default()
        };
        counts.windows.insert(2);
        counts.closed_at_ms.insert(2, 1_700);
        let summary = ChildMessage::JobSummary(JobSummary {
            process: 1,
            counts,
            cpu_s: Some(0.5),
        });
        assert_eq!(ChildMessage::parse(&summary.to_line()).unwrap(), summary);
    }

    #[test]
    fn a_renamed_or_missing_field_or_an_unknown_kind_is_named() {
        let renamed =
            r#"{"progress":{"process":0,"worker":0,"processd":7,"results":0,"replayed":0}}"#;
        let error = ChildMessage::parse(renamed).unwrap_err().to_string();
        assert!(error.starts_with("unknown field `processd`"), "{error}");
        let missing = r#"{"progress":{"process":0,"worker":0,"results":0,"replayed":0}}"#;
        let error = ChildMessage::parse(missing).unwrap_err().to_string();
        assert!(error.starts_with("missing field `processed`"), "{error}");
        let kind = r#"{"hello":{}}"#;
        let error = ChildMessage::parse(kind).unwrap_err().to_string();
        assert!(error.starts_with("unknown variant `hello`"), "{error}");
        assert!(ChildMessage::parse("not json").is_err());
    }

    #[test]
    fn summed_counts_keep_the_latest_close_of_each_window() {
        let mut a = JobCounts::default();
        a.closed_at_ms.insert(1, 10);
        a.processed = 2;
        let mut b = JobCounts::default();
        b.closed_at_ms.insert(1, 12);
        b.closed_at_ms.insert(2, 20);
        b.processed = 3;
        a += b;
        assert_eq!(a.processed, 5);
        assert_eq!(a.closed_at_ms, BTreeMap::from([(1, 12), (2, 20)]));
    }

    #[test]
    fn the_producer_summary_is_one_line_with_the_figures() {
        let s = ProducerSummary {
            producer: 1,
            events: 6_000,
            delivered: 6_000,
            resumed: 0,
            failed: 0,
            elapsed_s: 3.0,
            rate: 2_000.0,
            paced: true,
            lag_max_ms: 0.5,
            lag_p99_ms: 0.25,
            cpu_s: Some(1.5),
        };
        assert_eq!(
            s.to_string(),
            "producer 1: sent 6000 events in 3.00 s (2000 events/s), delivered 6000, failed 0, \
             schedule lag max 0.50 ms p99 0.25 ms"
        );
    }
}
