//! Exactness (ARCHITECTURE.md, "Exactness"), checked with the harness's own reading of the topics
//! and the protocol's recount ([`Recount`]), never the job's code: every record of the events topic
//! is offered to the recount, which counts the ones the validity rules accept, until the events end
//! (every producer's end marker is in, or every partition is read to where the job read it); then
//! every result record is compared with it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::{header, header_text};
use adstream_profile::profile::KafkaSection;
use adstream_protocol::exactness::{Recount, Verification, declared_late_at};
use adstream_protocol::once::WrittenOnce;
use adstream_protocol::validity::EventRules;
use adstream_protocol::wire::{
    ControlKind, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, WindowResult,
};
use rdkafka::Message;
use rdkafka::message::BorrowedMessage;

use crate::measure::topic_reader::{Next, TopicReader};

/// How long extra results are waited for once the expected count is in.
const EXTRA_RESULTS_QUIET: Duration = Duration::from_millis(500);

/// Where the events of a run end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsEnd {
    /// Every partition holds an end marker from each of this many producers of ours (ids 0..N).
    EndMarkers(u32),
    /// Each partition up to this offset (exclusive): where the job read to, for events of producers
    /// the harness did not start. A partition not listed holds nothing to count.
    ReadTo(BTreeMap<i32, i64>),
    /// Every record there is: at least to the end the broker reports, then until the topic has been
    /// quiet for [`QUIET`] (events of producers that have stopped, when where the job read is not
    /// known; the local broker reports an end below its last batch's).
    Quiet,
}

/// How long the events topic must stay silent to be complete when its end is not otherwise known.
const QUIET: Duration = Duration::from_millis(500);

/// What to verify: the topics of `kafka`, events up to `end`, under `rules`.
#[derive(Debug, Clone)]
pub struct VerifyPlan<'a> {
    /// The topics.
    pub kafka: &'a KafkaSection,
    /// Where the events end.
    pub end: EventsEnd,
    /// The validity rules of the run (its windows).
    pub rules: EventRules,
    /// How long reading the topics back may take.
    pub timeout: Duration,
}

/// Recounts the events topic and compares the results topic with it. `results` may be given when
/// already collected.
pub fn verify(
    plan: &VerifyPlan<'_>,
    results: Option<Vec<WindowResult>>,
) -> Result<Verification, KafkaError> {
    let deadline = Instant::now() + plan.timeout;
    let (recount, once, complete) = recount_events(plan, deadline)?;
    let results = match results {
        Some(results) => results,
        None => read_results(plan.kafka, recount.tallies().len(), deadline)?,
    };
    let mut verification = recount.compare(&results);
    if let Some(problem) = once.problem() {
        verification.fail_first(problem);
    }
    if !complete {
        let missing = match plan.end {
            EventsEnd::EndMarkers(_) => "every producer's end marker",
            EventsEnd::ReadTo(_) => "every record the job read",
            EventsEnd::Quiet => "the end it reports",
        };
        verification.fail_first(format!(
            "the events topic did not show {missing} within {}s",
            plan.timeout.as_secs()
        ));
    }
    Ok(verification)
}

/// The events-topic positions of the events the job declared late: its dead letters whose reason says
/// so, with their source position (none when the job has no dead-letter topic).
fn declared_late(
    kafka: &KafkaSection,
    deadline: Instant,
) -> Result<BTreeSet<(i32, i64)>, KafkaError> {
    let mut reader = match TopicReader::all(kafka, &kafka.dlq_topic()) {
        Err(KafkaError::MissingTopic { .. }) => return Ok(BTreeSet::new()),
        other => other?,
    };
    let mut late = BTreeSet::new();
    reader.read_all_now(QUIET, deadline, |message| {
        let header = |key: &str| header_text(message, key).map(str::to_owned);
        late.extend(declared_late_at(header));
    })?;
    Ok(late)
}

/// The recount of the events topic up to `plan.end`, and whether that end was reached by `deadline`.
/// Also which events of our producers are in the topic more than once.
pub fn recount_events(
    plan: &VerifyPlan<'_>,
    deadline: Instant,
) -> Result<(Recount, WrittenOnce, bool), KafkaError> {
    let late = declared_late(plan.kafka, deadline)?;
    let mut reader = TopicReader::all(plan.kafka, &plan.kafka.events_topic)?;
    let mut recount = Recount::new(plan.rules).with_declared_late(late);
    let mut once = WrittenOnce::new();
    let mut offer = |message: &BorrowedMessage<'_>| {
        let kind = header(message, HEADER_KIND).map(Option::unwrap_or_default);
        let value = message.payload().unwrap_or_default();
        recount.offer(message.partition(), message.offset(), kind.is_some(), value);
        if kind.is_none()
            && let (Some(producer), Some(seq)) = (
                header_text(message, HEADER_PRODUCER).and_then(|p| p.parse().ok()),
                header_text(message, HEADER_SEQ).and_then(|s| s.parse().ok()),
            )
        {
            once.offer(producer, seq);
        }
        kind.and_then(ControlKind::parse)
    };
    let never = AtomicBool::new(false);
    let complete = match &plan.end {
        EventsEnd::EndMarkers(producers) => {
            let mut missing = u64::from(reader.partitions()) * u64::from(*producers);
            missing == 0
                || reader.read_until(&never, Duration::ZERO, Some(deadline), |message| {
                    if offer(message) == Some(ControlKind::End) {
                        missing -= 1;
                    }
                    if missing == 0 { Next::Done } else { Next::More }
                })
        }
        EventsEnd::ReadTo(to) => {
            let mut left: BTreeMap<i32, i64> = to
                .iter()
                .filter(|(_, o)| **o > 0)
                .map(|(p, o)| (*p, *o))
                .collect();
            left.is_empty()
                || reader.read_until(&never, Duration::ZERO, Some(deadline), |message| {
                    let p = message.partition();
                    // Records past where the job read (produced after it ended) were not its input.
                    if let Some(&end) = left.get(&p)
                        && message.offset() < end
                    {
                        offer(message);
                        if message.offset() + 1 >= end {
                            left.remove(&p);
                        }
                    }
                    if left.is_empty() {
                        Next::Done
                    } else {
                        Next::More
                    }
                })
        }
        EventsEnd::Quiet => reader.read_all_now(QUIET, deadline, |message| {
            offer(message);
        })?,
    };
    Ok((recount, once, complete))
}

/// Reads results until `expected` final ones are in (every revision before them with them), then keeps
/// listening briefly for any extra ones.
fn read_results(
    kafka: &KafkaSection,
    expected: usize,
    deadline: Instant,
) -> Result<Vec<WindowResult>, KafkaError> {
    let mut reader = TopicReader::all(kafka, &kafka.results_topic)?;
    let stop = AtomicBool::new(false);
    let mut results: Vec<WindowResult> = Vec::new();
    let mut finals = 0;
    let mut take = |message: &rdkafka::message::BorrowedMessage<'_>| {
        if let Some(r) = message
            .payload()
            .and_then(|v| serde_json::from_slice::<WindowResult>(v).ok())
        {
            finals += usize::from(r.is_final);
            results.push(r);
        }
        finals
    };
    reader.read_until(&stop, Duration::ZERO, Some(deadline), |m| {
        if take(m) >= expected {
            Next::Done
        } else {
            Next::More
        }
    });
    // Anything after the expected count is extra; give it a moment to show.
    stop.store(true, Ordering::Relaxed);
    reader.read_until(&stop, EXTRA_RESULTS_QUIET, Some(deadline), |m| {
        take(m);
        Next::More
    });
    Ok(results)
}
