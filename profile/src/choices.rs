//! The values of the keys that choose among a few: a producer's traffic shape, how windows close, how
//! results are written, how remote job processes start, where the local broker keeps its data, and which reference engine runs. Each is a lowercase word in a profile and on the command line.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The traffic shape of a producer (ARCHITECTURE.md, "The pipeline").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// Exactly `rate` events each second, evenly spaced.
    Uniform,
    /// A Poisson process of the given rate: exponential inter-arrival gaps.
    Poisson,
    /// A two-state Markov-modulated Poisson process: bursts and lulls lasting seconds.
    Mmpp,
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generator::Uniform => "uniform",
            Generator::Poisson => "poisson",
            Generator::Mmpp => "mmpp",
        })
    }
}

/// How the job decides that a window is final (ARCHITECTURE.md, "Windows and watermarks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WindowMode {
    /// Every expected producer has passed the window on every partition (events, watermarks, end
    /// markers): nothing guessed, nothing dropped.
    Exact,
    /// Max event time seen minus `max_out_of_orderness_ms`, with an idle-partition timeout: for
    /// records without our headers.
    Bounded,
}

/// How the job writes results (`job.output`, `--output`; ARCHITECTURE.md, "Output modes"). Spark
/// Structured Streaming calls these output modes *append* and *update*; Flink gets the second with
/// early-firing triggers and allowed lateness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// One final result per (window, campaign), when the window closes.
    #[default]
    Append,
    /// A revision of every changed (window, campaign) each update interval while its window is open,
    /// more for late events within the allowed lateness, and a final one when the lateness horizon
    /// passes.
    Update,
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputMode::Append => "append",
            OutputMode::Update => "update",
        })
    }
}

/// How `harness run` starts job processes on other hosts (`job.launch`, `--launch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Launch {
    /// Print the command for each remote hostfile line and wait for the user to run it.
    #[default]
    Print,
    /// Copy the profile and hostfile there and start `dataflow` over the system's `ssh`.
    Ssh,
}

/// Where the local broker that `harness run` starts keeps its data (`kafka.broker_storage`,
/// `--broker-storage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BrokerStorage {
    /// In memory: fast, and a broker crash loses every event.
    #[default]
    Memory,
    /// In a SQLite file in the run's directory: a broker crash loses nothing and the harness restarts
    /// it with its data; tansu 0.6's SQLite engine holds only light loads (BENCHMARKS.md).
    Sqlite,
}

impl fmt::Display for BrokerStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BrokerStorage::Memory => "memory",
            BrokerStorage::Sqlite => "sqlite",
        })
    }
}

/// A reference stream job kept in the repository (`job.engine`, `--engine`): what `harness run` and
/// `harness compare` start instead of a command of the user's (README, "Any engine").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// adstream's own job, started through the engine contract like the others.
    Adstream,
    /// Spark Structured Streaming: the seed's `SparkJob.py`.
    Spark,
    /// Pathway, with its Kafka connector.
    Pathway,
    /// Bytewax, with its Kafka source and sink.
    Bytewax,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Adstream => "adstream",
            Engine::Spark => "spark",
            Engine::Pathway => "pathway",
            Engine::Bytewax => "bytewax",
        })
    }
}
