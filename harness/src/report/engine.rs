//! What a run of another engine adds to its report: which job it was, when it read and first
//! answered, what its whole process tree cost, and the latency of its answers measured two ways — the
//! record that first carried each (window, campaign)'s final figures (the report's main latency, as
//! for adstream's one record per key) and each key's last record (an engine that writes revisions
//! may repeat itself after it had the answer).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::latency::{LatencyReport, Observation, Percentiles};

/// `report.json`'s `engine`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineFigures {
    /// The reference engine's name, or `job` for a command of the user's.
    pub name: String,
    /// The shell command the harness ran.
    pub command: String,
    /// Seconds from its start to its ready line.
    pub ready_after_s: f64,
    /// Seconds from the start of the producers' schedule to its first result record.
    pub first_result_after_s: Option<f64>,
    /// Seconds from the start of the producers' schedule to its last answer the run waited for.
    pub run_s: f64,
    /// The largest resident memory of its process tree, MiB.
    pub peak_memory_mib: f64,
    /// Result records it wrote.
    pub records: u64,
    /// End-to-end latency of each key's last record.
    pub last_record_latency_ms: Percentiles,
}

/// Splits an engine's records, in the order they arrived, into the record of each key that first
/// carried the key's final figures (those of its last record) and each key's last record.
pub fn answer_observations(records: &[Observation]) -> (Vec<Observation>, Vec<Observation>) {
    let mut last: BTreeMap<(u64, u32), &Observation> = BTreeMap::new();
    for o in records {
        last.insert((o.window_id, o.campaign_id), o);
    }
    let mut first_final: BTreeMap<(u64, u32), &Observation> = BTreeMap::new();
    for o in records {
        let key = (o.window_id, o.campaign_id);
        let answer = last[&key];
        if (o.count, o.max_produce_time) == (answer.count, answer.max_produce_time) {
            first_final.entry(key).or_insert(o);
        }
    }
    (
        first_final.into_values().cloned().collect(),
        last.into_values().cloned().collect(),
    )
}

/// The percentiles of each key's last record's latency.
pub fn last_record_latency(last: &[Observation]) -> Percentiles {
    LatencyReport::of(last).end_to_end.percentiles()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(window_id: u64, count: u64, record_ms: i64) -> Observation {
        Observation {
            window_id,
            campaign_id: 1,
            count,
            record_ms,
            max_produce_time: 100,
            emitted_at_ms: 0,
            window_end_ms: 0,
        }
    }

    #[test]
    fn the_first_record_with_the_final_figures_and_the_last_are_told_apart() {
        let records = [
            record(0, 3, 110),
            record(0, 5, 120),
            record(1, 2, 130),
            record(0, 5, 150),
        ];
        let (first_final, last) = answer_observations(&records);
        let at = |v: &[Observation]| v.iter().map(|o| o.record_ms).collect::<Vec<_>>();
        assert_eq!(at(&first_final), [120, 130]);
        assert_eq!(at(&last), [150, 130]);
        // The histogram keeps three significant digits.
        assert!((last_record_latency(&last).max - 50.0).abs() < 0.1);
    }
}
