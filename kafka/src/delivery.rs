//! Delivery reports counted as librdkafka serves them, and a send that waits for room in the client's
//! queue instead of failing, so a fast sender slows down rather than losing records.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, ProducerContext};

/// Delivery opaque of a record whose delivery is counted (events, dead letters, results); other records
/// (control records) carry 0 and only their failures are counted.
pub const COUNTED: usize = 1;

/// A producer context that counts delivery reports as librdkafka serves them.
#[derive(Debug, Default)]
pub struct DeliveryCounter {
    delivered: AtomicU64,
    failed: AtomicU64,
    uncounted_failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl DeliveryCounter {
    /// Counted records delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Counted records whose delivery failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Other records whose delivery failed.
    pub fn uncounted_failed(&self) -> u64 {
        self.uncounted_failed.load(Ordering::Relaxed)
    }

    /// The first delivery error, if any.
    pub fn first_error(&self) -> Option<String> {
        self.first_error
            .lock()
            .expect("delivery counter lock")
            .clone()
    }
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, kind: usize) {
        match result {
            Ok(_) if kind == COUNTED => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err((error, _)) => {
                let counter = if kind == COUNTED {
                    &self.failed
                } else {
                    &self.uncounted_failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().expect("delivery counter lock");
                first.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// Sends `record`, waiting for room (serving delivery reports) while librdkafka's local queue is full,
/// so a fast sender slows down instead of failing.
pub fn send_with_backpressure<K, P, C>(
    producer: &BaseProducer<C>,
    mut record: BaseRecord<'_, K, P, C::DeliveryOpaque>,
) -> Result<(), rdkafka::error::KafkaError>
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
    C: ProducerContext,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                returned,
            )) => {
                producer.poll(Duration::from_millis(1));
                record = returned;
            }
            Err((error, _)) => return Err(error),
        }
    }
}
