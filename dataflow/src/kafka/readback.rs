//! What an earlier incarnation of the job already wrote: the (window, campaign) keys in the results
//! topic when a job process starts. Its results writer skips them, so a restarted job — which
//! recomputes what it had not finished — never writes a result twice (ARCHITECTURE.md, "Fault
//! tolerance", exactly once without Kafka transactions, which the local broker lacks).
//!
//! The topic is read to the end the broker reports, then until it has been quiet for [`QUIET`]: the
//! local broker reports an end below its last batch's (see [`OrderedConsumer::reported_ends`]), and
//! the writer that could add to the topic (the job's previous incarnation) is gone, so silence
//! after the reported end is the end.

use std::collections::BTreeSet;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::OrderedConsumer;
use adstream_kafka::settings::consumer_config;
use adstream_profile::client::Connection;
use adstream_protocol::wire::WindowResult;
use rdkafka::message::Message as _;

/// How long the results topic must stay silent after its reported end.
const QUIET: Duration = Duration::from_millis(200);

/// The (window, campaign) keys of every result in `topic`.
pub fn written_results(
    kafka: &Connection,
    topic: &str,
) -> Result<BTreeSet<(u64, u32)>, KafkaError> {
    let mut written = BTreeSet::new();
    read_to_end(kafka, topic, |value| {
        if let Ok(r) = serde_json::from_slice::<WindowResult>(value) {
            written.insert((r.window_id, r.campaign_id));
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
