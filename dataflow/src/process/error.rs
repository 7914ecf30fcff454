//! Why a job process failed: typed data the `dataflow` binary turns into one line and an exit code.

use adstream_kafka::KafkaError;
use adstream_profile::ConfigError;

use crate::operators::claim::ClaimError;
use crate::operators::job::{PeerSilent, Stopped};
use crate::process::cluster::ClusterError;

/// Why a job process failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The configuration cannot be run.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The cluster options cannot be used.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Kafka: no broker, no topic, a client error.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Stdout could not be taken for, or written with, the messages to the harness.
    #[error("cannot write messages to the harness on stdout: {0}")]
    Stdout(std::io::Error),
    /// Timely could not start (e.g. the other processes of the hostfile never connected).
    #[error("cannot start timely: {0}")]
    Timely(String),
    /// A worker thread failed.
    #[error("timely worker {0} failed: {1}")]
    Worker(usize, String),
    /// The checkpoint directory cannot be used.
    #[error("checkpoints: {0}")]
    Checkpoints(std::io::Error),
    /// The metrics endpoint cannot be served.
    #[error(transparent)]
    Metrics(#[from] adstream_metrics::EndpointError),
    /// Another process of the job went silent: gone, hung or cut off from this one.
    #[error("{silent} (it runs at {address})")]
    PeerSilent {
        /// Which, and for how long.
        silent: PeerSilent,
        /// Its hostfile line.
        address: String,
    },
    /// This incarnation could not claim the job.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// The results already written could not be read back.
    #[error("cannot read back the results already written: {0}")]
    ReadBack(String),
    /// The job was taken over by a newer incarnation.
    #[error(transparent)]
    Stopped(Stopped),
    /// Some dead-letter or result records were not delivered.
    #[error("{0} dead-letter or result deliveries failed")]
    Deliveries(u64),
}

impl ProcessError {
    /// Whether it is a mistake in the configuration or command line (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, ProcessError::Config(_) | ProcessError::Cluster(_))
    }
}
