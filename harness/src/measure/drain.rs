//! The catch-up baseline: how fast a bare rdkafka consumer, with the job's consumer settings, reads the
//! events topic — no decoding, only a look at the `kind` header to know when every producer has ended.
//! It takes offsets in order through the same consumer as the job, so the comparison is like for like.

use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::{OrderedConsumer, header};
use adstream_kafka::settings::consumer_config;
use adstream_profile::profile::KafkaSection;
use adstream_protocol::wire::HEADER_KIND;
use serde::Serialize;

/// What a drain read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DrainRate {
    /// Records read, control records included.
    pub records: u64,
    /// Records without a `kind` header.
    pub events: u64,
    /// Seconds from the first record to the last end marker.
    pub elapsed_s: f64,
    /// Records per second.
    pub records_per_s: f64,
}

/// Reads every partition of the events topic from the beginning until each holds an end marker from
/// each of `producers` producers.
pub fn drain(kafka_section: &KafkaSection, producers: u32) -> Result<DrainRate, KafkaError> {
    let mut consumer = OrderedConsumer::assign_all(
        &consumer_config(&kafka_section.connection()),
        &kafka_section.bootstrap,
        &kafka_section.events_topic,
    )?;
    let mut ends_missing = consumer.partitions().len() as u64 * u64::from(producers);
    let (mut records, mut events) = (0u64, 0u64);
    let mut first: Option<Instant> = None;
    while ends_missing > 0 {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.map_err(KafkaError::client("consume"))?;
        first.get_or_insert_with(Instant::now);
        records += 1;
        let kind = header(&message, HEADER_KIND).flatten();
        match kind {
            None => events += 1,
            Some(b"end") => ends_missing -= 1,
            Some(_) => {}
        }
    }
    let elapsed_s = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    Ok(DrainRate {
        records,
        events,
        elapsed_s,
        records_per_s: records as f64 / elapsed_s.max(f64::MIN_POSITIVE),
    })
}
