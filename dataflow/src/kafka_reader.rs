//! Reading a worker's partitions of the events topic: explicit `assign()` (no group join), starting
//! from given offsets (the beginning for a fresh run; stored offsets once checkpoints exist), a wake-up
//! from librdkafka the moment its queue becomes non-empty, so no timer decides the latency, and offsets
//! taken strictly in order ([`OffsetOrder`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adstream_common::kafka::{self, KafkaError};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::io::{RawRecord, RecordReader};
use adstream_common::offset_order::{Accept, OffsetOrder};

/// Headers kept per record; ours use at most three.
const MAX_HEADERS: usize = 8;

/// A consumer of some partitions of one topic (none at all for a worker without partitions).
pub struct KafkaReader {
    consumer: Option<BaseConsumer>,
    topic: String,
    partitions: Vec<i32>,
    order: OffsetOrder,
    errors: u64,
}

impl KafkaReader {
    /// Assigns `partitions` of `topic`, each from its offset in `start` (the beginning when absent).
    pub fn assign(
        bootstrap: &str,
        topic: &str,
        partitions: Vec<i32>,
        start: &BTreeMap<i32, i64>,
    ) -> Result<Self, KafkaError> {
        if partitions.is_empty() {
            return Ok(Self {
                consumer: None,
                topic: topic.to_owned(),
                partitions,
                order: OffsetOrder::default(),
                errors: 0,
            });
        }
        let consumer: BaseConsumer = kafka::consumer_config(bootstrap)
            .create()
            .map_err(KafkaError::client("create consumer"))?;
        // Where each partition's records start: the stored offset, else the partition's first.
        let mut starts = Vec::new();
        for &p in &partitions {
            let first = match start.get(&p) {
                Some(&offset) => offset,
                None => {
                    consumer
                        .fetch_watermarks(topic, p, kafka::CONNECT_TIMEOUT)
                        .map_err(KafkaError::client(format!("offsets of partition {p}")))?
                        .0
                }
            };
            starts.push((p, first));
        }
        let order = OffsetOrder::new(starts.iter().copied());
        let mut assignment = TopicPartitionList::new();
        for &p in &partitions {
            let offset = start
                .get(&p)
                .map_or(Offset::Beginning, |&o| Offset::Offset(o));
            assignment
                .add_partition_offset(topic, p, offset)
                .map_err(KafkaError::client(format!("assign partition {p}")))?;
        }
        consumer
            .assign(&assignment)
            .map_err(KafkaError::client("assign partitions"))?;
        Ok(Self {
            consumer: Some(consumer),
            topic: topic.to_owned(),
            partitions,
            order,
            errors: 0,
        })
    }

    /// Consumer errors seen (logged and skipped; librdkafka retries on its own).
    pub fn errors(&self) -> u64 {
        self.errors
    }
}

impl RecordReader for KafkaReader {
    fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    fn read(&mut self, budget: usize, each: &mut dyn FnMut(RawRecord<'_>)) -> usize {
        let Some(consumer) = &self.consumer else {
            return 0;
        };
        let mut n = 0;
        let now = Instant::now();
        while n < budget {
            let message = match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(message)) => message,
                Some(Err(error)) => {
                    self.errors += 1;
                    if self.errors <= 10 {
                        eprintln!("dataflow: consumer error (retrying): {error}");
                    }
                    continue;
                }
            };
            match self.order.check(message.partition(), message.offset(), now) {
                Accept::Yes => {}
                Accept::Repeat => continue,
                Accept::Refetch(expected) => {
                    // Ask again from the expected offset; the missing records are usually there by then.
                    let _ = consumer.seek(
                        &self.topic,
                        message.partition(),
                        Offset::Offset(expected),
                        Duration::ZERO,
                    );
                    continue;
                }
            }
            let mut headers: [(&str, Option<&[u8]>); MAX_HEADERS] = [("", None); MAX_HEADERS];
            let mut count = 0;
            if let Some(borrowed) = message.headers() {
                for header in borrowed.iter().take(MAX_HEADERS) {
                    headers[count] = (header.key, header.value);
                    count += 1;
                }
            }
            each(RawRecord {
                partition: message.partition(),
                key: message.key(),
                headers: &headers[..count],
                value: message.payload(),
            });
            n += 1;
        }
        n
    }

    fn on_arrival(&mut self, wake: Box<dyn Fn() + Send + Sync>) {
        if let Some(consumer) = &mut self.consumer {
            consumer.set_nonempty_callback(wake);
        }
    }
}
