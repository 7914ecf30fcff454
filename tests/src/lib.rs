//! Support for the end-to-end tests: the workspace's binaries, a real broker with topics, reading topics
//! back record by record, and the protocol's independent recount of the events topic.
//!
//! Run the tests with `cargo test --workspace`: that builds the `producer`, `dataflow` and `harness`
//! binaries these tests start as separate processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub mod browser;
pub mod netns;
pub mod python;
pub mod runs;
pub mod scrape;
pub mod sshd;
pub mod tls;
pub mod wire_tap;

use adstream_harness::services::broker::LocalBroker;
use adstream_harness::services::topics::Topics;
use adstream_kafka::ordered::{Next, OrderedConsumer};
use adstream_kafka::settings::consumer_config;
use adstream_profile::client::Connection;
use adstream_profile::profile::{KafkaSection, Profile};
use adstream_protocol::exactness::{Recount, Verification, declared_late_at};
use adstream_protocol::validity::EventRules;
use adstream_protocol::wire::{
    ControlKind, EndMarker, Event, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, Watermark,
    WindowResult,
};
use rdkafka::message::{Headers, Message};

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
        Self::create_topics(broker, kafka)
    }

    /// `harness run` on this broker's topics (`--bootstrap` and `--partitions` given); the caller adds
    /// the rest of the run's flags.
    pub fn harness_run(&self) -> std::process::Command {
        let mut command = std::process::Command::new(bin("harness"));
        command.args(["run", "--bootstrap", &self.kafka.bootstrap, "--partitions"]);
        command.arg(self.kafka.partitions.to_string());
        command
    }

    /// `broker` with the topics of `kafka` created through `kafka`'s connection (its bootstrap may
    /// be something in front of the broker, its properties TLS).
    pub fn create_topics(broker: LocalBroker, kafka: KafkaSection) -> Self {
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
    /// Its offset.
    pub offset: i64,
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

/// Reads every partition of `topic` from the beginning, in offset order as the job and the harness
/// read (the local broker can hand out a later batch before an earlier one), until `done` says the
/// records so far are all, or `deadline` passes (then panics).
pub fn read_topic(
    bootstrap: &str,
    topic: &str,
    partitions: u32,
    deadline: Duration,
    done: impl FnMut(&[ReadRecord]) -> bool,
) -> Vec<ReadRecord> {
    read_topic_over(
        &Connection::plain(bootstrap),
        topic,
        partitions,
        deadline,
        done,
    )
}

/// [`read_topic`] over a connection with client properties (TLS, SASL).
pub fn read_topic_over(
    kafka: &Connection,
    topic: &str,
    partitions: u32,
    deadline: Duration,
    mut done: impl FnMut(&[ReadRecord]) -> bool,
) -> Vec<ReadRecord> {
    let all: Vec<i32> = (0..partitions as i32).collect();
    let mut consumer =
        OrderedConsumer::assign(&consumer_config(kafka), topic, &all, &BTreeMap::new())
            .expect("consumer");
    let mut records = Vec::new();
    if done(&records) {
        return records;
    }
    let never = AtomicBool::new(false);
    let finished = consumer.read_until(
        &never,
        Duration::ZERO,
        Some(Instant::now() + deadline),
        |message| {
            let headers = message.headers().map_or_else(Vec::new, |hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            });
            records.push(ReadRecord {
                partition: message.partition(),
                offset: message.offset(),
                headers,
                value: message.payload().unwrap_or_default().to_vec(),
            });
            if done(&records) {
                Next::Done
            } else {
                Next::More
            }
        },
    );
    assert!(
        finished,
        "`{topic}` not complete within {deadline:?}: {} records",
        records.len()
    );
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
        Some(Some(ControlKind::Close) | None) => EventsRecord::Other,
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

/// Reads the events topic until every partition holds an end marker from each of `producers`; the
/// records in offset order per partition.
pub fn read_event_records(
    kafka: &KafkaSection,
    deadline: Duration,
    producers: u32,
) -> Vec<ReadRecord> {
    let partitions = kafka.partitions;
    // End markers still missing, counted over the records that arrived since the last look.
    let mut ends_missing = u64::from(partitions) * u64::from(producers);
    let mut looked = 0;
    read_topic(
        &kafka.bootstrap,
        &kafka.events_topic,
        partitions,
        deadline,
        |rs| {
            let ends = rs[looked..]
                .iter()
                .filter(|r| r.header(HEADER_KIND).as_deref() == Some("end"))
                .count();
            ends_missing -= ends as u64;
            looked = rs.len();
            ends_missing == 0
        },
    )
}

/// [`read_event_records`], classified, by partition.
pub fn read_events(
    kafka: &KafkaSection,
    deadline: Duration,
    producers: u32,
) -> BTreeMap<i32, Vec<EventsRecord>> {
    let mut by_partition: BTreeMap<i32, Vec<EventsRecord>> = BTreeMap::new();
    for r in &read_event_records(kafka, deadline, producers) {
        by_partition
            .entry(r.partition)
            .or_default()
            .push(classify(r));
    }
    by_partition
}

/// An independent recount of an events topic read back with [`read_topic`] (the protocol's recount,
/// not the job's code), under the run's validity `rules`: control records and invalid events are left
/// out exactly as the job leaves them out.
pub fn recount(records: &[ReadRecord], rules: EventRules) -> Recount {
    recount_with_late(records, rules, &[])
}

/// [`recount`], leaving out the events the job declared late: those whose dead letters are among
/// `dead_letters` with a `late:` reason (located by their source-position headers).
pub fn recount_with_late(
    records: &[ReadRecord],
    rules: EventRules,
    dead_letters: &[ReadRecord],
) -> Recount {
    let late = dead_letters
        .iter()
        .filter_map(|d| declared_late_at(|key| d.header(key)))
        .collect();
    let mut recount = Recount::new(rules).with_declared_late(late);
    for record in records {
        recount.offer(
            record.partition,
            record.offset,
            record.header(HEADER_KIND).is_some(),
            &record.value,
        );
    }
    recount
}

/// Whether a results-topic record is a final result.
pub fn is_final(record: &ReadRecord) -> bool {
    serde_json::from_slice::<WindowResult>(&record.value).is_ok_and(|r| r.is_final)
}

/// Reads the results topic until `expected` final results are in and compares every record — every
/// revision, not the last per key — with the recount.
pub fn verify_results(kafka: &KafkaSection, recount: &Recount, deadline: Duration) -> Verification {
    let expected = recount.tallies().len();
    let (mut finals, mut looked) = (0, 0);
    let records = read_topic(
        &kafka.bootstrap,
        &kafka.results_topic,
        kafka.partitions,
        deadline,
        |rs| {
            finals += rs[looked..].iter().filter(|r| is_final(r)).count();
            looked = rs.len();
            finals >= expected
        },
    );
    let results: Vec<WindowResult> = records
        .iter()
        .map(|record| serde_json::from_slice(&record.value).expect("result JSON"))
        .collect();
    for r in &results {
        assert!(
            r.emitted_at_ms >= r.max_produce_time,
            "window {} campaign {} emitted before its last event was produced",
            r.window_id,
            r.campaign_id
        );
    }
    recount.compare(&results)
}

/// The JSON file `name` (`report.json`, `summary.json`, `capacity.json`) a run, sweep or search wrote
/// into `out`.
pub fn run_json(out: &std::path::Path, name: &str) -> serde_json::Value {
    let path = out.join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The validity rules of the run whose profile.toml is in `out`.
pub fn rules_of_run(out: &std::path::Path) -> EventRules {
    Profile::from_file(&out.join("profile.toml"))
        .expect("the run's profile")
        .event_rules()
        .expect("a run's profile has its base time")
}

/// The lines of `stream` up to and including the first one `marks` (all of them if none does), and the
/// lines after it, still to be read.
pub fn lines_until<R: std::io::Read>(
    stream: R,
    marks: impl Fn(&str) -> bool,
) -> (Vec<String>, std::io::Lines<std::io::BufReader<R>>) {
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(stream).lines();
    let mut said = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        let marked = marks(&line);
        said.push(line);
        if marked {
            break;
        }
    }
    (said, lines)
}

/// The pids `pgrep` lists for `args` (e.g. `["-f", "needle"]`, `["-P", "1234"]`).
pub fn pgrep(args: &[&str]) -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .args(args)
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The job summary a `dataflow` process wrote among its messages on stdout.
pub fn job_summary_of(stdout: &[u8]) -> Option<adstream_protocol::messages::JobSummary> {
    use adstream_protocol::messages::ChildMessage;
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| ChildMessage::parse(line).ok())
        .find_map(|message| match message {
            ChildMessage::JobSummary(summary) => Some(summary),
            _ => None,
        })
}
