//! The job's two Kafka outputs: results, sent the moment a window is final, and dead letters, sent
//! unchanged with a `reason` header. Both are idempotent producers whose delivery reports are counted
//! (their settings and why: `adstream_kafka::settings`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::delivery::{COUNTED, DeliveryCounter, send_with_backpressure};
use adstream_kafka::settings::{dead_letter_producer_config, results_producer_config};
use adstream_profile::client::Connection;
use adstream_protocol::wire::{
    HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, WindowResult,
};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::core::verdict::DeadLetter;
use crate::edges::{DeadLetters, RawRecord, ResultWriter};
use crate::kafka::readback::Written;

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

/// Delivery reports of the results producer, counted per window: the opaque of each record is its
/// window, so the sink knows when every result of a window is in the topic.
#[derive(Debug, Default)]
pub struct WindowDeliveries {
    outstanding: Mutex<BTreeMap<u64, u64>>,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for WindowDeliveries {}

impl ProducerContext for WindowDeliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, window: usize) {
        if let Err((error, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_error.lock().expect("deliveries lock");
            first.get_or_insert_with(|| error.to_string());
        }
        let mut outstanding = self.outstanding.lock().expect("deliveries lock");
        if let Some(n) = outstanding.get_mut(&(window as u64)) {
            *n -= 1;
            if *n == 0 {
                outstanding.remove(&(window as u64));
            }
        }
    }
}

/// Results to the results topic, keyed `"{window_id}/{campaign_id}"`, each (window, campaign) at most
/// once: results already in the topic when the job started (written by an earlier incarnation of the
/// same job, read back once the job is claimed: [`KafkaResults::skipping`]) are skipped.
pub struct KafkaResults {
    producer: BaseProducer<WindowDeliveries>,
    topic: String,
    written: Arc<Written>,
    sent: u64,
    crash_after: Option<u64>,
}

impl KafkaResults {
    /// A writer to `topic`.
    pub fn new(kafka: &Connection, topic: &str) -> Result<Self, KafkaError> {
        let producer = results_producer_config(kafka)
            .create_with_context(WindowDeliveries::default())
            .map_err(KafkaError::client(format!("create producer for `{topic}`")))?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
            written: Arc::default(),
            sent: 0,
            crash_after: None,
        })
    }

    /// From now on skips the (window, campaign) pairs whose final result `written` holds, and numbers
    /// revisions after those it holds.
    pub fn skipping(&mut self, written: Arc<Written>) {
        self.written = written;
    }

    /// Fault injection: abort the process right before sending result `n + 1`, once the `n` sent
    /// are delivered — a crash between a window's first and last result, at a known place.
    pub fn crash_after(mut self, n: Option<u64>) -> Self {
        self.crash_after = n;
        self
    }
}

impl ResultWriter for KafkaResults {
    fn first_revision(&self, window: u64, campaign: u32) -> u32 {
        self.written
            .get(&(window, campaign))
            .map_or(0, |held| held.next_revision)
    }

    fn write(&mut self, result: &WindowResult) -> bool {
        if self
            .written
            .get(&(result.window_id, result.campaign_id))
            .is_some_and(|held| held.finished)
        {
            return false;
        }
        if self.crash_after == Some(self.sent) {
            let _ = self.producer.flush(FLUSH_TIMEOUT);
            eprintln!(
                "dataflow: crashing after {} results, as --crash-after-results asked",
                self.sent
            );
            std::process::abort();
        }
        self.sent += 1;
        let key = WindowResult::key(result.window_id, result.campaign_id);
        let value = serde_json::to_vec(result).expect("results serialise");
        *self
            .producer
            .context()
            .outstanding
            .lock()
            .expect("deliveries lock")
            .entry(result.window_id)
            .or_default() += 1;
        let record =
            BaseRecord::<[u8], [u8], usize>::with_opaque_to(&self.topic, result.window_id as usize)
                .key(key.as_bytes())
                .payload(&value);
        if let Err(error) = send_with_backpressure(&self.producer, record) {
            eprintln!("dataflow: cannot send to `{}`: {error}", self.topic);
        }
        self.producer.poll(Duration::ZERO);
        true
    }

    fn delivered(&mut self, window: u64) -> bool {
        self.producer.poll(Duration::ZERO);
        !self
            .producer
            .context()
            .outstanding
            .lock()
            .expect("deliveries lock")
            .contains_key(&window)
    }

    fn flush(&mut self) -> u64 {
        let undelivered = match self.producer.flush(FLUSH_TIMEOUT) {
            Ok(()) => 0,
            Err(_) => self.producer.in_flight_count().max(0) as u64,
        };
        let context = self.producer.context();
        if let Some(error) = context
            .first_error
            .lock()
            .expect("deliveries lock")
            .as_ref()
        {
            eprintln!("dataflow: delivery to `{}` failed: {error}", self.topic);
        }
        context.failed.load(Ordering::Relaxed) + undelivered
    }
}

/// Dead letters to the dead-letter topic.
pub struct KafkaDeadLetters(TopicProducer);

impl KafkaDeadLetters {
    /// A writer to `topic`.
    pub fn new(kafka: &Connection, topic: &str) -> Result<Self, KafkaError> {
        TopicProducer::new(&dead_letter_producer_config(kafka), topic).map(Self)
    }
}

impl DeadLetters for KafkaDeadLetters {
    fn send(&mut self, record: &RawRecord<'_>, reason: &DeadLetter) {
        let reason = reason.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 3);
        for (key, value) in record.headers {
            headers = headers.insert(Header { key, value: *value });
        }
        let (partition, offset) = (record.partition.to_string(), record.offset.to_string());
        for (key, value) in [
            (HEADER_REASON, reason.as_str()),
            // Where it came from, so a recount can account for every event (and a user find it).
            (HEADER_SOURCE_PARTITION, partition.as_str()),
            (HEADER_SOURCE_OFFSET, offset.as_str()),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        self.0.send(record.key, record.value, headers);
    }

    fn settled(&mut self) -> bool {
        self.0.producer.poll(Duration::ZERO);
        self.0.producer.in_flight_count() == 0
    }

    fn flush(&mut self) -> u64 {
        self.0.flush()
    }
}
