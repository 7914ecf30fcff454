//! Resuming a producer after a crash: which of its events the topic already holds.
//!
//! The rule: a producer's events carry its id and sequence number (headers `producer` and `seq`), its
//! sequence is deterministic (the same seed, id and base time give the same events on the same
//! partitions), and within one partition its records are stored in the order sent (the idempotent
//! client neither loses, duplicates nor reorders a partition's records). So the highest sequence
//! number of its own in a partition says exactly which of its events that partition holds: every one
//! it sent there up to that number. A restarted producer regenerates its whole sequence and sends only
//! the events above that number in their partition — none lost, none written twice. An end marker of
//! its own in a partition means that partition is finished and gets no second one.
//!
//! [`Resume`] is the rule, free of I/O; [`read_resume`] reads the topic for it. Reading must go past
//! every record the previous incarnation got stored, so it must be gone before the new one reads (the
//! harness restarts a producer only after its exit): each partition is read to the end the broker
//! reports, then on until a record created after the reading began (stored after everything of the old
//! incarnation) or a quiet spell (nobody writes there) shows that nothing of the old one is left to
//! come.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::{OrderedConsumer, header, header_text};
use adstream_kafka::settings::consumer_config;
use adstream_profile::client::Connection;
use adstream_protocol::clock::unix_ms;
use adstream_protocol::wire::{ControlKind, EndMarker, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ};
use rdkafka::message::Message as _;

/// Which of one producer's events and end markers a topic already holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// Per partition, the highest sequence number of this producer's there.
    last_seq: BTreeMap<u32, u64>,
    /// Partitions holding this producer's end marker.
    ended: BTreeSet<u32>,
}

impl Resume {
    /// Nothing held: a producer's first start.
    pub fn fresh() -> Self {
        Self::default()
    }

    /// The producer's event `seq` is in `partition`.
    pub fn found_event(&mut self, partition: u32, seq: u64) {
        let last = self.last_seq.entry(partition).or_insert(seq);
        *last = (*last).max(seq);
    }

    /// The producer's end marker is in `partition`.
    pub fn found_end(&mut self, partition: u32) {
        self.ended.insert(partition);
    }

    /// Whether `partition` already holds the producer's event `seq` (sent there by an earlier
    /// incarnation).
    pub fn holds(&self, partition: u32, seq: u64) -> bool {
        self.last_seq
            .get(&partition)
            .is_some_and(|&last| seq <= last)
    }

    /// Whether `partition` already holds the producer's end marker.
    pub fn ended(&self, partition: u32) -> bool {
        self.ended.contains(&partition)
    }

    /// What is held, for people: e.g. "partition 0 up to seq 4711, partition 1 ended".
    pub fn describe(&self) -> String {
        if self.is_fresh() {
            return "none of its events are stored yet".to_owned();
        }
        let mut parts: BTreeSet<u32> = self.last_seq.keys().copied().collect();
        parts.extend(&self.ended);
        let each: Vec<String> = parts
            .iter()
            .map(|p| match (self.last_seq.get(p), self.ended(*p)) {
                (_, true) => format!("partition {p} ended"),
                (Some(seq), false) => format!("partition {p} up to seq {seq}"),
                (None, false) => format!("partition {p} none"),
            })
            .collect();
        each.join(", ")
    }

    /// Whether nothing of the producer's is held.
    pub fn is_fresh(&self) -> bool {
        self.last_seq.is_empty() && self.ended.is_empty()
    }
}

/// Why a producer could not find where its events end.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The topic could not be read.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Reading did not finish in time.
    #[error("reading `{topic}` for producer {producer}'s events took over {seconds} s")]
    TooSlow {
        /// The topic.
        topic: String,
        /// The producer.
        producer: u32,
        /// The patience.
        seconds: u64,
    },
}

/// How long a partition must be quiet, once read to its reported end, for its records to be taken as
/// all there are.
const QUIET: Duration = Duration::from_millis(500);
/// How long reading the topic may take.
const PATIENCE: Duration = Duration::from_secs(120);

/// A partition's reading: to its reported end, then until a record newer than the reading or quiet.
#[derive(Debug, Clone, Copy)]
struct Reading {
    end: i64,
    reached: bool,
    newer_seen: bool,
    last_record: Instant,
}

impl Reading {
    fn done(&self, now: Instant) -> bool {
        self.reached && (self.newer_seen || now.duration_since(self.last_record) >= QUIET)
    }
}

/// Reads every partition of `topic` for what producer `producer` already stored there (see the module
/// doc for when reading stops).
pub fn read_resume(
    connection: &Connection,
    topic: &str,
    producer: u32,
) -> Result<Resume, ResumeError> {
    let began_ms = unix_ms() as i64;
    let began = Instant::now();
    let mut consumer =
        OrderedConsumer::assign_all(&consumer_config(connection), &connection.bootstrap, topic)?;
    let mut partitions: BTreeMap<i32, Reading> = consumer
        .reported_ends()?
        .into_iter()
        .map(|(p, end)| {
            let reading = Reading {
                end,
                reached: end <= 0,
                newer_seen: false,
                last_record: began,
            };
            (p, reading)
        })
        .collect();
    let ours = producer.to_string();
    let mut resume = Resume::fresh();
    while !partitions.values().all(|r| r.done(Instant::now())) {
        if began.elapsed() > PATIENCE {
            return Err(ResumeError::TooSlow {
                topic: topic.to_owned(),
                producer,
                seconds: PATIENCE.as_secs(),
            });
        }
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(20)) else {
            continue;
        };
        let partition = message.partition();
        if let Some(reading) = partitions.get_mut(&partition) {
            reading.last_record = Instant::now();
            reading.reached |= message.offset() + 1 >= reading.end;
            reading.newer_seen |= message.timestamp().to_millis().unwrap_or(0) >= began_ms;
        }
        if header_text(&message, HEADER_PRODUCER) != Some(ours.as_str()) {
            continue;
        }
        let partition = partition as u32;
        let kind = header(&message, HEADER_KIND).map(Option::unwrap_or_default);
        match kind.map(ControlKind::parse) {
            Some(Some(ControlKind::End)) => {
                let marker = message
                    .payload()
                    .and_then(|v| serde_json::from_slice::<EndMarker>(v).ok());
                if marker.is_some_and(|m| m.producer == producer) {
                    resume.found_end(partition);
                }
            }
            Some(_) => {}
            None => {
                if let Some(seq) = header_text(&message, HEADER_SEQ).and_then(|s| s.parse().ok()) {
                    resume.found_event(partition, seq);
                }
            }
        }
    }
    Ok(resume)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_holds_every_event_up_to_the_highest_found_there() {
        let mut resume = Resume::fresh();
        assert!(resume.is_fresh());
        resume.found_event(1, 40);
        resume.found_event(1, 7);
        resume.found_event(2, 3);
        assert!(resume.holds(1, 0) && resume.holds(1, 40) && !resume.holds(1, 41));
        assert!(resume.holds(2, 3) && !resume.holds(2, 4));
        assert!(!resume.holds(0, 0));
        assert!(!resume.ended(1));
        resume.found_end(1);
        assert!(resume.ended(1) && !resume.ended(2));
        assert!(!resume.is_fresh());
    }
}
