//! Where a worker publishes what it keeps, for the process's metrics endpoint. Workers never touch a
//! metric while reading records: at the end of each activation the source publishes what it already
//! keeps — per partition the next offset and the counts of the checkpoint books, the event-time
//! frontier, the open and closed windows — into its [`WorkerBoard`], a copy under an uncontended lock;
//! the sink counts each result and observes its latency, a few per window. So the values are as of each
//! worker's last activation, and the last activation publishes the final ones.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use adstream_metrics::prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use crate::core::checkpoint::PartitionCounts;

/// Buckets of latencies and durations, in seconds: 1 ms doubling to about 65 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// What one worker last published of one of its partitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartitionSnapshot {
    /// The partition.
    pub partition: i32,
    /// The next offset the worker reads.
    pub next_offset: i64,
    /// Its counters.
    pub counts: PartitionCounts,
}

/// What one worker last published.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerSnapshot {
    /// Its partitions.
    pub partitions: Vec<PartitionSnapshot>,
    /// The event time below which it expects nothing more, ns (`None`: not known yet, or input over).
    pub frontier_ns: Option<u64>,
    /// Windows with partial aggregates held here.
    pub windows_open: u64,
    /// Windows closed here.
    pub windows_closed: u64,
    /// Checkpoints taken.
    pub checkpoints: u64,
    /// When the last checkpoint was taken, Unix ms.
    pub last_checkpoint_ms: Option<u64>,
}

/// Where one worker publishes its metrics.
#[derive(Debug)]
pub struct WorkerBoard {
    pub(crate) worker: u32,
    snapshot: Mutex<WorkerSnapshot>,
    results: AtomicU64,
    pub(crate) result_latency: Histogram,
    pub(crate) checkpoint_duration: Histogram,
}

impl WorkerBoard {
    /// The board of (global) worker `worker`.
    pub fn new(worker: u32) -> Self {
        Self {
            worker,
            snapshot: Mutex::new(WorkerSnapshot::default()),
            results: AtomicU64::new(0),
            result_latency: latency_buckets(),
            checkpoint_duration: latency_buckets(),
        }
    }

    /// Replaces what the worker published with what `fill` writes (into the previous snapshot, so its
    /// storage is reused).
    pub fn publish(&self, fill: impl FnOnce(&mut WorkerSnapshot)) {
        fill(&mut self.snapshot.lock().expect("metrics board lock"));
    }

    /// A result was written, `latency_ms` after the newest event of its window was produced.
    pub fn result_written(&self, latency_ms: u64) {
        self.results.fetch_add(1, Ordering::Relaxed);
        self.result_latency.observe(latency_ms as f64 / 1_000.0);
    }

    /// A checkpoint was taken at `at_ms` and took `took`.
    pub fn checkpoint_taken(&self, at_ms: u64, took: Duration) {
        self.checkpoint_duration.observe(took.as_secs_f64());
        self.publish(|s| {
            s.checkpoints += 1;
            s.last_checkpoint_ms = Some(at_ms);
        });
    }

    /// What the worker published last.
    pub fn snapshot(&self) -> WorkerSnapshot {
        self.snapshot.lock().expect("metrics board lock").clone()
    }

    /// Results written so far.
    pub fn results_written(&self) -> u64 {
        self.results.load(Ordering::Relaxed)
    }
}
