//! `dataflow`: one process of the stream job (ARCHITECTURE.md, "Windows and watermarks").
//!
//! Stdout carries the typed messages of `adstream_protocol::messages` for the harness, one per line:
//! `ready` once per worker when it has assigned its partitions and reads them (the harness starts the
//! producers after all workers said so), `progress` about once a second per worker, and one
//! `job_summary` at the end. Everything for people goes to stderr. The process exits 0 after every
//! expected producer's end marker was seen on every partition and every result was delivered (and,
//! with `--metrics-listen`, after serving its final metrics for `--metrics-linger-ms`).

use std::process::ExitCode;

use adstream_dataflow::process::{self, ProcessError, RunOptions};
use adstream_profile::flags::{
    self, ConfigArg, JobArgs, KafkaArgs, MetricsArgs, Override, WindowArgs,
};
use adstream_profile::profile::{Profile, keys};
use adstream_profile::served::Served;
use clap::{Args, Parser};

/// Aggregate ad events per campaign over event-time windows, from the events topic to the results
/// topic.
#[derive(Debug, Parser)]
#[command(name = "dataflow", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    this: ProcessArgs,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

/// This process's place in the run.
#[derive(Debug, Args)]
struct ProcessArgs {
    #[arg(long = keys::job::process.long(), help = keys::job::process.help, value_name = "I")]
    process: Option<u32>,
    #[arg(long = keys::producers::count.long(), value_name = "N",
          help = keys::producers::count.help_as("Producers the run has (ids 0..N): exact mode waits for each of them"))]
    producers: Option<u32>,
    #[arg(long = keys::producers::base_time_ms.long(), value_name = "UNIX_MS",
          help = keys::producers::base_time_ms.help_as("The run's base time in Unix ms, as given to the producers"))]
    base_time_ms: Option<u64>,
    /// Start from the beginning, ignoring the job's checkpoints (results already written are still
    /// not written again)
    #[arg(long)]
    fresh: bool,
    #[arg(long = keys::kafka::create_dlq.long(), help = keys::kafka::create_dlq.help)]
    no_create_dlq: bool,
    /// Fault injection for tests and experiments: abort once N results are written and delivered,
    /// right before the next one
    #[arg(long, value_name = "N")]
    crash_after_results: Option<u64>,
}

impl Override for ProcessArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(process) = self.process {
            profile.job.process = process;
        }
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
        if self.base_time_ms.is_some() {
            profile.producers.base_time_ms = self.base_time_ms;
        }
        if self.no_create_dlq {
            profile.kafka.create_dlq = false;
        }
    }
}

/// jemalloc serves every allocation of the process, librdkafka's included (see the workspace
/// manifest).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli: Cli = match flags::parse() {
        Ok(cli) => cli,
        Err(rejected) => return rejected.report(),
    };
    let outcome = cli
        .config
        .resolve(&[
            &cli.this,
            &cli.job,
            &cli.kafka,
            &cli.window,
            &cli.metrics.of(Served::Job),
        ])
        .map_err(ProcessError::from)
        .and_then(process::configure)
        .and_then(|(profile, config)| {
            let options = RunOptions {
                fresh: cli.this.fresh,
                crash_after_results: cli.this.crash_after_results,
            };
            process::run(profile, config, options)
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(if error.is_usage() {
                flags::EXIT_USAGE
            } else {
                1
            })
        }
    }
}
