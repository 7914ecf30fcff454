//! The Kafka sink: events with `producer` and `seq` headers, watermark and end records with a
//! `kind` header (ARCHITECTURE.md, "Wire format"), through an idempotent producer whose delivery
//! reports are counted.

use std::time::Duration;

use crate::sink::SinkError;
use adstream_kafka::KafkaError;
use adstream_kafka::admin::max_message_bytes;
use adstream_kafka::delivery::{COUNTED, DeliveryCounter, send_with_backpressure};
use adstream_kafka::metadata::partition_count;
use adstream_kafka::settings::{EventsTopic, events_producer_config, producer_config};
use adstream_profile::client::Connection;
use adstream_protocol::wire::{
    ControlKind, EndMarker, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, Watermark,
};
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// How long `finish` waits for outstanding deliveries.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// Sends between two polls of the delivery-report queue.
const POLL_EVERY: u64 = 1024;

/// Sends one producer's records to the events topic.
pub struct KafkaSink {
    producer: BaseProducer<DeliveryCounter>,
    topic: String,
    producer_id: String,
    sends: u64,
}

impl KafkaSink {
    /// Connects to the broker of `kafka` and checks that `topic` exists; returns the sink and the
    /// topic's partition count.
    pub fn connect(
        kafka: &Connection,
        topic: &str,
        producer_id: u32,
    ) -> Result<(Self, u32), KafkaError> {
        // The linger depends on the partition count and the batch size on what the topic accepts
        // (settings::EventsTopic), so a first client asks for both, and the producer is made once
        // they are known. That client is an admin client (librdkafka makes it a producer) with the
        // producer's own settings and the user's producer properties: it reaches the broker exactly
        // as the producer will.
        let asking: AdminClient<DefaultClientContext> = producer_config(kafka)
            .create()
            .map_err(KafkaError::client("create admin client"))?;
        let shape = EventsTopic {
            partitions: partition_count(asking.inner(), &kafka.bootstrap, topic)?,
            max_message_bytes: max_message_bytes(&asking, topic),
        };
        drop(asking);
        let partitions = shape.partitions;
        let producer: BaseProducer<DeliveryCounter> = events_producer_config(kafka, &shape)
            .create_with_context(DeliveryCounter::default())
            .map_err(KafkaError::client("create producer"))?;
        let sink = Self {
            producer,
            topic: topic.to_owned(),
            producer_id: producer_id.to_string(),
            sends: 0,
        };
        Ok((sink, partitions))
    }

    /// The delivery reports of its client, counted as they arrive.
    pub fn deliveries(&self) -> std::sync::Arc<DeliveryCounter> {
        std::sync::Arc::clone(self.producer.context())
    }

    fn headers(&self, extra: Header<'_, &str>) -> OwnedHeaders {
        OwnedHeaders::new_with_capacity(2)
            .insert(Header {
                key: HEADER_PRODUCER,
                value: Some(self.producer_id.as_str()),
            })
            .insert(extra)
    }

    fn send(
        &mut self,
        partition: u32,
        headers: OwnedHeaders,
        value: &[u8],
        kind: usize,
    ) -> Result<(), SinkError> {
        let record = BaseRecord::<(), [u8], usize>::with_opaque_to(&self.topic, kind)
            .partition(partition as i32)
            .payload(value)
            .headers(headers);
        send_with_backpressure(&self.producer, record).map_err(SinkError::Produce)?;
        self.sends += 1;
        if self.sends.is_multiple_of(POLL_EVERY) {
            self.producer.poll(Duration::ZERO);
        }
        Ok(())
    }

    fn control(
        &mut self,
        partition: u32,
        kind: ControlKind,
        value: &impl serde::Serialize,
    ) -> Result<(), SinkError> {
        let headers = self.headers(Header {
            key: HEADER_KIND,
            value: Some(kind.as_str()),
        });
        let value = serde_json::to_vec(value).expect("control records serialise");
        self.send(partition, headers, &value, 0)
    }
}

impl crate::sink::Sink for KafkaSink {
    fn event(&mut self, partition: u32, seq: u64, value: &[u8]) -> Result<(), SinkError> {
        let seq = seq.to_string();
        let headers = self.headers(Header {
            key: HEADER_SEQ,
            value: Some(seq.as_str()),
        });
        self.send(partition, headers, value, COUNTED)
    }

    fn watermark(&mut self, partition: u32, watermark: Watermark) -> Result<(), SinkError> {
        self.control(partition, ControlKind::Watermark, &watermark)
    }

    fn end(&mut self, partition: u32, marker: EndMarker) -> Result<(), SinkError> {
        self.control(partition, ControlKind::End, &marker)
    }

    fn idle(&mut self) -> Result<(), SinkError> {
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    fn finish(&mut self) -> Result<crate::sink::Delivery, SinkError> {
        let flushed = self.producer.flush(FLUSH_TIMEOUT);
        self.producer.poll(Duration::ZERO);
        let counter = self.producer.context();
        let delivery = crate::sink::Delivery {
            delivered: counter.delivered(),
            failed: counter.failed(),
        };
        let first_error = counter.first_error();
        let control_failed = counter.uncounted_failed();
        if let Err(error) = flushed {
            return Err(SinkError::Undelivered {
                in_flight: self.producer.in_flight_count(),
                timeout_s: FLUSH_TIMEOUT.as_secs(),
                reason: error.to_string(),
                first_error: first_error.unwrap_or_else(|| "none".to_owned()),
            });
        }
        if delivery.failed > 0 || control_failed > 0 {
            return Err(SinkError::Failed {
                events: delivery.failed,
                control: control_failed,
                first_error: first_error.unwrap_or_else(|| "unknown".to_owned()),
                delivered: delivery.delivered,
            });
        }
        Ok(delivery)
    }
}
