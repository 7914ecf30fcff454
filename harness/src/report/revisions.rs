//! What an update-mode run's revisions were: how many, and how fresh.

use std::collections::BTreeMap;

use adstream_protocol::wire::WindowResult;
use serde::Serialize;

use crate::report::latency::{LatencyHistogram, Percentiles};

/// The revisions of an update-mode run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionFigures {
    /// Result records of every revision, the final ones included.
    pub records: u64,
    /// Records per (window, campaign): mean and largest.
    pub per_result_mean: f64,
    /// Largest number of records of one (window, campaign).
    pub per_result_max: u64,
    /// Records per window: mean.
    pub per_window_mean: f64,
    /// Largest number of records of one window.
    pub per_window_max: u64,
    /// Revisions written for a window after it had closed, for late events (the job's count).
    pub late: u64,
    /// Freshness of every record: its Kafka timestamp − the newest `produce_time` it counts, ms.
    pub freshness_ms: Percentiles,
}

impl RevisionFigures {
    /// The figures of `records` (every revision, with its Kafka timestamp in ms), `late` of them for
    /// late events.
    pub fn of(records: &[(&WindowResult, i64)], late: u64) -> Self {
        let mut per_result: BTreeMap<(u64, u32), u64> = BTreeMap::new();
        let mut per_window: BTreeMap<u64, u64> = BTreeMap::new();
        let mut freshness = LatencyHistogram::default();
        for (r, record_ms) in records {
            *per_result.entry((r.window_id, r.campaign_id)).or_default() += 1;
            *per_window.entry(r.window_id).or_default() += 1;
            freshness.record_ms((*record_ms as u64).saturating_sub(r.max_produce_time));
        }
        fn mean<K>(m: &BTreeMap<K, u64>) -> f64 {
            if m.is_empty() {
                0.0
            } else {
                m.values().sum::<u64>() as f64 / m.len() as f64
            }
        }
        Self {
            records: records.len() as u64,
            per_result_mean: mean(&per_result),
            per_result_max: per_result.values().copied().max().unwrap_or(0),
            per_window_mean: mean(&per_window),
            per_window_max: per_window.values().copied().max().unwrap_or(0),
            late,
            freshness_ms: freshness.percentiles(),
        }
    }
}
