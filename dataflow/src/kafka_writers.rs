//! The job's two Kafka outputs: results, sent the moment a window is final, and dead letters, sent
//! unchanged with a `reason` header. Both are idempotent producers whose delivery reports are counted
//! (their settings and why: `adstream_kafka::settings`).

use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::delivery::{COUNTED, DeliveryCounter, send_with_backpressure};
use adstream_kafka::settings::{dead_letter_producer_config, results_producer_config};
use adstream_protocol::wire::{HEADER_REASON, WindowResult};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::io::{DeadLetters, RawRecord, ResultWriter};

/// How long a final flush waits.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// One idempotent producer to one topic.
struct TopicProducer {
    producer: BaseProducer<DeliveryCounter>,
    topic: String,
}

impl TopicProducer {
    fn new(config: &ClientConfig, topic: &str) -> Result<Self, KafkaError> {
        let producer = config
            .create_with_context(DeliveryCounter::default())
            .map_err(KafkaError::client(format!("create producer for `{topic}`")))?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
        })
    }

    fn send(&self, key: Option<&[u8]>, value: Option<&[u8]>, headers: OwnedHeaders) {
        let mut record =
            BaseRecord::<[u8], [u8], usize>::with_opaque_to(&self.topic, COUNTED).headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        if let Err(error) = send_with_backpressure(&self.producer, record) {
            eprintln!("dataflow: cannot send to `{}`: {error}", self.topic);
        }
        self.producer.poll(Duration::ZERO);
    }

    /// Flushes and returns the number of failed deliveries (undelivered records count as failed).
    fn flush(&self) -> u64 {
        let undelivered = match self.producer.flush(FLUSH_TIMEOUT) {
            Ok(()) => 0,
            Err(_) => self.producer.in_flight_count().max(0) as u64,
        };
        let context = self.producer.context();
        if let Some(error) = context.first_error() {
            eprintln!("dataflow: delivery to `{}` failed: {error}", self.topic);
        }
        context.failed() + undelivered
    }
}

/// Results to the results topic, keyed `"{window_id}/{campaign_id}"`.
pub struct KafkaResults(TopicProducer);

impl KafkaResults {
    /// A writer to `topic`.
    pub fn new(bootstrap: &str, topic: &str) -> Result<Self, KafkaError> {
        TopicProducer::new(&results_producer_config(bootstrap), topic).map(Self)
    }
}

impl ResultWriter for KafkaResults {
    fn write(&mut self, result: &WindowResult) {
        let key = WindowResult::key(result.window_id, result.campaign_id);
        let value = serde_json::to_vec(result).expect("results serialise");
        self.0
            .send(Some(key.as_bytes()), Some(&value), OwnedHeaders::new());
    }

    fn flush(&mut self) -> u64 {
        self.0.flush()
    }
}

/// Dead letters to the dead-letter topic.
pub struct KafkaDeadLetters(TopicProducer);

impl KafkaDeadLetters {
    /// A writer to `topic`.
    pub fn new(bootstrap: &str, topic: &str) -> Result<Self, KafkaError> {
        TopicProducer::new(&dead_letter_producer_config(bootstrap), topic).map(Self)
    }
}

impl DeadLetters for KafkaDeadLetters {
    fn send(&mut self, record: &RawRecord<'_>, reason: &str) {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 1);
        for (key, value) in record.headers {
            headers = headers.insert(Header { key, value: *value });
        }
        headers = headers.insert(Header {
            key: HEADER_REASON,
            value: Some(reason),
        });
        self.0.send(record.key, record.value, headers);
    }

    fn flush(&mut self) -> u64 {
        self.0.flush()
    }
}
