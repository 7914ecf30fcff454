//! A reader of every partition of one topic from the beginning, for the harness's collectors: it hands
//! each record to a callback until the callback or a stop signal says it is done.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adstream_common::config::KafkaSection;
use adstream_common::kafka::{self, KafkaError};
use adstream_common::offset_order::{Accept, OffsetOrder};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message as _};
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

/// The next offset to take of each assigned partition: where the consumer is when it has read some
/// already (a second `read_until` on the same consumer goes on from there), else where the partition's
/// log starts (0 on a fresh topic; later once a real Kafka has deleted old segments). A partition whose
/// start cannot be asked is taken from its first record.
fn next_offsets(consumer: &BaseConsumer) -> Vec<(i32, i64)> {
    let Ok(assignment) = consumer.assignment() else {
        return Vec::new();
    };
    let positions = consumer.position().ok();
    assignment
        .elements()
        .iter()
        .filter_map(|tp| {
            let read_to = positions
                .as_ref()
                .and_then(|p| p.find_partition(tp.topic(), tp.partition()))
                .and_then(|p| p.offset().to_raw())
                .filter(|&o| o >= 0);
            let next = match read_to {
                Some(offset) => offset,
                None => {
                    consumer
                        .fetch_watermarks(tp.topic(), tp.partition(), kafka::CONNECT_TIMEOUT)
                        .ok()?
                        .0
                }
            };
            Some((tp.partition(), next))
        })
        .collect()
}

/// Reads until `each` says [`Next::Done`], `stop` is set and nothing arrived for `quiet` (a quiet
/// stream after the stop signal is over), or `deadline` passes. Returns whether `each` finished.
///
/// Each partition's records are taken strictly in offset order, as the job takes them
/// ([`OffsetOrder`]): the local broker can hand out a later batch before an earlier one and the earlier
/// one after it, and a recount that followed it would miss records.
pub fn read_until(
    consumer: &BaseConsumer,
    stop: &Arc<AtomicBool>,
    quiet: Duration,
    deadline: Option<Instant>,
    mut each: impl FnMut(&BorrowedMessage<'_>) -> Next,
) -> bool {
    let mut last = Instant::now();
    let mut order = OffsetOrder::new(next_offsets(consumer));
    loop {
        if deadline.is_some_and(|d| Instant::now() > d) {
            return false;
        }
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(message)) => {
                last = Instant::now();
                match order.check(message.partition(), message.offset(), last) {
                    Accept::Yes => {}
                    Accept::Repeat => continue,
                    Accept::Refetch(expected) => {
                        let _ = consumer.seek(
                            message.topic(),
                            message.partition(),
                            Offset::Offset(expected),
                            Duration::ZERO,
                        );
                        continue;
                    }
                }
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
