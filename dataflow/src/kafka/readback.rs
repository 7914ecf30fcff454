//! What an earlier incarnation of the job already wrote: per (window, campaign) in the results topic
//! when a job process starts, how many revisions and whether the final one. Its results writer skips
//! every (window, campaign) whose final result is there and numbers new revisions after the old ones,
//! so a restarted job — which recomputes what it had not finished — never writes a result twice nor
//! two records of one revision (ARCHITECTURE.md, "Fault
//! tolerance", exactly once without Kafka transactions, which the local broker lacks).
//!
//! The topic is read to the end the broker reports, then until it has been quiet for [`QUIET`]: the
//! local broker reports an end below its last batch's (see [`OrderedConsumer::reported_ends`]), and
//! the writer that could add to the topic (the job's previous incarnation) is gone, so silence
//! after the reported end is the end.

use std::collections::BTreeMap;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::OrderedConsumer;
use adstream_kafka::settings::consumer_config;
use adstream_profile::client::Connection;
use adstream_protocol::wire::WindowResult;
use rdkafka::message::Message as _;

/// How long the results topic must stay silent after its reported end.
const QUIET: Duration = Duration::from_millis(200);

/// What the results topic holds of one (window, campaign).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// The revision number after the highest there.
    pub next_revision: u32,
    /// Whether the final revision is there.
    pub finished: bool,
}

/// Per (window, campaign), what the results topic holds.
pub type Written = BTreeMap<(u64, u32), Held>;

/// What every (window, campaign) in `topic` holds.
pub fn written_results(kafka: &Connection, topic: &str) -> Result<Written, KafkaError> {
    let mut written = Written::new();
    read_to_end(kafka, topic, |value| {
        if let Ok(r) = serde_json::from_slice::<WindowResult>(value) {
            let held = written.entry((r.window_id, r.campaign_id)).or_default();
            held.next_revision = held.next_revision.max(r.revision + 1);
            held.finished |= r.is_final;
        }
    })?;
    Ok(written)
}

/// Hands the value of every record of `topic` to `each`: to the end the broker reports, then until
/// the topic has been quiet for [`QUIET`].
pub fn read_to_end(
    kafka: &Connection,
    topic: &str,
    mut each: impl FnMut(&[u8]),
) -> Result<(), KafkaError> {
    OrderedConsumer::assign_all(&consumer_config(kafka), &kafka.bootstrap, topic)?.read_all_now(
        QUIET,
        None,
        |message| {
            each(message.payload().unwrap_or_default());
        },
    )?;
    Ok(())
}
