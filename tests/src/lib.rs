//! Support for the end-to-end tests: the workspace's binaries, a real broker with topics, and reading a
//! topic back record by record.
//!
//! Run the tests with `cargo test --workspace`: that builds the `producer` and `harness` binaries these
//! tests start as separate processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use adstream_common::config::KafkaSection;
use adstream_common::kafka;
use adstream_common::schema::{
    ControlKind, EndMarker, Event, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, Watermark,
};
use adstream_harness::broker::LocalBroker;
use adstream_harness::topics::Topics;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// The path of a workspace binary built by the same `cargo test` run.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// A local broker on a free port with the events, results and dead-letter topics created.
pub struct TestBroker {
    /// The broker, stopped on drop.
    pub broker: LocalBroker,
    /// Its topics' settings.
    pub kafka: KafkaSection,
}

impl TestBroker {
    /// Starts a broker and creates the topics with `partitions` partitions.
    pub fn with_topics(partitions: u32) -> Self {
        let broker = LocalBroker::start_on_free_port().expect("start the local broker");
        let kafka = KafkaSection {
            bootstrap: broker.address().to_owned(),
            partitions,
            ..KafkaSection::default()
        };
        Topics::connect(&kafka)
            .expect("admin")
            .create()
            .expect("create topics");
        Self { broker, kafka }
    }
}

/// One record of the events topic, classified by its headers.
#[derive(Debug, Clone, PartialEq)]
pub enum EventsRecord {
    /// An event of `producer` with sequence number `seq`.
    Event {
        /// Producer id.
        producer: u32,
        /// Sequence number.
        seq: u64,
        /// The value.
        event: Event,
    },
    /// A watermark record.
    Watermark(Watermark),
    /// An end marker.
    End(EndMarker),
}

fn header<'a, M: Message>(message: &'a M, key: &str) -> Option<&'a [u8]> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
}

fn parse_header<T: std::str::FromStr>(value: Option<&[u8]>) -> T {
    std::str::from_utf8(value.expect("header present"))
        .expect("utf-8 header")
        .parse()
        .ok()
        .expect("numeric header")
}

/// Reads every partition of `topic` from the beginning until `done` says the records so far are all,
/// or `deadline` passes (then panics). Returns the records by partition, in offset order.
pub fn read_events(
    kafka: &KafkaSection,
    deadline: Duration,
    done: impl Fn(&BTreeMap<i32, Vec<EventsRecord>>) -> bool,
) -> BTreeMap<i32, Vec<EventsRecord>> {
    let consumer: BaseConsumer = kafka::consumer_config(&kafka.bootstrap)
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..kafka.partitions as i32 {
        assignment
            .add_partition_offset(&kafka.events_topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let mut records: BTreeMap<i32, Vec<EventsRecord>> = BTreeMap::new();
    let until = Instant::now() + deadline;
    while !done(&records) {
        assert!(
            Instant::now() < until,
            "topic not complete within {deadline:?}"
        );
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.expect("consume");
        let payload = message.payload().unwrap_or_default();
        let record = match header(&message, HEADER_KIND)
            .map(|k| ControlKind::parse(k).expect("known kind"))
        {
            Some(ControlKind::Watermark) => {
                EventsRecord::Watermark(serde_json::from_slice(payload).unwrap())
            }
            Some(ControlKind::End) => EventsRecord::End(serde_json::from_slice(payload).unwrap()),
            None => EventsRecord::Event {
                producer: parse_header(header(&message, HEADER_PRODUCER)),
                seq: parse_header(header(&message, HEADER_SEQ)),
                event: serde_json::from_slice(payload).expect("event JSON"),
            },
        };
        records.entry(message.partition()).or_default().push(record);
    }
    records
}

/// Whether every partition of `0..partitions` holds an end marker from each of `producers`.
pub fn ended(records: &BTreeMap<i32, Vec<EventsRecord>>, partitions: u32, producers: u32) -> bool {
    (0..partitions as i32).all(|p| {
        let ends = records.get(&p).map_or(0, |rs| {
            rs.iter()
                .filter(|r| matches!(r, EventsRecord::End(_)))
                .count()
        });
        ends == producers as usize
    })
}
