//! The fence in a topic of the broker, for jobs whose checkpoints are in the checkpoint topic: claims
//! are records of the topic `<events topic>-fence` (one partition, keyed by job id, created like the
//! checkpoint topic). A claim is stored once the broker has acknowledged it, and its position is the
//! partition's end right after it.
//!
//! Looking up whether the job was taken over asks the broker for the partition's end (one small
//! request): when it has not moved, no claim was made since; when it has, the records since are read
//! and judged. Each claim is sent alone and waited for, so it is a batch of its own, and the end the
//! local broker reports — the last stored batch's base offset plus one (`adstream_kafka::ordered`) —
//! moves with every claim.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::delivery::{COUNTED, DeliveryCounter};
use adstream_kafka::ordered::OrderedConsumer;
use adstream_kafka::settings::{CONNECT_TIMEOUT, consumer_config, results_producer_config};
use adstream_profile::client::Connection;
use rdkafka::consumer::Consumer as _;
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};

use crate::core::fence::Claim;
use crate::edges::Fence;

/// How long a claim may take to be stored, and the claims since a position to be read.
const PATIENCE: Duration = Duration::from_secs(30);

/// The fence partition.
const PARTITION: i32 = 0;

/// Claims in the fence topic.
pub struct TopicFence {
    kafka: Connection,
    topic: String,
    followed: Option<Followed>,
}

/// What a worker follows: its job and generation, and the claims read so far.
struct Followed {
    job: String,
    generation: u64,
    /// The end of the partition up to which claims have been judged.
    position: i64,
    /// Reads the claims past `position`, made when the first is there.
    reader: Option<OrderedConsumer>,
}

impl TopicFence {
    /// The fence topic of the events topic.
    pub fn topic_of(events_topic: &str) -> String {
        format!("{events_topic}-fence")
    }

    /// The fence in `topic` of `kafka` (created with the checkpoint topic's settings:
    /// [`crate::kafka::checkpoint_topic::TopicStore::ensure_topic`]).
    pub fn new(kafka: &Connection, topic: &str) -> Self {
        Self {
            kafka: kafka.clone(),
            topic: topic.to_owned(),
            followed: None,
        }
    }

    fn end(&self, reader: &rdkafka::consumer::BaseConsumer) -> std::io::Result<i64> {
        reader
            .fetch_watermarks(&self.topic, PARTITION, CONNECT_TIMEOUT)
            .map(|(_, high)| high)
            .map_err(|e| std::io::Error::other(format!("the end of `{}`: {e}", self.topic)))
    }
}

fn other(e: KafkaError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Fence for TopicFence {
    fn claim(&mut self, claim: &Claim) -> std::io::Result<u64> {
        // The results producer's settings: idempotent, acknowledged by every replica, sent at once.
        let producer: BaseProducer<DeliveryCounter> = results_producer_config(&self.kafka)
            .create_with_context(DeliveryCounter::default())
            .map_err(|e| std::io::Error::other(format!("a producer for `{}`: {e}", self.topic)))?;
        let value = claim.encode();
        let record = BaseRecord::<str, str, usize>::with_opaque_to(&self.topic, COUNTED)
            .partition(PARTITION)
            .key(&claim.job)
            .payload(&value);
        producer
            .send(record)
            .map_err(|(e, _)| std::io::Error::other(format!("claim in `{}`: {e}", self.topic)))?;
        producer
            .flush(PATIENCE)
            .map_err(|e| std::io::Error::other(format!("claim in `{}`: {e}", self.topic)))?;
        if producer.context().delivered() != 1 {
            let why = producer.context().first_error().unwrap_or_default();
            return Err(std::io::Error::other(format!(
                "the claim in `{}` was not stored: {why}",
                self.topic
            )));
        }
        let probe: rdkafka::consumer::BaseConsumer = consumer_config(&self.kafka)
            .create()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(self.end(&probe)? as u64)
    }

    fn follow(&mut self, job: &str, generation: u64, position: u64) -> std::io::Result<()> {
        self.followed = Some(Followed {
            job: job.to_owned(),
            generation,
            position: position as i64,
            reader: None,
        });
        Ok(())
    }

    fn superseded(&mut self) -> std::io::Result<Option<Claim>> {
        let Some(followed) = self.followed.as_mut() else {
            return Ok(None);
        };
        let reader = match followed.reader.as_mut() {
            Some(reader) => reader,
            None => {
                let starts = BTreeMap::from([(PARTITION, followed.position)]);
                let reader = OrderedConsumer::assign(
                    &consumer_config(&self.kafka),
                    &self.topic,
                    &[PARTITION],
                    &starts,
                )
                .map_err(other)?;
                followed.reader.insert(reader)
            }
        };
        let end = reader
            .inner()
            .fetch_watermarks(&self.topic, PARTITION, CONNECT_TIMEOUT)
            .map(|(_, high)| high)
            .map_err(|e| std::io::Error::other(format!("the end of `{}`: {e}", self.topic)))?;
        let deadline = Instant::now() + PATIENCE;
        let mut found = None;
        while followed.position < end {
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!(
                    "the claims in `{}` up to offset {end} could not be read",
                    self.topic
                )));
            }
            if let Some(Ok(message)) = reader.poll(Duration::from_millis(20)) {
                followed.position = message.offset() + 1;
                let claim = message.payload().and_then(Claim::decode);
                if let Some(claim) =
                    claim.filter(|c| c.supersedes(&followed.job, followed.generation))
                {
                    found = Some(claim);
                }
            }
        }
        Ok(found)
    }
}
