//! `dataflow`: one process of the stream job (SPEC §3, §5).
//!
//! Stdout carries machine-readable lines for the harness, one JSON object each:
//! - `{"ready": {"process": P, "worker": W, "partitions": [...]}}` once per worker, when it has assigned
//!   its partitions and reads them (the harness starts producers after all workers said so);
//! - `{"progress": {"process": P, "worker": W, "processed": N, "results": N}}` about once a second;
//! - `{"summary": {"process": P, "processed": N, "rejected": N, "late": N, "cpu_s": S, ...}}` once at
//!   the end.
//!
//! Everything for people goes to stderr. The process exits 0 after every expected producer's end
//! marker was seen on every partition and every result was delivered.

use std::collections::BTreeMap;

use adstream_common::cli::{self, ConfigArg, JobArgs, KafkaArgs, Override, WindowArgs};
use adstream_common::config::{Profile, WindowMode};
use adstream_common::kafka;
use adstream_common::window::Windows;
use adstream_dataflow::assignment::partitions_of;
use adstream_dataflow::cluster::timely_config;
use adstream_dataflow::job::run_worker;
use adstream_dataflow::kafka_reader::KafkaReader;
use adstream_dataflow::kafka_writers::{KafkaDeadLetters, KafkaResults};
use adstream_dataflow::metrics::Metrics;
use adstream_dataflow::watermark::{BoundedProgress, ExactProgress};
use adstream_dataflow::window_state::{Progress, WindowState};
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

fn main() {
    let cli: Cli = cli::parse_or_exit();
    let profile = cli
        .config
        .resolve(&[&cli.this, &cli.job, &cli.kafka, &cli.window])
        .unwrap_or_else(|e| cli::config_error_exit(&e));
    let config = timely_config(&profile.job).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let base_ms = match (profile.producers.base_time_ms, profile.job.mode) {
        (Some(ms), _) => ms,
        (None, WindowMode::Bounded) => 0,
        (None, WindowMode::Exact) => {
            eprintln!(
                "error: exact mode needs the run's base time: pass --base-time-ms (the harness does) or set \
                 producers.base_time_ms"
            );
            std::process::exit(2);
        }
    };
    match run(profile, config, base_ms) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::exit(1);
        }
    }
}

/// Runs this process's workers; `Ok(false)` when some delivery failed.
fn run(profile: Profile, config: timely::Config, base_ms: u64) -> anyhow::Result<bool> {
    let k = profile.kafka.clone();
    // Fail fast, with one line, before timely connects the processes.
    let probe: BaseConsumer = kafka::consumer_config(&k.bootstrap).create()?;
    let partitions = kafka::partition_count(probe.client(), &k.bootstrap, &k.events_topic)?;
    for topic in [&k.results_topic, &k.dlq_topic()] {
        kafka::partition_count(probe.client(), &k.bootstrap, topic)?;
    }
    drop(probe);

    let windows = Windows::new(base_ms * 1_000_000, profile.window.size_ns());
    let producers: Vec<u32> = (0..profile.producers.count).collect();
    let process = profile.job.process;
    let guards = timely::execute(config, move |worker| {
        let mine = partitions_of(worker.index(), worker.peers(), partitions);
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
        let edges = KafkaReader::assign(&k.bootstrap, &k.events_topic, mine.clone(), &BTreeMap::new())
            .and_then(|reader| Ok((reader, KafkaDeadLetters::new(&k.bootstrap, &k.dlq_topic())?)))
            .and_then(|(reader, dlq)| Ok((reader, dlq, KafkaResults::new(&k.bootstrap, &k.results_topic)?)));
        let (reader, dead_letters, results) = match edges {
            Ok(edges) => edges,
            Err(error) => {
                // The other workers would wait for this one for ever: end the process.
                eprintln!("error: worker {}: {error}", worker.index());
                std::process::exit(1);
            }
        };
        let ready = serde_json::json!({"ready": {"process": process, "worker": worker.index(), "partitions": mine}});
        println!("{ready}");
        let index = worker.index();
        let report = move |m: &Metrics| {
            let line = serde_json::json!({"progress": {"process": process, "worker": index, "processed": m.processed, "results": m.results}});
            println!("{line}");
        };
        run_worker(worker, windows, WindowState::new(windows, progress), reader, dead_letters, results, report)
    })
    .map_err(|e| anyhow::anyhow!("cannot start timely: {e}"))?;
    let mut total = Metrics::default();
    for (i, worker) in guards.join().into_iter().enumerate() {
        total += worker
            .map_err(|e| anyhow::anyhow!("worker {i} failed: {e}"))
            .context("timely worker")?;
    }
    let mut summary = serde_json::to_value(&total)?;
    summary["process"] = process.into();
    summary["cpu_s"] = adstream_common::cpu::of_this_process().into();
    println!("{}", serde_json::json!({ "summary": summary }));
    eprintln!(
        "dataflow process {process}: {} events, {} rejected, {} late, {} results in {} windows",
        total.processed,
        total.rejected,
        total.late,
        total.results,
        total.windows.len()
    );
    if total.delivery_failures > 0 {
        eprintln!(
            "error: {} dead-letter or result deliveries failed",
            total.delivery_failures
        );
    }
    Ok(total.delivery_failures == 0)
}
