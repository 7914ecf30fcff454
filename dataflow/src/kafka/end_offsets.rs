//! The broker's end offsets of the events topic, asked at scrape time so the metrics can state each
//! partition's consumer lag.

use std::sync::Mutex;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::settings::consumer_config;
use adstream_profile::client::Connection;
use rdkafka::consumer::{BaseConsumer, Consumer as _};

/// How long a scrape waits for the broker to state one partition's end offset.
const END_OFFSET_TIMEOUT: Duration = Duration::from_secs(1);

/// The broker's end offsets of the events topic, asked at scrape time.
pub struct EndOffsets {
    consumer: Mutex<BaseConsumer>,
    topic: String,
}

impl EndOffsets {
    /// The end offset the broker states for `partition`, or `None` when it does not answer in time.
    pub fn of(&self, partition: i32) -> Option<i64> {
        let consumer = self.consumer.lock().expect("end offsets lock");
        consumer
            .fetch_watermarks(&self.topic, partition, END_OFFSET_TIMEOUT)
            .ok()
            .map(|(_, high)| high)
    }
}

impl EndOffsets {
    /// A probe of `topic` on `kafka`.
    pub fn new(kafka: &Connection, topic: &str) -> Result<Self, KafkaError> {
        let consumer = consumer_config(kafka)
            .create()
            .map_err(KafkaError::client("create consumer for end offsets"))?;
        Ok(Self {
            consumer: Mutex::new(consumer),
            topic: topic.to_owned(),
        })
    }
}
