//! Support for the end-to-end tests: the workspace's binaries, a real broker with topics, reading topics
//! back record by record, and an independent recount of the events topic.
//!
//! Run the tests with `cargo test --workspace`: that builds the `producer`, `dataflow` and `harness`
//! binaries these tests start as separate processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use adstream_common::config::KafkaSection;
use adstream_common::kafka;
use adstream_common::offset_order::{Accept, OffsetOrder};
use adstream_common::schema::{
    ControlKind, EndMarker, Event, EventType, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, Watermark,
    WindowResult,
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

/// One record as read back: partition, headers, value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    /// Its partition.
    pub partition: i32,
    /// Its headers, in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Its value.
    pub value: Vec<u8>,
}

impl ReadRecord {
    /// The value of header `key`, as text.
    pub fn header(&self, key: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Reads every partition of `topic` from the beginning until `done` says the records so far are all,
/// or `deadline` passes (then panics).
pub fn read_topic(
    bootstrap: &str,
    topic: &str,
    partitions: u32,
    deadline: Duration,
    done: impl Fn(&[ReadRecord]) -> bool,
) -> Vec<ReadRecord> {
    let consumer: BaseConsumer = kafka::consumer_config(bootstrap)
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let mut order = OffsetOrder::new((0..partitions as i32).map(|p| (p, 0)));
    let mut records = Vec::new();
    let until = Instant::now() + deadline;
    while !done(&records) {
        assert!(
            Instant::now() < until,
            "`{topic}` not complete within {deadline:?}: {} records",
            records.len()
        );
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.expect("consume");
        // In offset order, as the job and the harness read (the local broker can hand out a later
        // batch before an earlier one).
        match order.check(message.partition(), message.offset(), Instant::now()) {
            Accept::Yes => {}
            Accept::Repeat => continue,
            Accept::Refetch(expected) => {
                let _ = consumer.seek(
                    topic,
                    message.partition(),
                    Offset::Offset(expected),
                    Duration::ZERO,
                );
                continue;
            }
        }
        let headers = message.headers().map_or_else(Vec::new, |hs| {
            hs.iter()
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect()
        });
        records.push(ReadRecord {
            partition: message.partition(),
            headers,
            value: message.payload().unwrap_or_default().to_vec(),
        });
    }
    records
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
    /// Anything else (foreign or bad records).
    Other,
}

fn classify(record: &ReadRecord) -> EventsRecord {
    let number = |key: &str| record.header(key).and_then(|v| v.parse::<u64>().ok());
    match record
        .header(HEADER_KIND)
        .as_deref()
        .map(|k| ControlKind::parse(k.as_bytes()))
    {
        Some(Some(ControlKind::Watermark)) => {
            EventsRecord::Watermark(serde_json::from_slice(&record.value).unwrap())
        }
        Some(Some(ControlKind::End)) => {
            EventsRecord::End(serde_json::from_slice(&record.value).unwrap())
        }
        Some(None) => EventsRecord::Other,
        None => match (
            number(HEADER_PRODUCER),
            number(HEADER_SEQ),
            serde_json::from_slice(&record.value),
        ) {
            (Some(producer), Some(seq), Ok(event)) => EventsRecord::Event {
                producer: producer as u32,
                seq,
                event,
            },
            _ => EventsRecord::Other,
        },
    }
}

/// Reads the events topic until every partition holds an end marker from each of `producers`.
/// Returns the records by partition, in offset order.
pub fn read_events(
    kafka: &KafkaSection,
    deadline: Duration,
    producers: u32,
) -> BTreeMap<i32, Vec<EventsRecord>> {
    let partitions = kafka.partitions;
    let records = read_topic(
        &kafka.bootstrap,
        &kafka.events_topic,
        partitions,
        deadline,
        |rs| {
            (0..partitions as i32).all(|p| {
                rs.iter()
                    .filter(|r| r.partition == p && r.header(HEADER_KIND).as_deref() == Some("end"))
                    .count()
                    == producers as usize
            })
        },
    );
    let mut by_partition: BTreeMap<i32, Vec<EventsRecord>> = BTreeMap::new();
    for r in &records {
        by_partition
            .entry(r.partition)
            .or_default()
            .push(classify(r));
    }
    by_partition
}

/// (window, campaign) → (count, views, clicks, purchases, max produce time).
pub type Counts = BTreeMap<(u64, u32), (u64, u64, u64, u64, u64)>;

/// Our producers' events in a read-back events topic.
pub fn events_in(events: &BTreeMap<i32, Vec<EventsRecord>>) -> impl Iterator<Item = &Event> {
    events.values().flatten().filter_map(|record| match record {
        EventsRecord::Event { event, .. } => Some(event),
        _ => None,
    })
}

/// An independent recount of `events`, with its own code rather than the job's.
pub fn recount<'a>(events: impl IntoIterator<Item = &'a Event>) -> Counts {
    let mut counts = Counts::new();
    for e in events {
        let c = counts.entry((e.window_id, e.campaign_id)).or_default();
        c.0 += 1;
        c.1 += u64::from(e.event_type == EventType::View);
        c.2 += u64::from(e.event_type == EventType::Click);
        c.3 += u64::from(e.event_type == EventType::Purchase);
        c.4 = c.4.max(e.produce_time);
    }
    counts
}

/// Results as counts, failing on a duplicate (window, campaign) or a result emitted before its last
/// event was produced.
pub fn counts_of<'a>(results: impl IntoIterator<Item = &'a WindowResult>) -> Counts {
    let mut counts = Counts::new();
    for r in results {
        let previous = counts.insert(
            (r.window_id, r.campaign_id),
            (r.count, r.views, r.clicks, r.purchases, r.max_produce_time),
        );
        assert!(
            previous.is_none(),
            "duplicate result for window {} campaign {}",
            r.window_id,
            r.campaign_id
        );
        assert!(
            r.emitted_at_ms >= r.max_produce_time,
            "emitted before its last event was produced"
        );
    }
    counts
}

/// Reads `expected` results from the results topic and returns them as counts, failing on a
/// duplicate (window, campaign) or a key that does not match its value.
pub fn read_results(kafka: &KafkaSection, expected: usize, deadline: Duration) -> Counts {
    let records = read_topic(
        &kafka.bootstrap,
        &kafka.results_topic,
        kafka.partitions,
        deadline,
        |rs| rs.len() >= expected,
    );
    let results: Vec<WindowResult> = records
        .iter()
        .map(|record| serde_json::from_slice(&record.value).expect("result JSON"))
        .collect();
    counts_of(&results)
}
