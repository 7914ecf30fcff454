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

/// A consumer assigned to all partitions of `topic` from the beginning, and the topic's partition count
/// (failing within a few seconds when no broker answers or the topic does not exist).
pub fn assign_all(
    kafka_section: &KafkaSection,
    topic: &str,
) -> Result<(BaseConsumer, u32), KafkaError> {
    let consumer: BaseConsumer = kafka::consumer_config(&kafka_section.bootstrap)
        .create()
        .map_err(KafkaError::client("create consumer"))?;
    let partitions = kafka::partition_count(consumer.client(), &kafka_section.bootstrap, topic)?;
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
