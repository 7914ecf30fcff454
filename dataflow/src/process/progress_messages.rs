//! A worker's progress messages to the harness, about once a second: its counts, its source's
//! vitals (event time, checkpoints, consumer lag), and the windows it closed since its previous
//! message — each closed window is told once (a source closes its windows in order).

use std::collections::BTreeMap;

use adstream_protocol::messages::{JobCounts, WorkerProgress};

use crate::operators::source::Vitals;

/// The progress messages of one worker.
#[derive(Debug)]
pub struct ProgressMessages {
    process: u32,
    worker: u32,
    /// The last window told closed.
    told_closed: Option<u64>,
}

impl ProgressMessages {
    /// The messages of (global) worker `worker` of job process `process`.
    pub fn new(process: u32, worker: u32) -> Self {
        Self {
            process,
            worker,
            told_closed: None,
        }
    }

    /// The next message, from the worker's `counts` and its source's `vitals`.
    pub fn next(&mut self, counts: &JobCounts, vitals: Vitals) -> WorkerProgress {
        let closed = match self.told_closed {
            Some(told) => counts.closed_at_ms.range(told + 1..),
            None => counts.closed_at_ms.range(..),
        };
        let closed_at_ms: BTreeMap<u64, u64> = closed.map(|(&w, &at)| (w, at)).collect();
        self.told_closed = closed_at_ms
            .keys()
            .next_back()
            .copied()
            .or(self.told_closed);
        WorkerProgress {
            process: self.process,
            worker: self.worker,
            processed: counts.processed,
            results: counts.results,
            replayed: counts.replayed,
            rejected: counts.rejected,
            late: counts.late,
            event_time_ms: vitals.event_time_ms,
            checkpoints: vitals.checkpoints,
            lag: vitals.lag,
            closed_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_closed_window_is_told_once() {
        let mut messages = ProgressMessages::new(1, 3);
        let mut counts = JobCounts::default();
        counts.closed_at_ms.insert(0, 100);
        let vitals = Vitals {
            event_time_ms: Some(5),
            checkpoints: 2,
            lag: Some(7),
        };
        let first = messages.next(&counts, vitals);
        assert_eq!((first.process, first.worker), (1, 3));
        assert_eq!(first.closed_at_ms, BTreeMap::from([(0, 100)]));
        assert_eq!(
            (first.event_time_ms, first.checkpoints, first.lag),
            (Some(5), 2, Some(7))
        );
        assert!(messages.next(&counts, vitals).closed_at_ms.is_empty());
        counts.closed_at_ms.insert(1, 200);
        counts.closed_at_ms.insert(2, 300);
        let third = messages.next(&counts, vitals);
        assert_eq!(third.closed_at_ms, BTreeMap::from([(1, 200), (2, 300)]));
    }
}
