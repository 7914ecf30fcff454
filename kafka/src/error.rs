//! A problem talking to Kafka, worded for the person running the command: typed data the binaries
//! turn into one line and an exit code.

use crate::settings::CONNECT_TIMEOUT;

/// A problem talking to Kafka, worded for the person running the command.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// No broker answered at the bootstrap address.
    #[error("cannot reach a Kafka broker at {bootstrap} within {}s ({reason}); start one with `harness broker` or pass --bootstrap HOST:PORT", CONNECT_TIMEOUT.as_secs())]
    Unreachable {
        /// The address tried.
        bootstrap: String,
        /// What the client said.
        reason: String,
    },
    /// The broker's address answers, but the connection failed its TLS handshake or SASL
    /// authentication.
    #[error(
        "the broker at {bootstrap} refused the connection: {reason}; check the TLS and SASL client properties ([kafka.properties], --kafka-property)"
    )]
    Refused {
        /// The address tried.
        bootstrap: String,
        /// What librdkafka reported.
        reason: String,
    },
    /// The broker answered but has no such topic.
    #[error(
        "topic `{topic}` does not exist on {bootstrap}; create it with `harness topics create`"
    )]
    MissingTopic {
        /// The topic.
        topic: String,
        /// The broker.
        bootstrap: String,
    },
    /// Any other client error.
    #[error("kafka {action}: {source}")]
    Client {
        /// What was being done.
        action: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
}

impl KafkaError {
    /// Wraps a client error with what was being done.
    pub fn client(action: impl Into<String>) -> impl FnOnce(rdkafka::error::KafkaError) -> Self {
        let action = action.into();
        move |source| KafkaError::Client { action, source }
    }
}
