//! Topic administration the binaries do for themselves: creating a topic that may already exist.

use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::KafkaError;
use crate::metadata::CONNECT_TIMEOUT;

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
