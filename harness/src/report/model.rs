//! The model of a run's report (ARCHITECTURE.md, "A run") — what `report.json` holds — assembled
//! from what the experiment measured. Plain data: the files and the table are made from it in
//! [`super::files`] and [`super::table`].

use std::collections::BTreeMap;

use adstream_profile::profile::Profile;
use adstream_protocol::exactness::Verification;
use adstream_protocol::messages::{JobSummary, ProducerSummary};
use serde::Serialize;

use crate::report::latency::{
    BrokerDelay, LatencyHistogram, LatencyReport, Observation, Percentiles, WindowRow,
};
pub use crate::report::revisions::RevisionFigures;

/// Event counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// Delivered by the producers.
    pub produced: u64,
    /// Counted in a window by the job.
    pub processed: u64,
    /// Rejected as bad input.
    pub rejected: u64,
    /// Late.
    pub late: u64,
}

/// One producer's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProducerFigures {
    /// Its id.
    pub id: u32,
    /// Events it delivered.
    pub events: u64,
    /// Events per second it achieved.
    pub achieved_rate: f64,
    /// Largest schedule lag, ms.
    pub schedule_lag_max_ms: f64,
    /// 99th-percentile schedule lag, ms.
    pub schedule_lag_p99_ms: f64,
}

impl ProducerFigures {
    /// From a producer's summary.
    pub fn from_summary(summary: &ProducerSummary) -> Self {
        Self {
            id: summary.producer,
            events: summary.delivered,
            achieved_rate: summary.rate,
            schedule_lag_max_ms: summary.lag_max_ms,
            schedule_lag_p99_ms: summary.lag_p99_ms,
        }
    }
}

/// One window's row: the latency table plus the broker's delay for its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowFigures {
    /// Latency figures.
    #[serde(flatten)]
    pub latency: WindowRow,
    /// The broker's p90 delivery delay of the window's sampled events, ms.
    pub broker_delay_p90_ms: f64,
    /// The job's own share: the window's last emission − when its last source closed it, ms.
    pub job_added_ms: Option<u64>,
    /// Whether the window spanned a job failure: its results were written after the failure and its
    /// time began before the restarted job had caught up.
    pub disturbed: bool,
}

/// CPU seconds (user + system) used during a run, per part.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuUse {
    /// All job processes together.
    pub job: f64,
    /// All producers together.
    pub producers: f64,
    /// The broker, when the harness started it (an external broker's CPU is not visible to it).
    pub broker: Option<f64>,
    /// The harness itself during the run: its collectors, the probe and the progress it reads.
    pub harness: f64,
    /// After the run: the harness's verification recount and the broker serving it, apart from the
    /// run's own cost above.
    pub verification: Spent,
}

/// CPU seconds the harness and the broker used over a stretch of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spent {
    /// The harness.
    pub harness: f64,
    /// The broker, when the harness started it.
    pub broker: Option<f64>,
}

/// What the children of a completed run said in their summaries, as written to `summary.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// Events the producers had delivered.
    pub produced: u64,
    /// Events the job counted.
    pub processed: u64,
    /// Records the job rejected.
    pub rejected: u64,
    /// Late records.
    pub late: u64,
    /// Result records written.
    pub results: u64,
    /// Update mode: revisions written for windows already closed (late events).
    pub late_revisions: u64,
    /// Windows with results.
    pub windows: u64,
    /// Each producer's summary.
    pub producers: Vec<ProducerSummary>,
    /// Each local job process's summary.
    pub job: Vec<JobSummary>,
    /// Per window, when its last source closed it (Unix ms).
    pub closed_at_ms: BTreeMap<u64, u64>,
    /// Job processes started by hand on other hosts: their counts are not in this summary.
    pub remote_processes: u32,
    /// Per partition, the offset after the last record the job read (local processes).
    pub read_to: BTreeMap<i32, i64>,
}

impl RunSummary {
    /// Sums the children's summaries.
    pub fn of(
        producers: Vec<ProducerSummary>,
        job: Vec<JobSummary>,
        remote_processes: u32,
    ) -> Self {
        let mut counts = adstream_protocol::messages::JobCounts::default();
        for process in &job {
            counts += process.counts.clone();
        }
        Self {
            produced: producers.iter().map(|p| p.delivered).sum(),
            processed: counts.processed,
            rejected: counts.rejected,
            late: counts.late,
            results: counts.results,
            late_revisions: counts.late_revisions,
            windows: counts.windows.len() as u64,
            producers,
            job,
            closed_at_ms: counts.closed_at_ms,
            remote_processes,
            read_to: counts.read_to,
        }
    }

    /// Whether the job counted every delivered event (known only when every job process ran here and
    /// the producers were ours; otherwise the recount is what checks it).
    pub fn counted_all(&self) -> bool {
        self.remote_processes > 0 || self.producers.is_empty() || self.processed == self.produced
    }

    /// The run's event counts.
    pub fn event_counts(&self) -> EventCounts {
        EventCounts {
            produced: self.produced,
            processed: self.processed,
            rejected: self.rejected,
            late: self.late,
        }
    }

    /// Each producer's figures, from its summary.
    pub fn producer_figures(&self) -> Vec<ProducerFigures> {
        self.producers
            .iter()
            .map(ProducerFigures::from_summary)
            .collect()
    }

    /// The CPU the children reported, job and producers apart.
    pub fn cpu_of_children(&self) -> CpuUse {
        CpuUse {
            job: self.job.iter().filter_map(|s| s.cpu_s).sum(),
            producers: self.producers.iter().filter_map(|s| s.cpu_s).sum(),
            ..CpuUse::default()
        }
    }
}

pub use crate::report::fault_record::FaultRecord;

/// What an experiment measured, from which its report is assembled.
#[derive(Debug, Clone)]
pub struct Measured<'a> {
    /// The effective configuration, its secret client properties redacted.
    pub configuration: Profile,
    /// Event counts.
    pub events: EventCounts,
    /// Latency of the result records.
    pub latency: &'a LatencyReport,
    /// The broker's delay of the events.
    pub broker: &'a BrokerDelay,
    /// Per producer.
    pub producers: Vec<ProducerFigures>,
    /// Seconds from the first producer's start to the job's exit.
    pub elapsed_s: f64,
    /// Exactness.
    pub verification: Verification,
}

/// `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The effective configuration, its secret client properties redacted.
    pub configuration: Profile,
    /// Event counts.
    pub events: EventCounts,
    /// End-to-end latency over result records (Kafka timestamp − max_produce_time).
    pub latency_ms: Percentiles,
    /// Event-time latency over result records (emission − window end).
    pub event_time_latency_ms: Percentiles,
    /// The broker's delivery delay of the events (receive − produce time, sampled).
    pub broker_delay_ms: Percentiles,
    /// The job's own share per window: last emission − when the window's last source closed it.
    pub job_added_ms: Percentiles,
    /// Per window.
    pub windows: Vec<WindowFigures>,
    /// Per producer.
    pub producers: Vec<ProducerFigures>,
    /// Events processed per second of the run (first send to the job's exit).
    pub throughput: f64,
    /// Exactness.
    pub verification: Verification,
    /// CPU seconds used during the run.
    pub cpu_s: CpuUse,
    /// Every failure of the job and its recovery.
    pub faults: Vec<FaultRecord>,
    /// End-to-end latency of the windows no failure touched (only when there were failures).
    pub latency_undisturbed_ms: Option<Percentiles>,
    /// End-to-end latency of the windows that spanned a failure or its recovery.
    pub latency_disturbed_ms: Option<Percentiles>,
    /// Update output mode: the revisions written and how fresh they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revisions: Option<RevisionFigures>,
    /// Another engine's run: what it was and what it cost (its process tree's CPU is `cpu_s.job`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::report::engine::EngineFigures>,
}

impl Report {
    /// Assembles the report of what was measured.
    pub fn new(m: Measured<'_>) -> Self {
        let windows = m
            .latency
            .windows
            .iter()
            .map(|row| WindowFigures {
                latency: row.clone(),
                broker_delay_p90_ms: m
                    .broker
                    .per_window
                    .get(&row.window_id)
                    .map_or(0.0, |h| h.percentiles().p90),
                job_added_ms: None,
                disturbed: false,
            })
            .collect();
        Self {
            configuration: Profile {
                kafka: m.configuration.kafka.redacted(),
                ..m.configuration
            },
            events: m.events,
            latency_ms: m.latency.end_to_end.percentiles(),
            event_time_latency_ms: m.latency.event_time.percentiles(),
            broker_delay_ms: m.broker.overall.percentiles(),
            job_added_ms: Percentiles::default(),
            windows,
            producers: m.producers,
            throughput: m.events.processed as f64 / m.elapsed_s.max(f64::MIN_POSITIVE),
            verification: m.verification,
            cpu_s: CpuUse::default(),
            faults: Vec::new(),
            latency_undisturbed_ms: None,
            latency_disturbed_ms: None,
            revisions: None,
            engine: None,
        }
    }

    /// Adds the run's failures: marks the windows that spanned a failure — results written after
    /// it, time begun before the job had caught up — and gives their latency apart from the
    /// others'. `started_unix_ms` is when the producers started, the origin of the records' times.
    pub fn add_faults(
        &mut self,
        faults: Vec<FaultRecord>,
        started_unix_ms: u64,
        observations: &[Observation],
    ) {
        if faults.is_empty() {
            return;
        }
        let at = |s: f64| started_unix_ms + (s * 1_000.0) as u64;
        let spans: Vec<(u64, u64)> = faults
            .iter()
            .map(|f| (at(f.failed_at_s), f.caught_up_at_s.map_or(u64::MAX, at)))
            .collect();
        let mut disturbed = std::collections::BTreeSet::new();
        // A window spans a failure when its results were written after the job failed and its time
        // began before the job had caught up again.
        for o in observations {
            let start = o.window_end_ms.saturating_sub(self.window_ms());
            let written = u64::try_from(o.record_ms).unwrap_or(0);
            if spans
                .iter()
                .any(|&(from, to)| written >= from && start <= to)
            {
                disturbed.insert(o.window_id);
            }
        }
        let (mut calm, mut hit) = (LatencyHistogram::default(), LatencyHistogram::default());
        for o in observations {
            let histogram = if disturbed.contains(&o.window_id) {
                &mut hit
            } else {
                &mut calm
            };
            histogram.record_ms(o.latency_ms());
        }
        for w in &mut self.windows {
            w.disturbed = disturbed.contains(&w.latency.window_id);
        }
        self.latency_undisturbed_ms = Some(calm.percentiles());
        self.latency_disturbed_ms = Some(hit.percentiles());
        self.faults = faults;
    }

    /// The window size in ms, from the configuration.
    fn window_ms(&self) -> u64 {
        self.configuration.window.size * 1_000
    }

    /// Adds the job's own share per window: the latest `emitted_at_ms` of the window's results
    /// minus the time its last source closed it (from the job's summaries).
    pub fn add_job_share(
        &mut self,
        observations: &[Observation],
        closed_at_ms: &BTreeMap<u64, u64>,
    ) {
        let mut emitted: BTreeMap<u64, u64> = BTreeMap::new();
        for o in observations {
            let latest = emitted.entry(o.window_id).or_insert(o.emitted_at_ms);
            *latest = (*latest).max(o.emitted_at_ms);
        }
        let mut histogram = LatencyHistogram::default();
        for w in &mut self.windows {
            let window = w.latency.window_id;
            if let (Some(emitted), Some(closed)) = (emitted.get(&window), closed_at_ms.get(&window))
            {
                let share = emitted.saturating_sub(*closed);
                w.job_added_ms = Some(share);
                histogram.record_ms(share);
            }
        }
        self.job_added_ms = histogram.percentiles();
    }
}
