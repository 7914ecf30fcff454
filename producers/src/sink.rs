//! Where a producer's records go: Kafka ([`crate::kafka_sink`]) or stdout for `--dry-run`
//! ([`crate::stdout_sink`]).

use adstream_protocol::wire::{EndMarker, Watermark};

/// Why a sink could not take or deliver records.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The Kafka client refused a record.
    #[error("produce to Kafka: {0}")]
    Produce(rdkafka::error::KafkaError),
    /// Stdout could not be written (a dry run's reader went away).
    #[error("write to stdout: {0}")]
    Stdout(#[from] std::io::Error),
    /// Records were still in flight when the final flush gave up.
    #[error(
        "{in_flight} records still undelivered after {timeout_s}s ({reason}); first delivery error: {first_error}"
    )]
    Undelivered {
        /// Records in flight.
        in_flight: i32,
        /// The flush's patience.
        timeout_s: u64,
        /// What the flush said.
        reason: String,
        /// The first delivery error, or "none".
        first_error: String,
    },
    /// Some records failed delivery.
    #[error(
        "{events} events and {control} control records failed delivery (first error: {first_error}); {delivered} events delivered"
    )]
    Failed {
        /// Events that failed.
        events: u64,
        /// Control records that failed.
        control: u64,
        /// The first delivery error.
        first_error: String,
        /// Events delivered.
        delivered: u64,
    },
}

/// What a sink could deliver, known once it is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Events confirmed delivered.
    pub delivered: u64,
    /// Events whose delivery failed.
    pub failed: u64,
}

/// A destination for one producer's events and control records.
pub trait Sink {
    /// Sends one event (its JSON value) with its sequence number to `partition`.
    fn event(&mut self, partition: u32, seq: u64, value: &[u8]) -> Result<(), SinkError>;
    /// Sends a watermark record to `partition`.
    fn watermark(&mut self, partition: u32, watermark: Watermark) -> Result<(), SinkError>;
    /// Sends an end marker to `partition`.
    fn end(&mut self, partition: u32, marker: EndMarker) -> Result<(), SinkError>;
    /// Called before the producer sleeps: a chance to flush buffers or serve callbacks.
    fn idle(&mut self) -> Result<(), SinkError>;
    /// Waits until everything sent is delivered or has failed.
    fn finish(&mut self) -> Result<Delivery, SinkError>;
}
