//! Exactness (SPEC §5), checked with the harness's own reading of the topics and the protocol's
//! recount ([`Recount`]), never the job's code: every record of the events topic is offered to the
//! recount, which counts the ones the validity rules accept, until every producer's end marker is in;
//! then every result record is compared with it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_profile::profile::KafkaSection;
use adstream_protocol::exactness::{Recount, Verification};
use adstream_protocol::validity::EventRules;
use adstream_protocol::wire::{ControlKind, HEADER_KIND, WindowResult};
use rdkafka::Message;
use rdkafka::message::Headers;

use crate::measure::topic_reader::{Next, TopicReader};

/// How long extra results are waited for once the expected count is in.
const EXTRA_RESULTS_QUIET: Duration = Duration::from_millis(500);

/// What to verify: the topics of `kafka`, events by `producers` producers (ids 0..N), under `rules`.
#[derive(Debug, Clone)]
pub struct VerifyPlan<'a> {
    /// The topics.
    pub kafka: &'a KafkaSection,
    /// How many producers end the events topic with their end markers.
    pub producers: u32,
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
    let mut reader = TopicReader::all(plan.kafka, &plan.kafka.events_topic)?;
    let mut ends_missing = u64::from(reader.partitions()) * u64::from(plan.producers);
    let mut recount = Recount::new(plan.rules);
    let complete = reader.read_until(
        &AtomicBool::new(false),
        Duration::ZERO,
        Some(deadline),
        |message| {
            let kind = message.headers().and_then(|hs| {
                hs.iter()
                    .find(|h| h.key == HEADER_KIND)
                    .map(|h| h.value.unwrap_or_default())
            });
            if kind.and_then(ControlKind::parse) == Some(ControlKind::End) {
                ends_missing -= 1;
            }
            recount.offer(kind.is_some(), message.payload().unwrap_or_default());
            if ends_missing == 0 {
                Next::Done
            } else {
                Next::More
            }
        },
    );
    let results = match results {
        Some(results) => results,
        None => read_results(plan.kafka, recount.tallies().len(), deadline)?,
    };
    let mut verification = recount.compare(&results);
    if !complete {
        verification.fail_first(format!(
            "the events topic did not show every producer's end marker within {}s",
            plan.timeout.as_secs()
        ));
    }
    Ok(verification)
}

/// Reads `expected` results, then keeps listening briefly for any extra ones.
fn read_results(
    kafka: &KafkaSection,
    expected: usize,
    deadline: Instant,
) -> Result<Vec<WindowResult>, KafkaError> {
    let mut reader = TopicReader::all(kafka, &kafka.results_topic)?;
    let stop = AtomicBool::new(false);
    let mut results: Vec<WindowResult> = Vec::new();
    let mut take = |message: &rdkafka::message::BorrowedMessage<'_>| {
        if let Some(r) = message
            .payload()
            .and_then(|v| serde_json::from_slice(v).ok())
        {
            results.push(r);
        }
        results.len()
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
