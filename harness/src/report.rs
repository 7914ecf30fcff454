//! The report of a run (SPEC §6): `report.json`, `windows.csv`, and the summary table printed at the end.

use std::fmt::Write as _;
use std::path::Path;

use adstream_common::config::Profile;
use serde::Serialize;

pub use crate::cpu_meter::CpuUse;
use serde_json::Value;

use crate::collectors::BrokerDelay;
use std::collections::BTreeMap;

use crate::latency::{LatencyHistogram, LatencyReport, Observation, Percentiles, WindowRow};
use crate::verify::Verification;

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
    pub id: u64,
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
    /// From a producer's JSON summary line.
    pub fn from_summary(summary: &Value) -> Self {
        let f = |key: &str| summary.get(key).and_then(Value::as_f64).unwrap_or(0.0);
        Self {
            id: summary.get("producer").and_then(Value::as_u64).unwrap_or(0),
            events: summary
                .get("delivered")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            achieved_rate: f("rate"),
            schedule_lag_max_ms: f("lag_max_ms"),
            schedule_lag_p99_ms: f("lag_p99_ms"),
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
}

/// `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The effective configuration.
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
}

impl Report {
    /// Assembles the report.
    pub fn new(
        configuration: Profile,
        events: EventCounts,
        latency: &LatencyReport,
        broker: &BrokerDelay,
        producers: Vec<ProducerFigures>,
        elapsed_s: f64,
        verification: Verification,
    ) -> Self {
        let windows = latency
            .windows
            .iter()
            .map(|row| WindowFigures {
                latency: row.clone(),
                broker_delay_p90_ms: broker
                    .per_window
                    .get(&row.window_id)
                    .map_or(0.0, |h| h.percentiles().p90),
                job_added_ms: None,
            })
            .collect();
        Self {
            configuration,
            events,
            latency_ms: latency.end_to_end.percentiles(),
            event_time_latency_ms: latency.event_time.percentiles(),
            broker_delay_ms: broker.overall.percentiles(),
            job_added_ms: Percentiles::default(),
            windows,
            producers,
            throughput: events.processed as f64 / elapsed_s.max(f64::MIN_POSITIVE),
            verification,
            cpu_s: CpuUse::default(),
        }
    }

    /// Adds the job's own share per window: the latest `emitted_at_ms` of the window's results minus the
    /// time its last source closed it (from the job's summaries).
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

    /// Writes `report.json` and `windows.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        let mut csv = String::from(
            "window_id,campaigns,events,max_latency_ms,avg_latency_ms,max_event_time_latency_ms,broker_delay_p90_ms,job_added_ms\n",
        );
        for w in &self.windows {
            let l = &w.latency;
            let _ = writeln!(
                csv,
                "{},{},{},{},{:.2},{},{:.2},{}",
                l.window_id,
                l.campaigns,
                l.events,
                l.max_latency_ms,
                l.avg_latency_ms,
                l.max_event_time_latency_ms,
                w.broker_delay_p90_ms,
                w.job_added_ms.map_or(String::new(), |ms| ms.to_string())
            );
        }
        std::fs::write(dir.join("windows.csv"), csv)
    }

    /// The summary table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let e = &self.events;
        let _ = writeln!(
            t,
            "events      produced {}  processed {}  rejected {}  late {}  ({:.0} events/s)",
            e.produced, e.processed, e.rejected, e.late, self.throughput
        );
        let _ = writeln!(
            t,
            "{:<22}{:>9}{:>9}{:>9}{:>9}{:>9}",
            "latency (ms)", "avg", "p50", "p90", "p99", "max"
        );
        for (name, p) in [
            ("end to end", &self.latency_ms),
            ("broker delivery", &self.broker_delay_ms),
            ("after window end", &self.event_time_latency_ms),
            ("job's own share", &self.job_added_ms),
        ] {
            let _ = writeln!(
                t,
                "{name:<22}{:>9.1}{:>9.1}{:>9.1}{:>9.1}{:>9.1}",
                p.avg, p.p50, p.p90, p.p99, p.max
            );
        }
        let c = &self.cpu_s;
        let _ = writeln!(
            t,
            "CPU (s)     job {:.1}  producers {:.1}  broker {}  harness {:.1}",
            c.job,
            c.producers,
            c.broker.map_or_else(
                || "not measured (external)".to_owned(),
                |b| format!("{b:.1}")
            ),
            c.harness
        );
        for p in &self.producers {
            let _ = writeln!(
                t,
                "producer {}  {} events at {:.0}/s, schedule lag p99 {:.2} ms, max {:.2} ms",
                p.id, p.events, p.achieved_rate, p.schedule_lag_p99_ms, p.schedule_lag_max_ms
            );
        }
        let v = &self.verification;
        let _ = write!(
            t,
            "verification {}: {} windows, {} results checked against a recount of {} events",
            if v.exact { "EXACT" } else { "FAILED" },
            v.windows_checked,
            v.results_read,
            v.events
        );
        for m in &v.mismatches {
            let _ = write!(t, "\n  mismatch: {m}");
        }
        t
    }
}
