//! Checkpoints in a topic of the broker (the default for a job with an id): one record per checkpoint in
//! the topic `<events topic>-checkpoints`, keyed `job/worker`, so the processes of a job spread over
//! hosts share nothing but the broker. A record is atomic, and loading reads the topic to its end and
//! takes each partition's newest valid entry of the job. The topic is created with
//! `cleanup.policy=compact`, so a Kafka cluster keeps only the newest record per key and storage stays
//! bounded; the local broker (tansu 0.6) does not compact, so there it grows by a few hundred bytes per
//! worker per checkpoint — long local runs use the directory store, as `harness run` does.

use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::admin::create_topic;
use adstream_kafka::settings::{CONNECT_TIMEOUT, admin_config, producer_config};
use adstream_profile::client::Connection;
use rdkafka::admin::{AdminClient, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord};

use crate::core::checkpoint::{Checkpoint, Loaded, Newest};
use crate::edges::CheckpointStore;
use crate::kafka::readback::read_to_end;

/// Checkpoints in a topic of the broker, shared by every host of the job.
pub struct TopicStore {
    producer: BaseProducer,
    topic: String,
}

impl TopicStore {
    /// The checkpoint topic of the events topic.
    pub fn topic_of(events_topic: &str) -> String {
        format!("{events_topic}-checkpoints")
    }

    /// Creates the checkpoint topic `topic` (compacted) if it does not exist; once per process.
    pub fn ensure_topic(kafka: &Connection, topic: &str) -> Result<(), KafkaError> {
        let admin: AdminClient<DefaultClientContext> = admin_config(kafka)
            .create()
            .map_err(KafkaError::client("create admin client"))?;
        // Compaction keeps the newest checkpoint per job and worker on a Kafka cluster. The local
        // broker (tansu 0.6) answers a creation with that setting as done but creates nothing, so a
        // topic still missing afterwards is created without it.
        let compacted =
            NewTopic::new(topic, 1, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
        create_topic(&admin, &compacted)?;
        let exists = admin
            .inner()
            .fetch_metadata(Some(topic), CONNECT_TIMEOUT)
            .map_err(KafkaError::client(format!("metadata of topic `{topic}`")))?
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
        if !exists {
            create_topic(&admin, &NewTopic::new(topic, 1, TopicReplication::Fixed(1)))?;
        }
        Ok(())
    }

    /// A store writing to `topic` of `kafka` (see [`TopicStore::ensure_topic`]).
    pub fn new(kafka: &Connection, topic: &str) -> Result<Self, KafkaError> {
        let producer = producer_config(kafka)
            .create()
            .map_err(KafkaError::client(format!("create producer for `{topic}`")))?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
        })
    }

    /// Reads every checkpoint of job `job` in `topic` (none when the topic does not exist yet).
    pub fn load(kafka: &Connection, topic: &str, job: &str) -> Result<Loaded, KafkaError> {
        let mut loaded = Loaded::default();
        let mut newest = Newest::default();
        let read = read_to_end(kafka, topic, |value| {
            let text = String::from_utf8_lossy(value);
            match Checkpoint::decode(&text) {
                Ok(c) if c.job == job => {
                    loaded.valid += 1;
                    newest.offer(c);
                }
                Ok(_) => {}
                Err(corrupt) => loaded
                    .corrupt
                    .push(format!("a record of `{topic}`: {corrupt}")),
            }
        });
        match read {
            Ok(()) => {}
            Err(KafkaError::MissingTopic { .. }) => return Ok(Loaded::default()),
            Err(error) => return Err(error),
        }
        loaded.partitions = newest.into_partitions();
        Ok(loaded)
    }
}

impl CheckpointStore for TopicStore {
    fn save(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()> {
        let key = format!("{}/{}", checkpoint.job, checkpoint.worker);
        let value = checkpoint.encode();
        let record = BaseRecord::to(&self.topic).key(&key).payload(&value);
        self.producer
            .send(record)
            .map_err(|(error, _)| std::io::Error::other(error))?;
        self.producer.poll(Duration::ZERO);
        Ok(())
    }
}
