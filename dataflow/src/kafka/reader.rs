//! Reading a worker's partitions of the events topic: explicit `assign()` (no group join), starting
//! from given offsets (the beginning for a fresh run; stored offsets once checkpoints exist), a wake-up
//! from librdkafka the moment its queue becomes non-empty, so no timer decides the latency, and offsets
//! taken strictly in order ([`OrderedConsumer`]).

use std::collections::BTreeMap;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::OrderedConsumer;
use adstream_kafka::settings::consumer_config;
use adstream_profile::client::Connection;
use rdkafka::message::{Headers, Message};

use crate::edges::{RawRecord, RecordReader};

/// Headers kept per record; ours use at most three.
const MAX_HEADERS: usize = 8;
/// Consumer errors printed; the rest are only counted.
const ERRORS_SHOWN: u64 = 10;

/// A consumer of some partitions of one topic (none at all for a worker without partitions).
pub struct KafkaReader {
    consumer: Option<OrderedConsumer>,
    partitions: Vec<i32>,
    errors: u64,
}

impl KafkaReader {
    /// Assigns `partitions` of `topic`, each from its offset in `start` (the beginning when absent).
    pub fn assign(
        kafka: &Connection,
        topic: &str,
        partitions: Vec<i32>,
        start: &BTreeMap<i32, i64>,
    ) -> Result<Self, KafkaError> {
        let consumer = if partitions.is_empty() {
            None
        } else {
            Some(OrderedConsumer::assign(
                consumer_config(kafka)
                    // librdkafka's statistics once a second tell the consumer's lag (kept on its own
                    // thread, see adstream_kafka::lag) for the harness's live page.
                    .set("statistics.interval.ms", "1000"),
                topic,
                &partitions,
                start,
            )?)
        };
        Ok(Self {
            consumer,
            partitions,
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
        let Some(consumer) = &mut self.consumer else {
            return 0;
        };
        let mut n = 0;
        while n < budget {
            let message = match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(message)) => message,
                Some(Err(error)) => {
                    self.errors += 1;
                    if self.errors <= ERRORS_SHOWN {
                        eprintln!("dataflow: consumer error (retrying): {error}");
                    }
                    continue;
                }
            };
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
                offset: message.offset(),
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
            consumer.on_arrival(wake);
        }
    }

    fn lag(&self) -> Option<u64> {
        self.consumer.as_ref().and_then(OrderedConsumer::lag)
    }
}
