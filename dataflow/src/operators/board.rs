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
    /// When the worker's loop last ran, Unix ms (0: not yet).
    alive_at_ms: AtomicU64,
    /// The peer process silent the longest then, and for how many ms.
    quietest_peer: Mutex<Option<(u32, u64)>>,
    /// Whether the worker's work is done (its loop has ended on purpose).
    done: std::sync::atomic::AtomicBool,
}

/// How often a worker says it is alive on its board (from its loop, which runs far more often).
pub const ALIVE_EVERY: Duration = Duration::from_millis(100);

impl WorkerBoard {
    /// The board of (global) worker `worker`.
    pub fn new(worker: u32) -> Self {
        Self {
            worker,
            snapshot: Mutex::new(WorkerSnapshot::default()),
            results: AtomicU64::new(0),
            result_latency: latency_buckets(),
            checkpoint_duration: latency_buckets(),
            alive_at_ms: AtomicU64::new(0),
            quietest_peer: Mutex::new(None),
            done: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The worker's work is done: its loop no longer runs, and that is no sign of trouble.
    pub fn done(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    /// The worker's loop ran at `now_ms`; `quietest_peer` is the peer process silent the longest,
    /// with how long in ms.
    pub fn alive(&self, now_ms: u64, quietest_peer: Option<(u32, u64)>) {
        self.alive_at_ms.store(now_ms, Ordering::Relaxed);
        *self.quietest_peer.lock().expect("metrics board lock") = quietest_peer;
    }

    /// Whether the worker is live at `now_ms`: its loop ran and every peer spoke within `within_ms`.
    /// A worker that has not started its loop yet is live.
    pub fn health(&self, now_ms: u64, within_ms: u64) -> Result<(), String> {
        if self.done.load(Ordering::Relaxed) {
            return Ok(());
        }
        let alive_at = self.alive_at_ms.load(Ordering::Relaxed);
        if alive_at > 0 && now_ms.saturating_sub(alive_at) > within_ms {
            return Err(format!(
                "worker {} has not run for {} ms",
                self.worker,
                now_ms - alive_at
            ));
        }
        match *self.quietest_peer.lock().expect("metrics board lock") {
            Some((peer, silent_ms)) if silent_ms > within_ms => Err(format!(
                "job process {peer} has sent worker {} nothing for {silent_ms} ms",
                self.worker
            )),
            _ => Ok(()),
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
