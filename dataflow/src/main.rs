//! `dataflow`: one process of the stream job (SPEC §3, §5).
//!
//! Stdout carries the typed messages of `adstream_protocol::messages` for the harness, one per line:
//! `ready` once per worker when it has assigned its partitions and reads them (the harness starts the
//! producers after all workers said so), `progress` about once a second per worker, and one
//! `job_summary` at the end. Everything for people goes to stderr. The process exits 0 after every
//! expected producer's end marker was seen on every partition and every result was delivered.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use adstream_dataflow::assignment::partitions_of;
use adstream_dataflow::cluster::{ClusterError, timely_config};
use adstream_dataflow::io::RecordReader as _;
use adstream_dataflow::job::{Edges, run_worker};
use adstream_dataflow::kafka_reader::KafkaReader;
use adstream_dataflow::kafka_writers::{KafkaDeadLetters, KafkaResults};
use adstream_dataflow::watermark::{BoundedProgress, ExactProgress};
use adstream_dataflow::window_state::{Progress, WindowState};
use adstream_kafka::metadata::partition_count;
use adstream_kafka::settings::consumer_config;
use adstream_profile::ConfigError;
use adstream_profile::flags::{self, ConfigArg, JobArgs, KafkaArgs, Override, WindowArgs};
use adstream_profile::profile::{Profile, WindowMode};
use adstream_protocol::messages::{
    ChildMessage, JobCounts, JobSummary, WorkerProgress, WorkerReady,
};
use adstream_protocol::outbox::Outbox;
use anyhow::Context as _;
use clap::{Args, Parser};
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Aggregate ad events per campaign over event-time windows, from the events topic to the results topic.
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
}

/// This process's place in the run.
#[derive(Debug, Args)]
struct ProcessArgs {
    /// This process's index in the hostfile, 0-based [key: job.process]
    #[arg(long, value_name = "I")]
    process: Option<u32>,
    /// Producers the run has (ids 0..N): exact mode waits for each of them [key: producers.count]
    #[arg(long, value_name = "N")]
    producers: Option<u32>,
    /// The run's base time in Unix ms, as given to the producers [key: producers.base_time_ms]
    #[arg(long, value_name = "UNIX_MS")]
    base_time_ms: Option<u64>,
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
    }
}

/// jemalloc serves every allocation of the process, librdkafka's included (see the workspace manifest).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli: Cli = match flags::parse() {
        Ok(cli) => cli,
        Err(rejected) => return rejected.report(),
    };
    match configure(&cli).and_then(|(profile, config)| run(profile, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let usage = error.is::<ConfigError>() || error.is::<ClusterError>();
            ExitCode::from(if usage { flags::EXIT_USAGE } else { 1 })
        }
    }
}

/// The profile and timely configuration of this process.
fn configure(cli: &Cli) -> anyhow::Result<(Profile, timely::Config)> {
    let mut profile = cli
        .config
        .resolve(&[&cli.this, &cli.job, &cli.kafka, &cli.window])?;
    let config = timely_config(&profile.job)?;
    if profile.producers.base_time_ms.is_none() {
        match profile.job.mode {
            // Bounded mode counts windows from the Unix epoch unless told otherwise.
            WindowMode::Bounded => profile.producers.base_time_ms = Some(0),
            WindowMode::Exact => {
                return Err(ConfigError::Invalid {
                    key: "producers.base_time_ms",
                    flag: "--base-time-ms",
                    problem: "must be given: exact mode needs the run's base time (the harness passes it)"
                        .to_owned(),
                }
                .into());
            }
        }
    }
    Ok((profile, config))
}

/// The edges of every worker of this process, made before timely starts so that a broker problem is
/// one error here rather than a worker that fails while the others wait for it.
type WorkerEdges = Edges<KafkaReader, KafkaDeadLetters, KafkaResults>;

fn edges_of_this_process(profile: &Profile, partitions: u32) -> anyhow::Result<Vec<WorkerEdges>> {
    let k = &profile.kafka;
    let job = &profile.job;
    let peers = (job.processes * job.workers) as usize;
    let first = (job.process * job.workers) as usize;
    (first..first + job.workers as usize)
        .map(|worker| {
            let mine = partitions_of(worker, peers, partitions);
            Ok(Edges {
                reader: KafkaReader::assign(&k.bootstrap, &k.events_topic, mine, &BTreeMap::new())?,
                dead_letters: KafkaDeadLetters::new(&k.bootstrap, &k.dlq_topic())?,
                results: KafkaResults::new(&k.bootstrap, &k.results_topic)?,
            })
        })
        .collect()
}

/// Runs this process's workers to the end of the input; fails when some delivery failed.
fn run(profile: Profile, config: timely::Config) -> anyhow::Result<()> {
    let k = profile.kafka.clone();
    // Fail fast, with one line, before timely connects the processes.
    let probe: BaseConsumer = consumer_config(&k.bootstrap).create()?;
    let partitions = partition_count(probe.client(), &k.bootstrap, &k.events_topic)?;
    for topic in [&k.results_topic, &k.dlq_topic()] {
        partition_count(probe.client(), &k.bootstrap, topic)?;
    }
    drop(probe);
    // From here on stdout carries only messages; timely's own prints go to stderr.
    let outbox = Arc::new(Outbox::claim_stdout().context("take stdout for messages")?);
    let to_harness = Arc::clone(&outbox);
    let edges: Vec<Mutex<Option<WorkerEdges>>> = edges_of_this_process(&profile, partitions)?
        .into_iter()
        .map(|e| Mutex::new(Some(e)))
        .collect();

    let rules = profile
        .event_rules()
        .expect("configure() sets the base time");
    let producers: Vec<u32> = (0..profile.producers.count).collect();
    let process = profile.job.process;
    let first = (process * profile.job.workers) as usize;
    let guards = timely::execute(config, move |worker| {
        let edges = edges[worker.index() - first]
            .lock()
            .expect("edges lock")
            .take()
            .expect("each worker takes its edges once");
        let mine = edges.reader.partitions().to_vec();
        let progress = match profile.job.mode {
            WindowMode::Exact => Progress::Exact(ExactProgress::new(&mine, &producers)),
            WindowMode::Bounded => Progress::Bounded {
                watermark: BoundedProgress::new(
                    &mine,
                    profile.job.max_out_of_orderness_ms * 1_000_000,
                    profile.job.idle_timeout_ms,
                    0,
                ),
                ends: ExactProgress::new(&mine, &producers),
            },
        };
        let index = worker.index() as u32;
        let ready = WorkerReady {
            process,
            worker: index,
            partitions: mine,
        };
        let _ = to_harness.send(&ChildMessage::Ready(ready));
        let to_harness = Arc::clone(&to_harness);
        let report = move |c: &JobCounts| {
            let progress = WorkerProgress {
                process,
                worker: index,
                processed: c.processed,
                results: c.results,
            };
            let _ = to_harness.send(&ChildMessage::Progress(progress));
        };
        run_worker(worker, WindowState::new(rules, progress), edges, report)
    })
    .map_err(|e| anyhow::anyhow!("cannot start timely: {e}"))?;
    let mut total = JobCounts::default();
    for (i, worker) in guards.join().into_iter().enumerate() {
        total += worker.map_err(|e| anyhow::anyhow!("timely worker {i} failed: {e}"))?;
    }
    eprintln!(
        "dataflow process {process}: {} events, {} rejected, {} late, {} results in {} windows",
        total.processed,
        total.rejected,
        total.late,
        total.results,
        total.windows.len()
    );
    let failures = total.delivery_failures;
    let summary = JobSummary {
        process,
        counts: total,
        cpu_s: adstream_protocol::cpu::of_this_process(),
    };
    outbox
        .send(&ChildMessage::JobSummary(summary))
        .context("send the summary to the harness")?;
    anyhow::ensure!(
        failures == 0,
        "{failures} dead-letter or result deliveries failed"
    );
    Ok(())
}
