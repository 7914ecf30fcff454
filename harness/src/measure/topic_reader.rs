//! A reader of one topic for the harness's collectors and recount: every partition from where its log
//! starts (or, for the broker probe, partition 0 from its end), in offset order
//! ([`OrderedConsumer`]), handing each record to a callback until the callback, a stop signal or a
//! deadline ends it.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
pub use adstream_kafka::ordered::Next;
use adstream_kafka::ordered::OrderedConsumer;
use adstream_kafka::settings::{consumer_config, patient_consumer_config};
use adstream_profile::profile::KafkaSection;
use rdkafka::message::BorrowedMessage;

/// How a reader waits for records the broker does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// As the job's own reader does: for readers whose receive time is measured.
    LikeTheJob,
    /// Longer per fetch, sparing the broker: for readers whose timing does not matter.
    Patient,
}

/// A reader of one topic.
pub struct TopicReader {
    consumer: OrderedConsumer,
}

impl TopicReader {
    /// Opens every partition of `topic` of the profile's broker (failing within a few seconds when no
    /// broker answers or the topic does not exist).
    pub fn open(kafka: &KafkaSection, topic: &str, wait: Wait) -> Result<Self, KafkaError> {
        let config = match wait {
            Wait::LikeTheJob => consumer_config(&kafka.connection()),
            Wait::Patient => patient_consumer_config(&kafka.connection()),
        };
        let consumer = OrderedConsumer::assign_all(&config, &kafka.bootstrap, topic)?;
        Ok(Self { consumer })
    }

    /// Partition 0 of `topic` from the end the broker reports now, read like the job reads: the
    /// broker probe's sample of the topic, which costs the broker a fraction of a full reader.
    pub fn first_partition_at_end(kafka: &KafkaSection, topic: &str) -> Result<Self, KafkaError> {
        let config = consumer_config(&kafka.connection());
        let consumer = OrderedConsumer::assign_at_reported_ends(&config, topic, &[0])?;
        Ok(Self { consumer })
    }

    /// Every partition of `topic`, read like the job reads.
    pub fn all(kafka: &KafkaSection, topic: &str) -> Result<Self, KafkaError> {
        Self::open(kafka, topic, Wait::LikeTheJob)
    }

    /// Reads every record there is now: at least to the end the broker reports, then until nothing
    /// more comes for `quiet` (the local broker reports an end below its last batch's). Whether the
    /// reported end was reached by `deadline`.
    pub fn read_all_now(
        &mut self,
        quiet: Duration,
        deadline: Instant,
        each: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<bool, KafkaError> {
        Ok(self
            .consumer
            .read_all_now(quiet, Some(deadline), each)?
            .reached_end)
    }

    /// Waits until the topic has a record, or `stop` is set; whether a record came.
    pub fn first_record(&mut self, stop: &AtomicBool) -> bool {
        self.read_until(stop, Duration::ZERO, None, |_| Next::Done)
    }

    /// How many partitions it reads.
    pub fn partitions(&self) -> u32 {
        self.consumer.partitions().len() as u32
    }

    /// Reads until `each` says [`Next::Done`], `stop` is set and nothing arrived for `quiet`, or
    /// `deadline` passes (see [`OrderedConsumer::read_until`]). Returns whether `each` finished.
    pub fn read_until(
        &mut self,
        stop: &AtomicBool,
        quiet: Duration,
        deadline: Option<Instant>,
        each: impl FnMut(&BorrowedMessage<'_>) -> Next,
    ) -> bool {
        self.consumer.read_until(stop, quiet, deadline, each)
    }
}
