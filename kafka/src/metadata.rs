//! Reachability and topic metadata: the first thing every binary asks the broker, so that an absent
//! broker or topic is one clear error within [`CONNECT_TIMEOUT`], never a hang.

use std::time::Duration;

use rdkafka::client::{Client, ClientContext};

use crate::error::KafkaError;

/// How long a binary waits for the broker's first answer before it gives up with a clear error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the broker for its metadata, turning silence into [`KafkaError::Unreachable`] within
/// [`CONNECT_TIMEOUT`].
pub fn check_reachable<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
) -> Result<(), KafkaError> {
    client
        .fetch_metadata(None, CONNECT_TIMEOUT)
        .map(|_| ())
        .map_err(|e| KafkaError::Unreachable {
            bootstrap: bootstrap.to_owned(),
            reason: e.to_string(),
        })
}

/// The number of partitions of `topic`, after checking the broker answers.
pub fn partition_count<C: ClientContext>(
    client: &Client<C>,
    bootstrap: &str,
    topic: &str,
) -> Result<u32, KafkaError> {
    check_reachable(client, bootstrap)?;
    let metadata = client
        .fetch_metadata(Some(topic), CONNECT_TIMEOUT)
        .map_err(KafkaError::client(format!("metadata of topic `{topic}`")))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len());
    if partitions == 0 {
        return Err(KafkaError::MissingTopic {
            topic: topic.to_owned(),
            bootstrap: bootstrap.to_owned(),
        });
    }
    Ok(partitions as u32)
}
