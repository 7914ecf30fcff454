//! Counters a worker keeps and the job reports at the end (one JSON summary line per process).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// What one worker — or, summed, one process — did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Valid events counted in a window.
    pub processed: u64,
    /// Records rejected as bad input (sent to the dead-letter topic).
    pub rejected: u64,
    /// Events below a window already closed (sent to the dead-letter topic).
    pub late: u64,
    /// Control records applied.
    pub control: u64,
    /// Result records written: one per (window, campaign) this worker owns.
    pub results: u64,
    /// The windows results were written for.
    pub windows: BTreeSet<u64>,
    /// Dead-letter or result deliveries that failed.
    pub delivery_failures: u64,
    /// When (Unix ms) this worker's source closed each window: the time it read the record that let
    /// the window close here. A window's results are due once its last source has closed it.
    pub closed_at_ms: BTreeMap<u64, u64>,
}

impl std::ops::AddAssign for Metrics {
    fn add_assign(&mut self, o: Self) {
        self.processed += o.processed;
        self.rejected += o.rejected;
        self.late += o.late;
        self.control += o.control;
        self.results += o.results;
        self.windows.extend(o.windows);
        for (window, at) in o.closed_at_ms {
            let latest = self.closed_at_ms.entry(window).or_insert(at);
            *latest = (*latest).max(at);
        }
        self.delivery_failures += o.delivery_failures;
    }
}
