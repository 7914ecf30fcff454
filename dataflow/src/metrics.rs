//! The job's metrics (SPEC §11), served by each process at `metrics.job` (`--metrics-listen`).
//!
//! Workers never touch a metric while reading records. At the end of each activation the source
//! publishes what it already keeps — per partition the next offset and the counts of the checkpoint
//! books, the event-time frontier, the open and closed windows — into its [`WorkerBoard`], a copy under
//! an uncontended lock; the sink counts each result and observes its latency, a few per window. A
//! scrape reads every board of the process ([`JobMetrics`], a [`Collector`]) and asks the broker for
//! each partition's end offset to state the consumer lag. So the values are as of each worker's last
//! activation, and the last activation publishes the final ones.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::settings::{Connection, consumer_config};
use adstream_metrics::families::{Families, Labels};
use adstream_metrics::prometheus_client::collector::Collector;
use adstream_metrics::prometheus_client::encoding::DescriptorEncoder;
use adstream_metrics::prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use adstream_protocol::clock::unix_ms;
use rdkafka::consumer::{BaseConsumer, Consumer as _};

use crate::checkpoint::PartitionCounts;

/// How long a scrape waits for the broker to state one partition's end offset.
const END_OFFSET_TIMEOUT: Duration = Duration::from_secs(1);

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
    worker: u32,
    snapshot: Mutex<WorkerSnapshot>,
    results: AtomicU64,
    result_latency: Histogram,
    checkpoint_duration: Histogram,
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

/// The broker's end offsets of the events topic, asked at scrape time.
struct EndOffsets {
    consumer: Mutex<BaseConsumer>,
    topic: String,
}

impl EndOffsets {
    /// The end offset the broker states for `partition`, or `None` when it does not answer in time.
    fn of(&self, partition: i32) -> Option<i64> {
        let consumer = self.consumer.lock().expect("end offsets lock");
        consumer
            .fetch_watermarks(&self.topic, partition, END_OFFSET_TIMEOUT)
            .ok()
            .map(|(_, high)| high)
    }
}

/// The metrics of one job process: every worker's board, and the broker's end offsets for the lag.
pub struct JobMetrics {
    process: u32,
    boards: Vec<Arc<WorkerBoard>>,
    ends: EndOffsets,
}

impl std::fmt::Debug for JobMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobMetrics")
            .field("process", &self.process)
            .field("boards", &self.boards)
            .finish_non_exhaustive()
    }
}

impl JobMetrics {
    /// The metrics of process `process` whose workers publish on `boards`, reading `events_topic`.
    pub fn new(
        process: u32,
        boards: Vec<Arc<WorkerBoard>>,
        kafka: &Connection,
        events_topic: &str,
    ) -> Result<Self, KafkaError> {
        let consumer = consumer_config(kafka)
            .create()
            .map_err(KafkaError::client("create consumer for end offsets"))?;
        Ok(Self {
            process,
            boards,
            ends: EndOffsets {
                consumer: Mutex::new(consumer),
                topic: events_topic.to_owned(),
            },
        })
    }
}

fn partition_labels(p: &PartitionSnapshot) -> Labels {
    vec![("partition", p.partition.to_string())]
}

impl Collector for JobMetrics {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let now_ms = unix_ms();
        let workers: Vec<(&WorkerBoard, WorkerSnapshot)> = self
            .boards
            .iter()
            .map(|b| (b.as_ref(), b.snapshot()))
            .collect();
        let partitions: Vec<PartitionSnapshot> = workers
            .iter()
            .flat_map(|(_, s)| s.partitions.iter().copied())
            .collect();
        let worker_labels = |board: &WorkerBoard| vec![("worker", board.worker.to_string())];
        let per_partition = |count: fn(&PartitionCounts) -> u64| {
            partitions
                .iter()
                .map(move |p| (partition_labels(p), count(&p.counts)))
        };
        let mut f = Families::new(encoder);
        f.gauge(
            "adstream_job_process",
            "This job process's index in the hostfile",
            [(vec![], f64::from(self.process))],
        )?;
        f.counter(
            "adstream_job_events_processed",
            "Valid events counted in a window, per partition",
            per_partition(|c| c.processed),
        )?;
        f.counter(
            "adstream_job_events_rejected",
            "Records rejected to the dead-letter topic, per partition",
            per_partition(|c| c.rejected),
        )?;
        f.counter(
            "adstream_job_events_late",
            "Events for windows already closed, sent to the dead-letter topic, per partition",
            per_partition(|c| c.late),
        )?;
        f.counter(
            "adstream_job_control_records",
            "Watermark and end records applied, per partition",
            per_partition(|c| c.control),
        )?;
        f.gauge(
            "adstream_job_next_offset",
            "The next offset the job reads, per partition",
            partitions
                .iter()
                .map(|p| (partition_labels(p), p.next_offset as f64)),
        )?;
        f.gauge(
            "adstream_job_consumer_lag",
            "Records behind: the broker's end offset minus the next offset read, per partition \
             (absent when the broker does not answer)",
            partitions.iter().filter_map(|p| {
                let end = self.ends.of(p.partition)?;
                Some((partition_labels(p), (end - p.next_offset).max(0) as f64))
            }),
        )?;
        f.gauge(
            "adstream_job_event_time_frontier_seconds",
            "The event time below which the worker expects nothing more, Unix seconds",
            workers
                .iter()
                .filter_map(|(b, s)| Some((worker_labels(b), s.frontier_ns? as f64 / 1e9))),
        )?;
        f.gauge(
            "adstream_job_event_time_lag_seconds",
            "How far the event-time frontier is behind the wall clock, seconds",
            workers.iter().filter_map(|(b, s)| {
                let frontier_ms = s.frontier_ns? / 1_000_000;
                Some((
                    worker_labels(b),
                    now_ms.saturating_sub(frontier_ms) as f64 / 1e3,
                ))
            }),
        )?;
        f.gauge(
            "adstream_job_windows_open",
            "Windows with partial aggregates held by the worker",
            workers
                .iter()
                .map(|(b, s)| (worker_labels(b), s.windows_open as f64)),
        )?;
        f.counter(
            "adstream_job_windows_closed",
            "Windows the worker closed and released",
            workers
                .iter()
                .map(|(b, s)| (worker_labels(b), s.windows_closed)),
        )?;
        f.counter(
            "adstream_job_results_written",
            "Result records written to the results topic",
            workers
                .iter()
                .map(|(b, _)| (worker_labels(b), b.results_written())),
        )?;
        f.histogram(
            "adstream_job_result_latency_seconds",
            "From the newest event's produce time in a window to its result being written, seconds",
            workers
                .iter()
                .map(|(b, _)| (worker_labels(b), &b.result_latency)),
        )?;
        f.counter(
            "adstream_job_checkpoints",
            "Checkpoints taken",
            workers
                .iter()
                .map(|(b, s)| (worker_labels(b), s.checkpoints)),
        )?;
        f.histogram(
            "adstream_job_checkpoint_duration_seconds",
            "How long taking and storing a checkpoint took, seconds",
            workers
                .iter()
                .map(|(b, _)| (worker_labels(b), &b.checkpoint_duration)),
        )?;
        f.gauge(
            "adstream_job_checkpoint_age_seconds",
            "Time since the worker's last checkpoint, seconds (absent before the first)",
            workers.iter().filter_map(|(b, s)| {
                let at = s.last_checkpoint_ms?;
                Some((worker_labels(b), now_ms.saturating_sub(at) as f64 / 1e3))
            }),
        )?;
        Ok(())
    }
}
