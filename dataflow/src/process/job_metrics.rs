//! The job's metrics, served by each process at `metrics.job` (`--metrics-listen`): a scrape reads
//! every worker's board of the process ([`JobMetrics`], a [`Collector`]; what the boards hold is
//! described in [`crate::operators::board`]) and asks the broker for each partition's end offset to
//! state the consumer lag.

use std::sync::Arc;

use adstream_kafka::KafkaError;
use adstream_metrics::families::{Families, Labels};
use adstream_metrics::prometheus_client::collector::Collector;
use adstream_metrics::prometheus_client::encoding::DescriptorEncoder;
use adstream_profile::client::Connection;
use adstream_protocol::clock::unix_ms;

use crate::core::checkpoint::PartitionCounts;
use crate::kafka::end_offsets::EndOffsets;
use crate::operators::board::{PartitionSnapshot, WorkerBoard, WorkerSnapshot};

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
        Ok(Self {
            process,
            boards,
            ends: EndOffsets::new(kafka, events_topic)?,
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
