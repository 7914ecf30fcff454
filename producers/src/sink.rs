//! Where a producer's records go: Kafka ([`crate::kafka_sink`]) or stdout for `--dry-run`
//! ([`crate::stdout_sink`]).

use adstream_protocol::wire::{EndMarker, Watermark};

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
    fn event(&mut self, partition: u32, seq: u64, value: &[u8]) -> anyhow::Result<()>;
    /// Sends a watermark record to `partition`.
    fn watermark(&mut self, partition: u32, watermark: Watermark) -> anyhow::Result<()>;
    /// Sends an end marker to `partition`.
    fn end(&mut self, partition: u32, marker: EndMarker) -> anyhow::Result<()>;
    /// Called before the producer sleeps: a chance to flush buffers or serve callbacks.
    fn idle(&mut self) -> anyhow::Result<()>;
    /// Waits until everything sent is delivered or has failed.
    fn finish(&mut self) -> anyhow::Result<Delivery>;
}
