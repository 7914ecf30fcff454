//! Topics the job makes for itself: its dead-letter topic when it does not exist.

use adstream_kafka::KafkaError;
use adstream_kafka::admin::create_topic;
use adstream_kafka::settings::admin_config;
use adstream_profile::client::Connection;
use rdkafka::admin::{AdminClient, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

/// Creates the dead-letter topic `topic`, with the events topic's `partitions`, as `harness topics
/// create` would.
pub fn create_dead_letter_topic(
    kafka: &Connection,
    topic: &str,
    partitions: u32,
    replication: u16,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = admin_config(kafka)
        .create()
        .map_err(KafkaError::client("create admin client"))?;
    let new = NewTopic::new(
        topic,
        partitions as i32,
        TopicReplication::Fixed(i32::from(replication)),
    );
    create_topic(&admin, &new)?;
    eprintln!("dataflow: created the dead-letter topic `{topic}` ({partitions} partitions)");
    Ok(())
}
