//! Latency statistics of a run, kept free of I/O: per result record, end-to-end latency (its Kafka
//! timestamp − the window's `max_produce_time`, as the seed measures it) and event-time latency (its
//! emission − the window's end); percentiles with HdrHistogram; a per-window table.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The broker's delivery delay of the events (receive time − `produce_time` of sampled events),
/// overall and per window: what the broker costs, told apart from what the job adds.
#[derive(Debug, Clone, Default)]
pub struct BrokerDelay {
    /// Over the whole run.
    pub overall: LatencyHistogram,
    /// The same per window.
    pub per_window: BTreeMap<u64, LatencyHistogram>,
}

/// One result record as the collector saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The window.
    pub window_id: u64,
    /// The campaign.
    pub campaign_id: u32,
    /// Events in the result.
    pub count: u64,
    /// The record's Kafka timestamp (Unix ms): when the job handed it to the broker.
    pub record_ms: i64,
    /// The result's `max_produce_time` (Unix ms).
    pub max_produce_time: u64,
    /// The result's `emitted_at_ms`.
    pub emitted_at_ms: u64,
    /// The result's `window_end_ms`.
    pub window_end_ms: u64,
}

impl Observation {
    /// End-to-end latency in ms (never negative: clocks are one machine's).
    pub fn latency_ms(&self) -> u64 {
        u64::try_from(self.record_ms)
            .unwrap_or(0)
            .saturating_sub(self.max_produce_time)
    }

    /// Event-time latency in ms: emission − window end.
    pub fn event_time_latency_ms(&self) -> u64 {
        self.emitted_at_ms.saturating_sub(self.window_end_ms)
    }
}

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// A latency histogram in microseconds, 1 µs to an hour, 3 significant digits.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"))
    }
}

impl LatencyHistogram {
    /// Records a latency in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.max(1));
    }

    /// Records a latency in milliseconds.
    pub fn record_ms(&mut self, ms: u64) {
        self.record_us(ms.saturating_mul(1_000));
    }

    /// Its percentiles in milliseconds.
    pub fn percentiles(&self) -> Percentiles {
        if self.0.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        Percentiles {
            count: self.0.len(),
            avg: self.0.mean() / 1_000.0,
            p50: ms(self.0.value_at_quantile(0.50)),
            p90: ms(self.0.value_at_quantile(0.90)),
            p99: ms(self.0.value_at_quantile(0.99)),
            max: ms(self.0.max()),
        }
    }

    /// (upper bound ms, count) buckets for a distribution plot, in `buckets` equal steps up to the max.
    pub fn buckets(&self, buckets: u64) -> Vec<(f64, u64)> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let step = (self.0.max() / buckets.max(1)).max(1);
        self.0
            .iter_linear(step)
            .map(|v| {
                (
                    v.value_iterated_to() as f64 / 1_000.0,
                    v.count_since_last_iteration(),
                )
            })
            .collect()
    }
}

/// One row of the per-window table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowRow {
    /// The window.
    pub window_id: u64,
    /// Campaigns with results.
    pub campaigns: u64,
    /// Events in its results.
    pub events: u64,
    /// Largest end-to-end latency of its results, ms.
    pub max_latency_ms: u64,
    /// Mean end-to-end latency of its results, ms.
    pub avg_latency_ms: f64,
    /// Largest event-time latency (emission − window end), ms.
    pub max_event_time_latency_ms: u64,
}

/// Everything the collector saw, summarised.
#[derive(Debug, Clone, Default)]
pub struct LatencyReport {
    /// End-to-end latency over result records.
    pub end_to_end: LatencyHistogram,
    /// Event-time latency over result records.
    pub event_time: LatencyHistogram,
    /// Per window, in window order.
    pub windows: Vec<WindowRow>,
}

impl LatencyReport {
    /// Summarises `observations`.
    pub fn of(observations: &[Observation]) -> Self {
        let mut report = Self::default();
        let mut by_window: BTreeMap<u64, Vec<&Observation>> = BTreeMap::new();
        for o in observations {
            report.end_to_end.record_ms(o.latency_ms());
            report.event_time.record_ms(o.event_time_latency_ms());
            by_window.entry(o.window_id).or_default().push(o);
        }
        report.windows = by_window
            .into_iter()
            .map(|(window_id, os)| WindowRow {
                window_id,
                campaigns: os.len() as u64,
                events: os.iter().map(|o| o.count).sum(),
                max_latency_ms: os.iter().map(|o| o.latency_ms()).max().unwrap_or(0),
                avg_latency_ms: os.iter().map(|o| o.latency_ms() as f64).sum::<f64>()
                    / os.len() as f64,
                max_event_time_latency_ms: os
                    .iter()
                    .map(|o| o.event_time_latency_ms())
                    .max()
                    .unwrap_or(0),
            })
            .collect();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(window_id: u64, campaign_id: u32, record_ms: i64, max_produce_time: u64) -> Observation {
        Observation {
            window_id,
            campaign_id,
            count: 10,
            record_ms,
            max_produce_time,
            emitted_at_ms: record_ms as u64 - 1,
            window_end_ms: 1_000 * (window_id + 1),
        }
    }

    #[test]
    fn latency_is_record_time_minus_max_produce_time() {
        let o = obs(0, 1, 1_012, 1_000);
        assert_eq!(o.latency_ms(), 12);
        assert_eq!(o.event_time_latency_ms(), 11);
        assert_eq!(obs(0, 1, 990, 1_000).latency_ms(), 0, "never negative");
    }

    #[test]
    fn percentiles_and_windows() {
        let observations: Vec<Observation> = (1..=100)
            .map(|i| obs(i / 50, (i % 10) as u32 + 1, 5_000 + i as i64, 5_000))
            .collect();
        let report = LatencyReport::of(&observations);
        let p = report.end_to_end.percentiles();
        assert_eq!(p.count, 100);
        assert!((p.avg - 50.5).abs() < 0.1, "{p:?}");
        assert!((p.p50 - 50.0).abs() < 0.1, "{p:?}");
        assert!((p.p90 - 90.0).abs() < 0.1, "{p:?}");
        assert!((p.p99 - 99.0).abs() < 0.1, "{p:?}");
        assert!((p.max - 100.0).abs() < 0.1, "{p:?}");
        let windows: Vec<(u64, u64, u64)> = report
            .windows
            .iter()
            .map(|w| (w.window_id, w.campaigns, w.max_latency_ms))
            .collect();
        assert_eq!(windows, [(0, 49, 49), (1, 50, 99), (2, 1, 100)]);
        assert_eq!(report.windows[0].events, 490);
        let total: u64 = report.end_to_end.buckets(20).iter().map(|(_, n)| n).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn an_empty_run_has_zero_percentiles() {
        assert_eq!(
            LatencyReport::of(&[]).end_to_end.percentiles(),
            Percentiles::default()
        );
    }
}
