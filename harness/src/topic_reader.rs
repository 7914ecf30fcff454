//! A reader of every partition of one topic from the beginning, for the harness's collectors: it hands
//! each record to a callback until the callback or a stop signal says it is done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adstream_common::config::KafkaSection;
use adstream_common::kafka::{self, KafkaError};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};

/// What the callback wants after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep reading.
    More,
    /// Everything wanted has been read.
    Done,
}

/// Which partitions a reader takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitions {
    /// Every partition of the topic.
    All,
    /// Partition 0 only: a sample of the topic that costs the broker a fraction of a full reader.
    First,
}

/// How a reader waits for records the broker does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// As the job's own reader does (1 ms): for readers whose receive time is measured.
    LikeTheJob,
    /// Up to 100 ms per fetch: for readers whose timing does not matter. Every fetch costs the local
    /// broker CPU, which it then lacks for the job's fetches.
    Patient,
}

/// Longest fetch wait of a [`Wait::Patient`] reader, ms.
const PATIENT_FETCH_WAIT_MS: &str = "100";

/// A consumer assigned to all partitions of `topic` from the beginning, and the topic's partition count
/// (failing within a few seconds when no broker answers or the topic does not exist).
pub fn assign_all(
    kafka_section: &KafkaSection,
    topic: &str,
) -> Result<(BaseConsumer, u32), KafkaError> {
    assign(kafka_section, topic, Partitions::All, Wait::LikeTheJob)
}

/// A consumer assigned to `which` partitions of `topic` from the beginning, and how many partitions it
/// reads.
pub fn assign(
    kafka_section: &KafkaSection,
    topic: &str,
    which: Partitions,
    wait: Wait,
) -> Result<(BaseConsumer, u32), KafkaError> {
    let mut config = kafka::consumer_config(&kafka_section.bootstrap);
    if wait == Wait::Patient {
        config.set("fetch.wait.max.ms", PATIENT_FETCH_WAIT_MS);
    }
    let consumer: BaseConsumer = config
        .create()
        .map_err(KafkaError::client("create consumer"))?;
    let partitions = match which {
        Partitions::All => {
            kafka::partition_count(consumer.client(), &kafka_section.bootstrap, topic)?
        }
        Partitions::First => 1,
    };
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .map_err(KafkaError::client("assign"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(KafkaError::client("assign"))?;
    Ok((consumer, partitions))
}

/// Reads until `each` says [`Next::Done`], `stop` is set and nothing arrived for `quiet` (a quiet
/// stream after the stop signal is over), or `deadline` passes. Returns whether `each` finished.
pub fn read_until(
    consumer: &BaseConsumer,
    stop: &Arc<AtomicBool>,
    quiet: Duration,
    deadline: Option<Instant>,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> Next,
) -> bool {
    let mut last = Instant::now();
    loop {
        if deadline.is_some_and(|d| Instant::now() > d) {
            return false;
        }
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(message)) => {
                last = Instant::now();
                if each(&message) == Next::Done {
                    return true;
                }
            }
            Some(Err(_)) => {}
            None if stop.load(Ordering::Relaxed) && last.elapsed() >= quiet => return false,
            None => {}
        }
    }
}
