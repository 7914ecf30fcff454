//! What can stop an experiment, as typed data: the binaries word it as one line and choose the exit
//! code (130 for [`RunError::Interrupted`], 1 for the rest).

use std::path::PathBuf;
use std::process::ExitStatus;

use adstream_kafka::KafkaError;
use adstream_profile::hostfile::HostfileError;
use adstream_protocol::messages::MessageError;

use crate::experiment::role::Role;
use crate::services::broker::BrokerError;

/// Why a run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A Kafka problem (no broker, no topic, a client error).
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// The local broker could not be provisioned or started.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// A port could not be cut off the network for a fault.
    #[error(transparent)]
    Cut(#[from] crate::services::cut::CutError),
    /// The broker could not be watched.
    #[error(transparent)]
    Watch(#[from] crate::services::broker_watch::WatchError),
    /// The local broker died with memory storage: every event it held is gone.
    #[error(
        "the local broker at {address} {how}; its storage is memory, so every event it held is gone \
         and the run cannot be exact (run with --broker-storage sqlite to keep them)"
    )]
    BrokerLost {
        /// Where it listened.
        address: String,
        /// What happened, e.g. "exited with signal: 9 (SIGKILL)".
        how: String,
    },
    /// The local broker failed once too often.
    #[error(
        "the local broker at {address} {how}, and the run has no restarts left (--max-restarts)"
    )]
    BrokerFailedTooOften {
        /// Where it listened.
        address: String,
        /// What happened.
        how: String,
    },
    /// A broker the harness does not own stopped answering.
    #[error("the broker at {address} has not answered for {silent_s:.1} s: gone, hung or cut off")]
    BrokerGone {
        /// Its address.
        address: String,
        /// How long it has been silent.
        silent_s: f64,
    },
    /// The hostfile cannot be used.
    #[error(transparent)]
    Hostfile(#[from] HostfileError),
    /// The profile, completed for the run, cannot be used.
    #[error(transparent)]
    Config(#[from] adstream_profile::ConfigError),
    /// A metrics endpoint cannot be served.
    #[error(transparent)]
    Metrics(#[from] adstream_metrics::EndpointError),
    /// A local file or process operation failed.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Copying a job process's files to its host over ssh failed.
    #[error("cannot copy the run's files to {host} with {step}: {detail}")]
    Ssh {
        /// The host.
        host: String,
        /// `ssh` or `scp`.
        step: &'static str,
        /// What it said, or how it ended.
        detail: String,
    },
    /// A sibling binary is missing.
    #[error(
        "the `{name}` binary is not next to {} — build the whole workspace (`cargo build --release`)",
        beside.display()
    )]
    MissingBinary {
        /// The binary.
        name: String,
        /// The harness binary it should be next to.
        beside: PathBuf,
    },
    /// A child exited unsuccessfully.
    #[error("{child} exited with {status}; its last words: {last_words}")]
    ChildFailed {
        /// The child.
        child: Role,
        /// How it ended.
        status: ExitStatus,
        /// Its last stderr lines.
        last_words: String,
    },
    /// Another engine's job exited unsuccessfully.
    #[error("the job `{command}` exited with {status}; its last lines: {last_words}")]
    EngineFailed {
        /// Its command.
        command: String,
        /// How its guard ended: the command's status.
        status: ExitStatus,
        /// Its last lines, stdout and stderr.
        last_words: String,
    },
    /// Another engine's job exited by itself before the run could use it.
    #[error("the job exited {stage}; its last lines: {last_words}")]
    EngineEnded {
        /// When.
        stage: &'static str,
        /// Its last lines, stdout and stderr.
        last_words: String,
    },
    /// Another engine's job never wrote its ready line.
    #[error(
        "the job wrote no line containing `{ready_line}` within {timeout_s}s (job.ready_line, \
         --job-ready; job.ready_timeout_s, --job-ready-timeout); its last lines: {last_words}"
    )]
    EngineNotReady {
        /// The text looked for.
        ready_line: String,
        /// How long the harness waited.
        timeout_s: u64,
        /// Its last lines.
        last_words: String,
    },
    /// Another engine's job did not answer every (window, campaign) in time.
    #[error(
        "the job wrote no result for {missing} of the {expected} (window, campaign) pairs with \
         events within {timeout_s}s after the producers ended (job.finish_timeout_s, \
         --job-finish-timeout): {first}"
    )]
    EngineUnfinished {
        /// How long the harness waited.
        timeout_s: u64,
        /// Pairs without a result.
        missing: usize,
        /// Pairs with events.
        expected: usize,
        /// The first missing ones, described.
        first: String,
    },
    /// A reference engine could not be installed.
    #[error("cannot install the {engine} reference job: {reason}")]
    EngineInstall {
        /// The engine.
        engine: String,
        /// Why.
        reason: String,
    },
    /// A child wrote a line on stdout that is not one of the messages.
    #[error("{child} wrote a line the harness cannot read: {error}")]
    Unreadable {
        /// The child.
        child: Role,
        /// What is wrong with the line.
        error: MessageError,
    },
    /// A child sent a message that belongs to the other kind of child.
    #[error("{child} sent a `{kind}` message, which it never sends")]
    Misplaced {
        /// The child.
        child: Role,
        /// The message's kind.
        kind: &'static str,
    },
    /// The job's workers did not all report readiness in time.
    #[error("only {ready} of {workers} local job workers were ready within {timeout_s}s{hint}")]
    NotReady {
        /// Workers ready.
        ready: usize,
        /// Workers expected.
        workers: usize,
        /// The wait.
        timeout_s: u64,
        /// A hint when processes on other hosts are involved.
        hint: &'static str,
    },
    /// The job did not end after the producers did.
    #[error("the job did not finish within {0}s of the last producer's end")]
    JobDidNotFinish(u64),
    /// Children ended without their summaries.
    #[error(
        "missing summaries: {producers} of {expected_producers} producers, {job} of {expected_job} local job processes"
    )]
    MissingSummaries {
        /// Producer summaries received.
        producers: usize,
        /// Producers started.
        expected_producers: u32,
        /// Job summaries received.
        job: usize,
        /// Local job processes started.
        expected_job: u32,
    },
    /// The hostfile names no process on this machine.
    #[error(
        "hostfile {0} names no local process: the harness follows the job through at least one on this machine (127.0.0.1 or localhost)"
    )]
    NoLocalProcess(PathBuf),
    /// A plot could not be drawn.
    #[error("cannot draw {file}: {reason}")]
    Plot {
        /// The file.
        file: &'static str,
        /// Why.
        reason: String,
    },
    /// The run was interrupted (Ctrl-C, SIGTERM or SIGHUP): its children were stopped and a partial
    /// report written.
    #[error("interrupted: every child process was stopped; partial report in {0}")]
    Interrupted(String),
}

impl RunError {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| RunError::Io { what, source }
    }

    /// Whether the run was interrupted rather than failed.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, RunError::Interrupted(_))
    }
}
