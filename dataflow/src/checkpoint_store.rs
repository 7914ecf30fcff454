//! Where checkpoints are kept, and taking them on time.
//!
//! [`TopicStore`] (the default for a job with an id): one record per checkpoint in the topic
//! `<events topic>-checkpoints`, keyed `job/worker`, so the processes of a job spread over hosts share
//! nothing but the broker. A record is atomic, and loading reads the topic to its end and takes each
//! partition's newest valid entry of the job. The topic is created with `cleanup.policy=compact`, so a
//! Kafka cluster keeps only the newest record per key and storage stays bounded; the local broker
//! (tansu 0.6) does not compact, so there it grows by a few hundred bytes per worker per checkpoint —
//! long local runs use the directory store, as `harness run` does.
//!
//! [`DirStore`] (`job.checkpoint_dir`): one file per checkpoint in
//! `<dir>/<job id>/`, written to a temporary name and renamed into place (a reader never sees half a
//! file: a process killed mid-write leaves only a temporary file), the newest [`KEEP`] of each worker
//! kept and older ones deleted, so storage does not grow with the run. Loading takes each partition's
//! newest entry among the valid files of the job; a file that fails its checksum or does not parse is
//! reported and skipped, so the entry before it is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::admin::create_topic;
use adstream_kafka::metadata::CONNECT_TIMEOUT;
use adstream_kafka::settings::{Connection, admin_config, producer_config};
use rdkafka::admin::{AdminClient, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord};

use crate::checkpoint::{Checkpoint, PartitionCheckpoint};
use crate::readback::read_to_end;
use crate::window_state::WindowState;

/// Checkpoints kept per worker: the newest, and the one before it in case the newest is damaged.
pub const KEEP: usize = 2;

/// A place checkpoints are written to.
pub trait CheckpointStore: Send {
    /// Stores `checkpoint` atomically and prunes older ones of the same worker.
    fn save(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()>;
}

/// Checkpoints in a directory (local, or shared by every host of the job).
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

/// Newest entries per partition, collected from checkpoints in any order.
#[derive(Debug, Default)]
struct Newest(BTreeMap<i32, (u64, u64, PartitionCheckpoint)>);

impl Newest {
    fn offer(&mut self, checkpoint: Checkpoint) {
        for entry in checkpoint.partitions {
            let order = (checkpoint.taken_at_ms, checkpoint.seq);
            let newer = self
                .0
                .get(&entry.partition)
                .is_none_or(|(at, seq, _)| order > (*at, *seq));
            if newer {
                self.0.insert(entry.partition, (order.0, order.1, entry));
            }
        }
    }

    fn into_partitions(self) -> BTreeMap<i32, PartitionCheckpoint> {
        self.0.into_iter().map(|(p, (_, _, e))| (p, e)).collect()
    }
}

/// What loading found: each partition's newest valid entry, and the files that could not be used.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Per partition, its newest entry.
    pub partitions: BTreeMap<i32, PartitionCheckpoint>,
    /// Files skipped, each with why.
    pub corrupt: Vec<String>,
    /// Valid checkpoints read.
    pub valid: usize,
}

impl DirStore {
    /// The store of job `job` under `root`.
    pub fn new(root: &Path, job: &str) -> std::io::Result<Self> {
        let dir = root.join(job);
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// Reads every checkpoint of job `job` under `root` (none when the job has never checkpointed).
    pub fn load(root: &Path, job: &str) -> std::io::Result<Loaded> {
        let dir = root.join(job);
        let mut loaded = Loaded::default();
        let Ok(files) = std::fs::read_dir(&dir) else {
            return Ok(loaded);
        };
        let mut newest = Newest::default();
        for file in files {
            let path = file?.path();
            if path.extension().is_none_or(|e| e != "ckpt") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let checkpoint = match Checkpoint::decode(&text) {
                Ok(c) if c.job == job => c,
                Ok(c) => {
                    loaded
                        .corrupt
                        .push(format!("{}: belongs to job {:?}", path.display(), c.job));
                    continue;
                }
                Err(corrupt) => {
                    loaded
                        .corrupt
                        .push(format!("{}: {corrupt}", path.display()));
                    continue;
                }
            };
            loaded.valid += 1;
            newest.offer(checkpoint);
        }
        loaded.partitions = newest.into_partitions();
        Ok(loaded)
    }

    fn file_of(&self, c: &Checkpoint) -> PathBuf {
        self.dir.join(format!(
            "w{}-{:015}-{:09}.ckpt",
            c.worker, c.taken_at_ms, c.seq
        ))
    }
}

impl CheckpointStore for DirStore {
    fn save(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()> {
        let path = self.file_of(checkpoint);
        let partial = path.with_extension("partial");
        std::fs::write(&partial, checkpoint.encode())?;
        std::fs::rename(&partial, &path)?;
        // The names sort by time: keep this worker's newest few.
        let prefix = format!("w{}-", checkpoint.worker);
        let mut mine: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|f| f.ok().map(|f| f.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "ckpt")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })
            .collect();
        mine.sort();
        for old in mine.iter().rev().skip(KEEP) {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }
}

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

/// Takes a worker's checkpoints every interval.
pub struct Checkpointer {
    store: Box<dyn CheckpointStore>,
    job: String,
    worker: u32,
    every: Duration,
    last_ms: u64,
    seq: u64,
    errors: u64,
}

impl Checkpointer {
    /// Checkpoints of `worker` of job `job` into `store`, one per `every`.
    pub fn new(store: Box<dyn CheckpointStore>, job: &str, worker: u32, every: Duration) -> Self {
        Self {
            store,
            job: job.to_owned(),
            worker,
            every,
            last_ms: 0,
            seq: 0,
            errors: 0,
        }
    }

    /// Whether a checkpoint is due at `now_ms` (cheap: the source asks on every activation).
    pub fn is_due(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_ms) >= self.every.as_millis() as u64
    }

    /// Takes a checkpoint of `state` at `now_ms` if one is due and the dead letters are all delivered
    /// (an entry may only count a rejected record as done once its dead letter is safe);
    /// `delivered_below` is the results sink's delivered frontier. Whether one was taken and stored.
    pub fn maybe_take(
        &mut self,
        now_ms: u64,
        state: &mut WindowState,
        delivered_below: u64,
        dead_letters_settled: bool,
    ) -> bool {
        if !self.is_due(now_ms) || !dead_letters_settled || state.replaying() {
            return false;
        }
        self.last_ms = now_ms;
        self.seq += 1;
        let checkpoint = Checkpoint {
            job: self.job.clone(),
            worker: self.worker,
            taken_at_ms: now_ms,
            seq: self.seq,
            partitions: state.checkpoint(delivered_below),
        };
        if let Err(error) = self.store.save(&checkpoint) {
            self.errors += 1;
            if self.errors <= 3 {
                eprintln!("dataflow: cannot write a checkpoint: {error}");
            }
            return false;
        }
        true
    }
}
