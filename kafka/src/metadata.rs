//! Reachability and topic metadata: the first thing every binary asks the broker, so that an absent
//! broker or topic is one clear error within [`CONNECT_TIMEOUT`], never a hang.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError as ClientError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};

use crate::error::KafkaError;
use crate::settings::{CONNECT_TIMEOUT, admin_config};
use adstream_profile::client::Connection;

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

/// A client context that keeps what librdkafka reported on its own (a failed TLS handshake, a refused
/// SASL authentication), which a request that merely times out does not say.
#[derive(Debug, Default)]
pub struct Reporting {
    errors: Mutex<Vec<String>>,
}

impl Reporting {
    /// The most telling error reported: the first about TLS or SASL, else the first.
    fn telling(&self) -> Option<(String, bool)> {
        let errors = self.errors.lock().ok()?;
        let security = |r: &&String| {
            ["SSL", "SASL", "ssl", "sasl", "uthenticat", "certificate"]
                .iter()
                .any(|w| r.contains(w))
        };
        match errors.iter().find(security) {
            Some(reason) => Some((reason.clone(), true)),
            None => errors.first().map(|r| (r.clone(), false)),
        }
    }
}

impl Reporting {
    fn keep(&self, message: &str) {
        // librdkafka prefixes the thread's name: `[thrd:ssl://host:port/bootstrap]: `.
        let message = match message.strip_prefix("[thrd:") {
            Some(rest) => rest.split_once("]: ").map_or(message, |(_, m)| m),
            None => message,
        };
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(message.to_owned());
        }
    }
}

impl ClientContext for Reporting {
    fn log(&self, level: RDKafkaLogLevel, _facility: &str, message: &str) {
        // Warnings and worse: a failed handshake or authentication is logged at those levels.
        if (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            self.keep(message);
        }
    }

    fn error(&self, error: ClientError, reason: &str) {
        if reason.is_empty() {
            self.keep(&error.to_string());
        } else {
            self.keep(reason);
        }
    }
}

impl ProducerContext for Reporting {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

/// Whether the broker at `c` answers `c`'s client properties within [`CONNECT_TIMEOUT`]: the first
/// thing every binary asks. When it does not, the error says what librdkafka reported — a TLS or SASL
/// failure is [`KafkaError::Refused`], with its reason, not a silent timeout.
pub fn reach(c: &Connection) -> Result<(), KafkaError> {
    // A producer, because polling it hands librdkafka's error events to the context; it sends nothing.
    let client: BaseProducer<Reporting> = admin_config(c)
        .create_with_context(Reporting::default())
        .map_err(KafkaError::client("create client"))?;
    let Err(error) = client.client().fetch_metadata(None, CONNECT_TIMEOUT) else {
        return Ok(());
    };
    client.poll(Duration::ZERO);
    let bootstrap = c.bootstrap.clone();
    Err(match client.context().telling() {
        Some((reason, true)) => KafkaError::Refused { bootstrap, reason },
        Some((reason, false)) => KafkaError::Unreachable { bootstrap, reason },
        None => KafkaError::Unreachable {
            bootstrap,
            reason: error.to_string(),
        },
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
