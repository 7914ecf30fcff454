//! Topic administration the binaries do for themselves: creating a topic that may already exist, and
//! reading the one topic setting a producer sizes its batches by.

use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::KafkaError;
use crate::settings::CONNECT_TIMEOUT;

/// Creates `new`; a topic that exists already is fine.
pub fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    new: &NewTopic<'_>,
) -> Result<(), KafkaError> {
    let options = AdminOptions::new().operation_timeout(Some(CONNECT_TIMEOUT));
    let created = block_on(admin.create_topics([new], &options))
        .map_err(KafkaError::client(format!("create topic `{}`", new.name)))?;
    for result in created {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaError::Client {
                    action: format!("create topic `{name}`"),
                    source: rdkafka::error::KafkaError::AdminOp(code),
                });
            }
        }
    }
    Ok(())
}

/// The largest record batch `topic` accepts (its `max.message.bytes`), when the broker says: a Kafka
/// broker always does; the local broker only for a topic created with it. `None` as well when the
/// broker will not describe the topic (a cluster may deny DescribeConfigs): the caller then keeps to
/// Kafka's default, which every broker takes.
pub fn max_message_bytes(admin: &AdminClient<DefaultClientContext>, topic: &str) -> Option<u32> {
    let options = AdminOptions::new().request_timeout(Some(CONNECT_TIMEOUT));
    let described = block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &options));
    described
        .ok()?
        .into_iter()
        .next()?
        .ok()?
        .get("max.message.bytes")?
        .value
        .as_deref()?
        .parse()
        .ok()
}
