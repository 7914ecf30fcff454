//! Kafka client settings chosen by measurement on the local broker (SPEC §8), and the reachability
//! check every binary runs before it relies on the broker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, ProducerContext};

/// How long a binary waits for the broker's first answer before it gives up with a clear error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A problem talking to Kafka, worded for the person running the command.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// No broker answered at the bootstrap address.
    #[error("cannot reach a Kafka broker at {bootstrap} within {}s ({reason}); start one with `harness broker` or pass --bootstrap HOST:PORT", CONNECT_TIMEOUT.as_secs())]
    Unreachable {
        /// The address tried.
        bootstrap: String,
        /// What the client said.
        reason: String,
    },
    /// The broker answered but has no such topic.
    #[error(
        "topic `{topic}` does not exist on {bootstrap}; create it with `harness topics create`"
    )]
    MissingTopic {
        /// The topic.
        topic: String,
        /// The broker.
        bootstrap: String,
    },
    /// Any other client error.
    #[error("kafka {action}: {source}")]
    Client {
        /// What was being done.
        action: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
}

impl KafkaError {
    /// Wraps a client error with what was being done.
    pub fn client(action: impl Into<String>) -> impl FnOnce(rdkafka::error::KafkaError) -> Self {
        let action = action.into();
        move |source| KafkaError::Client { action, source }
    }
}

fn base(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("socket.nagle.disable", "true")
        // Fail fast and quietly when the broker is absent; the reachability check reports it.
        .set("reconnect.backoff.max.ms", "1000")
        .set("topic.metadata.refresh.interval.ms", "60000");
    config
}

/// How long an events producer lets a batch fill before sending it, ms. The local broker's cost per
/// fetch grows with the number of batches a partition holds (tansu 0.6 lists them all), so fewer, larger
/// batches keep its delivery fast over a run; smaller lingers flood it with tiny produce requests (SPEC
/// §8). Measured at the seed's load (BENCHMARKS.md): 10 ms gives the lowest end-to-end latency, 5 ms
/// and 20 ms higher.
pub const PRODUCER_LINGER_MS: u64 = 10;

/// Settings of an events producer: idempotent (retries neither lose nor duplicate), acks from all
/// replicas, and batches that fill for [`PRODUCER_LINGER_MS`].
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = base(bootstrap);
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", PRODUCER_LINGER_MS.to_string())
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "60000");
    config
}

/// Settings of a consumer that reads explicitly assigned partitions (no group join: the local broker
/// takes ~23 s for one) with the lowest fetch latency.
pub fn consumer_config(bootstrap: &str) -> ClientConfig {
    let mut config = base(bootstrap);
    config
        .set("group.id", "adstream")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "1")
        .set("fetch.min.bytes", "1")
        // When the application is behind, librdkafka stops fetching once a partition's local queue holds
        // `queued.min.messages` and waits this long before fetching again. Its default, 1000 ms, leaves a
        // catching-up job idle most of each second (measured: 250k events/s instead of 1M+).
        .set("fetch.queue.backoff.ms", "1")
        .set("enable.partition.eof", "false");
    config
}

/// Settings of an admin client.
pub fn admin_config(bootstrap: &str) -> ClientConfig {
    base(bootstrap)
}

/// Asks the broker for its metadata, turning silence into [`KafkaError::Unreachable`] within
/// [`CONNECT_TIMEOUT`].
pub fn check_reachable<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
) -> Result<(), KafkaError> {
    client
        .fetch_metadata(None, CONNECT_TIMEOUT)
        .map(|_| ())
        .map_err(|e| KafkaError::Unreachable {
            bootstrap: bootstrap.to_owned(),
            reason: e.to_string(),
        })
}

/// The number of partitions of `topic`, after checking the broker answers.
pub fn partition_count<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
    topic: &str,
) -> Result<u32, KafkaError> {
    check_reachable(client, bootstrap)?;
    let metadata = client
        .fetch_metadata(Some(topic), CONNECT_TIMEOUT)
        .map_err(KafkaError::client(format!("metadata of topic `{topic}`")))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len());
    if partitions == 0 {
        return Err(KafkaError::MissingTopic {
            topic: topic.to_owned(),
            bootstrap: bootstrap.to_owned(),
        });
    }
    Ok(partitions as u32)
}

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
