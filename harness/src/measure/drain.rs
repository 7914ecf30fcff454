//! The catch-up baseline: how fast a bare rdkafka consumer, with the job's consumer settings, reads the
//! events topic — no decoding, only a look at the `kind` header to know when every producer has ended.
//! Foreign events, which have no end markers, it reads to where the topic ends.
//! It takes offsets in order through the same consumer as the job, so the comparison is like for like.

use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::{OrderedConsumer, header};
use adstream_kafka::settings::consumer_config;
use adstream_profile::profile::KafkaSection;
use adstream_protocol::wire::HEADER_KIND;
use rdkafka::message::BorrowedMessage;
use serde::Serialize;

/// What a drain read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrainRate {
    /// Records read, control records included.
    pub records: u64,
    /// Records without a `kind` header.
    pub events: u64,
    /// Seconds from the first record to the last.
    pub elapsed_s: f64,
    /// Records per second.
    pub records_per_s: f64,
}

/// How long a drain of foreign events (no end markers) waits for more once it has read to the ends the
/// broker reported: the local broker's reported end can lag its last batch. Not counted in the time.
const QUIET: Duration = Duration::from_millis(500);

/// Reads every partition of the events topic from the beginning until each holds an end marker from
/// each of `producers` producers; with none (events of producers the harness did not start, no end
/// markers), to the ends the broker reports and on until nothing more comes for [`QUIET`]. The time runs
/// from the first record to the last.
pub fn drain(kafka_section: &KafkaSection, producers: u32) -> Result<DrainRate, KafkaError> {
    let mut consumer = OrderedConsumer::assign_all(
        &consumer_config(&kafka_section.connection()),
        &kafka_section.bootstrap,
        &kafka_section.events_topic,
    )?;
    let mut count = Count::default();
    if producers == 0 {
        let read = consumer.read_all_now(QUIET, None, |message| {
            count.add(message);
        })?;
        return Ok(count.rate(read.ran_dry_at));
    }
    let mut ends_missing = consumer.partitions().len() as u64 * u64::from(producers);
    while ends_missing > 0 {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.map_err(KafkaError::client("consume"))?;
        if count.add(&message) == Some(b"end") {
            ends_missing -= 1;
        }
    }
    Ok(count.rate(Instant::now()))
}

/// The records a drain has read so far, and when.
#[derive(Default)]
struct Count {
    records: u64,
    events: u64,
    first: Option<Instant>,
}

impl Count {
    /// Counts `message`; its `kind` header, if it has one. The clock is read at the first record only,
    /// as the bare consumer's cost is the yardstick.
    fn add<'m>(&mut self, message: &'m BorrowedMessage<'_>) -> Option<&'m [u8]> {
        self.first.get_or_insert_with(Instant::now);
        self.records += 1;
        let kind = header(message, HEADER_KIND).flatten();
        if kind.is_none() {
            self.events += 1;
        }
        kind
    }

    /// The rate of the records counted, the last of them read by `last`.
    fn rate(&self, last: Instant) -> DrainRate {
        let elapsed_s = self.first.map_or(0.0, |first| {
            last.saturating_duration_since(first).as_secs_f64()
        });
        DrainRate {
            records: self.records,
            events: self.events,
            elapsed_s,
            records_per_s: self.records as f64 / elapsed_s.max(f64::MIN_POSITIVE),
        }
    }
}
