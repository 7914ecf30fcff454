//! Topic administration (the seed's topic_creation.py and clear_topics.py): create, clear and list the
//! events, results and dead-letter topics of a profile.

use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::metadata::reach;
use adstream_kafka::settings::CONNECT_TIMEOUT;
use adstream_kafka::settings::{EVENTS_TOPIC_MAX_MESSAGE_BYTES, admin_config};
use adstream_profile::profile::KafkaSection;
use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

/// How long deleted topics may take to disappear before they are created again.
const RECREATE_TIMEOUT: Duration = Duration::from_secs(10);

/// One topic as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Its name.
    pub name: String,
    /// Its partition count.
    pub partitions: u32,
}

/// The topics an admin operation succeeded on; `harmless` (the topic already was as asked) is skipped,
/// any other error fails the whole operation naming the topic.
fn succeeded(
    results: Vec<rdkafka::admin::TopicResult>,
    harmless: RDKafkaErrorCode,
    verb: &str,
) -> Result<Vec<String>, KafkaError> {
    let mut done = Vec::new();
    for result in results {
        match result {
            Ok(name) => done.push(name),
            Err((_, code)) if code == harmless => {}
            Err((name, code)) => {
                return Err(KafkaError::Client {
                    action: format!("{verb} topic `{name}`"),
                    source: rdkafka::error::KafkaError::AdminOp(code),
                });
            }
        }
    }
    Ok(done)
}

/// An admin connection to one broker, for the topics of one profile.
pub struct Topics {
    admin: AdminClient<DefaultClientContext>,
    kafka: KafkaSection,
}

impl Topics {
    /// Connects to the profile's broker, failing within a few seconds if none answers.
    pub fn connect(kafka: &KafkaSection) -> Result<Self, KafkaError> {
        let admin: AdminClient<DefaultClientContext> =
            admin_config(&kafka.connection())
                .create()
                .map_err(KafkaError::client("create admin client"))?;
        reach(&kafka.connection())?;
        Ok(Self {
            admin,
            kafka: kafka.clone(),
        })
    }

    /// The profile's topics: events, results and dead letters.
    pub fn names(&self) -> [String; 3] {
        [
            self.kafka.events_topic.clone(),
            self.kafka.results_topic.clone(),
            self.kafka.dlq_topic(),
        ]
    }

    fn options() -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(CONNECT_TIMEOUT))
    }

    /// Creates the profile's topics with its partition count and replication; topics that already
    /// exist are kept. Returns the names created.
    pub fn create(&self) -> Result<Vec<String>, KafkaError> {
        let names = self.names();
        let max_message_bytes = EVENTS_TOPIC_MAX_MESSAGE_BYTES.to_string();
        let new: Vec<NewTopic<'_>> = names
            .iter()
            .map(|name| {
                let topic = NewTopic::new(
                    name,
                    self.kafka.partitions as i32,
                    TopicReplication::Fixed(i32::from(self.kafka.replication)),
                );
                if *name == self.kafka.events_topic {
                    // Room for the producers' largest batches (settings::EVENTS_BATCH_BYTES).
                    topic.set("max.message.bytes", &max_message_bytes)
                } else {
                    topic
                }
            })
            .collect();
        let results = block_on(self.admin.create_topics(&new, &Self::options()))
            .map_err(KafkaError::client("create topics"))?;
        succeeded(results, RDKafkaErrorCode::TopicAlreadyExists, "create")
    }

    /// Deletes the profile's topics that exist. Returns the names deleted.
    pub fn delete(&self) -> Result<Vec<String>, KafkaError> {
        let existing: Vec<String> = self.list()?.into_iter().map(|t| t.name).collect();
        let names: Vec<&str> = existing
            .iter()
            .filter(|name| self.names().contains(name))
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let results = block_on(self.admin.delete_topics(&names, &Self::options()))
            .map_err(KafkaError::client("delete topics"))?;
        succeeded(results, RDKafkaErrorCode::UnknownTopicOrPartition, "delete")
    }

    /// Empties the profile's topics: deletes them and creates them again, so a run starts from offset 0
    /// with the configured partition count.
    pub fn clear(&self) -> Result<(), KafkaError> {
        self.delete()?;
        let deadline = Instant::now() + RECREATE_TIMEOUT;
        loop {
            let names = self.names();
            let gone = self.list()?.iter().all(|t| !names.contains(&t.name));
            if gone || Instant::now() > deadline {
                break;
            }
        }
        self.create()?;
        self.check_partitions()
    }

    /// Fails if the events topic exists with another partition count than the profile's.
    pub fn check_partitions(&self) -> Result<(), KafkaError> {
        let topics = self.list()?;
        if let Some(events) = topics.iter().find(|t| t.name == self.kafka.events_topic)
            && events.partitions != self.kafka.partitions
        {
            return Err(KafkaError::Client {
                action: format!(
                    "topic `{}` has {} partitions, not {}; run `harness topics clear` to recreate it",
                    events.name, events.partitions, self.kafka.partitions
                ),
                source: rdkafka::error::KafkaError::AdminOp(RDKafkaErrorCode::InvalidPartitions),
            });
        }
        Ok(())
    }

    /// Every topic on the broker with its partition count, sorted by name.
    ///
    /// Record counts are not listed: tansu 0.6.0 reports a partition's high watermark per batch rather
    /// than per record, so offsets cannot be trusted as counts there.
    pub fn list(&self) -> Result<Vec<TopicInfo>, KafkaError> {
        let metadata = self
            .admin
            .inner()
            .fetch_metadata(None, CONNECT_TIMEOUT)
            .map_err(KafkaError::client("list topics"))?;
        let mut topics: Vec<TopicInfo> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
            .map(|t| TopicInfo {
                name: t.name().to_owned(),
                partitions: t.partitions().len() as u32,
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }
}
