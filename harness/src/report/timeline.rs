//! A run over time: what the live page shows while the run goes and `report.html` shows after it,
//! from the same data (`timeline.json` in the run's directory). Samples of cumulative counts — events
//! sent, taken and counted, the job's event time, checkpoints, CPU seconds by process — at most one
//! per [`SAMPLE_EVERY_MS`]; marks for faults and restarts; each window's latency once its results are
//! in, with the broker's and the job's share; the distribution of end-to-end latency so far. Rates are
//! differences of samples, computed where they are drawn. Times are ms since the producers started
//! (the run's time axis, as in the fault records); the clock is passed in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The least time between two samples, ms.
pub const SAMPLE_EVERY_MS: u64 = 500;

/// Cumulative figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Ms since the producers started.
    pub t_ms: u64,
    /// Events the producers sent, by their own count (`None`: producers the harness did not start).
    pub sent: Option<u64>,
    /// Events the job counted.
    pub processed: u64,
    /// Events per second the producers sent, as of their latest reports (`None`: not ours).
    pub sent_per_s: Option<f64>,
    /// Events per second the job counted, as of its workers' latest reports.
    pub processed_per_s: f64,
    /// The job's consumer lag: records in the events topic it has not read yet, by the partition
    /// ends its consumers last heard of (`None` while they know none).
    pub lag: Option<u64>,
    /// How far the job's event time is behind the wall clock, ms (`None` while it knows none).
    pub event_time_lag_ms: Option<u64>,
    /// Windows with all their final results so far.
    pub windows: u64,
    /// Checkpoints the job took.
    pub checkpoints: u64,
    /// CPU seconds used so far, by process ("job 0", "producer 1", "broker", "harness").
    pub cpu_s: BTreeMap<String, f64>,
}

/// Something that happened at one moment: drawn as a mark on the time axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Ms since the producers started.
    pub t_ms: u64,
    /// What kind: `fault` (injected), `recovered` (a fault's end), `restart`.
    pub kind: String,
    /// What, in words.
    pub label: String,
}

/// One window's latency, once results of it are in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowPoint {
    /// The window.
    pub window: u64,
    /// When its latest final result arrived, ms since the producers started.
    pub t_ms: u64,
    /// Campaigns with a final result so far.
    pub campaigns: u64,
    /// Largest end-to-end latency of its final results, ms.
    pub latency_ms: u64,
    /// The broker's delivery delay of its events (p90 of the sampled ones), ms.
    pub broker_ms: Option<u64>,
    /// The job's share: from the window's close to its last result's emission, ms.
    pub job_ms: Option<u64>,
}

/// Percentiles of end-to-end latency, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Final results so far.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// The figures a completed run's report settles: shown in place of the live tallies once it is out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settled {
    /// Events the job counted.
    pub processed: u64,
    /// Windows with results.
    pub windows: u64,
    /// End-to-end latency percentiles of the final results.
    pub latency: Quantiles,
    /// Whether the recount found every result exact.
    pub exact: bool,
    /// What the verification said, in a line.
    pub verdict: String,
}

/// A run over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// What runs: `run`, or the cell of a sweep or step of a capacity search.
    pub title: String,
    /// Where the run is (the harness's phase).
    pub phase: String,
    /// When the producers started, Unix ms (0: not yet).
    pub started_unix_ms: u64,
    /// The window size, ms.
    pub window_ms: u64,
    /// Events per second the producers are asked for, all together (`None`: not ours).
    pub offered_rate: Option<f64>,
    /// The samples, oldest first.
    pub samples: Vec<Sample>,
    /// Faults and restarts.
    pub marks: Vec<Mark>,
    /// Windows with final results, by window.
    pub windows: BTreeMap<u64, WindowPoint>,
    /// The distribution of end-to-end latency so far: (upper bound ms, final results).
    pub distribution: Vec<(f64, u64)>,
    /// Its percentiles.
    pub latency: Quantiles,
    /// Once the report is out: its figures.
    pub settled: Option<Settled>,
    /// The run's configuration (the effective profile, secrets redacted).
    pub configuration: serde_json::Value,
}

impl Timeline {
    /// Ms since the producers started, at `now_unix_ms` (0 before they started).
    pub fn at(&self, now_unix_ms: u64) -> u64 {
        match self.started_unix_ms {
            0 => 0,
            start => now_unix_ms.saturating_sub(start),
        }
    }

    /// Whether a sample is due at `t_ms`.
    pub fn sample_due(&self, t_ms: u64) -> bool {
        self.samples
            .last()
            .is_none_or(|last| t_ms >= last.t_ms + SAMPLE_EVERY_MS)
    }

    /// Adds `sample`, unless one is not due yet at its time; whether it was added.
    pub fn add(&mut self, sample: Sample) -> bool {
        if !self.sample_due(sample.t_ms) {
            return false;
        }
        self.samples.push(sample);
        true
    }

    /// Adds `sample` as the last, in place of one less than an interval before it.
    pub fn add_last(&mut self, sample: Sample) {
        if !self.sample_due(sample.t_ms) {
            self.samples.pop();
        }
        self.samples.push(sample);
    }

    /// Marks `label` of `kind` at `t_ms`.
    pub fn mark(&mut self, t_ms: u64, kind: &str, label: String) {
        self.marks.push(Mark {
            t_ms,
            kind: kind.to_owned(),
            label,
        });
    }

    /// The latest sample, if any.
    pub fn last(&self) -> Option<&Sample> {
        self.samples.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_come_at_most_every_interval_and_times_count_from_the_start() {
        let mut t = Timeline {
            started_unix_ms: 1_000,
            ..Timeline::default()
        };
        assert_eq!(t.at(500), 0, "before the start");
        assert_eq!(t.at(1_750), 750);
        let at = |t_ms| Sample {
            t_ms,
            ..Sample::default()
        };
        assert!(t.add(at(0)));
        assert!(!t.add(at(SAMPLE_EVERY_MS - 1)));
        assert!(t.add(at(SAMPLE_EVERY_MS)));
        assert_eq!(t.samples.len(), 2);
        t.mark(700, "fault", "kill job:0".into());
        let json = serde_json::to_string(&t).unwrap();
        let back: Timeline = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }
}
