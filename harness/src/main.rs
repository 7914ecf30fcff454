//! `harness`: the front door (SPEC §3) — the local broker, topic administration and whole runs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adstream_harness::run::unix_ms;

use adstream_common::cli::{
    self, ConfigArg, JobArgs, KafkaArgs, Override, TrafficArgs, WindowArgs,
};
use adstream_common::config::{DEFAULT_BOOTSTRAP, Profile};
use adstream_common::kafka;
use adstream_harness::broker::LocalBroker;
use adstream_harness::topics::Topics;
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

/// Run adstream experiments: broker, topics, producers and reports.
#[derive(Debug, Parser)]
#[command(name = "harness", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run one experiment: broker, fresh topics, the stream job, producers, summary.
    Run(Box<RunArgs>),
    /// Run the local broker (tansu, memory storage) in the foreground until interrupted.
    Broker(BrokerArgs),
    /// Create, clear or list the events, results and dead-letter topics.
    Topics(TopicsArgs),
    /// Check exactness on its own: recount the events topic and compare the results topic with it.
    Verify(ReadArgs),
    /// The latency collector on its own, over an existing results topic (the seed's latency_calculator).
    Latency(ReadArgs),
    /// Benchmark baseline: read the events topic with a bare consumer (no parsing) until every partition
    /// holds an end marker from each producer, and report the rate.
    Drain(ReadArgs),
}

#[derive(Debug, Args)]
struct ReadArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Producers of the run (ids 0..N): the events topic is complete with all their end markers
    /// [key: producers.count]
    #[arg(long, value_name = "N")]
    producers: Option<u32>,
}

impl Override for ReadArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    traffic: TrafficArgs,
    #[command(flatten)]
    window: WindowArgs,
    /// Number of producer processes [key: producers.count]
    #[arg(long)]
    producers: Option<u32>,
    #[command(flatten)]
    job: JobArgs,
    /// Directory for the run's files (effective profile, hostfile, summary.json); default out/run-<unix ms>
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Show the job's and producers' stderr as it comes
    #[arg(long, short)]
    verbose: bool,
}

impl Override for RunArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
    }
}

#[derive(Debug, Args)]
struct BrokerArgs {
    /// Address to listen on
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_BOOTSTRAP)]
    listen: String,
    /// Only make sure the broker binary is installed (into the per-user cache), then exit
    #[arg(long)]
    install_only: bool,
}

#[derive(Debug, Args)]
struct TopicsArgs {
    /// What to do
    #[arg(value_enum)]
    action: TopicsAction,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TopicsAction {
    /// Create the topics that do not exist yet.
    Create,
    /// Delete and recreate the topics, empty, with the configured partition count.
    Clear,
    /// List every topic on the broker with its partition count.
    List,
}

/// jemalloc serves every allocation of the process, librdkafka's included (see the workspace manifest).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli: Cli = cli::parse_or_exit();
    let result = match cli.command {
        Cmd::Run(args) => run(&args),
        Cmd::Broker(args) => broker(&args),
        Cmd::Topics(args) => topics(&args),
        Cmd::Drain(args) => drain(&args),
        Cmd::Verify(args) => verify(&args),
        Cmd::Latency(args) => latency(&args),
    };
    if let Err(error) = result {
        eprintln!("error: {error:#}");
        let interrupted = error.is::<adstream_harness::run::Interrupted>();
        std::process::exit(if interrupted { 130 } else { 1 });
    }
}

fn resolve(config: &ConfigArg, overrides: &[&dyn Override]) -> Profile {
    config
        .resolve(overrides)
        .unwrap_or_else(|e| cli::config_error_exit(&e))
}

fn broker(args: &BrokerArgs) -> anyhow::Result<()> {
    let tansu = adstream_harness::broker::ensure_tansu()?;
    if args.install_only {
        println!("{}", tansu.display());
        return Ok(());
    }
    let mut broker = LocalBroker::start(&args.listen)?;
    eprintln!(
        "tansu {} listening on {} (pid {}, memory storage, log {}); Ctrl-C stops it",
        adstream_harness::broker::TANSU_VERSION,
        broker.address(),
        broker.pid(),
        broker.log_path().display()
    );
    let status = broker.wait()?;
    anyhow::bail!("the broker exited: {status}")
}

fn topics(args: &TopicsArgs) -> anyhow::Result<()> {
    let profile = resolve(&args.config, &[&args.kafka]);
    let topics = Topics::connect(&profile.kafka)?;
    match args.action {
        TopicsAction::Create => {
            let created = topics.create()?;
            topics.check_partitions()?;
            let (made, kept): (Vec<String>, Vec<String>) = topics
                .names()
                .into_iter()
                .partition(|name| created.contains(name));
            match (made.is_empty(), kept.is_empty()) {
                (false, true) => println!("created {}", made.join(", ")),
                (true, _) => println!("kept {} (already there)", kept.join(", ")),
                (false, false) => println!(
                    "created {}; kept {} (already there)",
                    made.join(", "),
                    kept.join(", ")
                ),
            }
        }
        TopicsAction::Clear => {
            topics.clear()?;
            println!(
                "cleared {} ({} partitions)",
                topics.names().join(", "),
                profile.kafka.partitions
            );
        }
        TopicsAction::List => {
            println!("{:<40} {:>10}", "topic", "partitions");
            for t in topics.list()? {
                println!("{:<40} {:>10}", t.name, t.partitions);
            }
        }
    }
    Ok(())
}

/// The broker of a run: an existing one that answers, or a local one started for the run.
fn ensure_broker(profile: &Profile) -> anyhow::Result<Option<LocalBroker>> {
    let bootstrap = &profile.kafka.bootstrap;
    let probe: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        kafka::admin_config(bootstrap).create()?;
    match kafka::check_reachable(probe.inner(), bootstrap) {
        Ok(()) => return Ok(None),
        // Only the default local address gets a broker started for it; any other must already answer.
        Err(unreachable) if bootstrap != DEFAULT_BOOTSTRAP => return Err(unreachable.into()),
        Err(_) => {}
    }
    eprintln!("starting the local broker on {bootstrap}");
    Ok(Some(LocalBroker::start(bootstrap)?))
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let mut profile = resolve(
        &args.config,
        &[&args.kafka, &args.traffic, &args.window, &args.job, args],
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/run-{}", unix_ms())));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;

    let broker = ensure_broker(&profile)?;
    Topics::connect(&profile.kafka)?.clear()?;
    let p = &profile.producers;
    eprintln!(
        "run: {} producers × {} events/s × {} s ({}), {} partitions, job {} process(es) × {} worker(s), broker {}",
        p.count,
        p.rate,
        p.duration,
        p.generator,
        profile.kafka.partitions,
        profile.job.processes,
        profile.job.workers,
        profile.kafka.bootstrap
    );
    // Ctrl-C (or SIGTERM) stops the children and writes a partial report instead of killing the harness.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("install the Ctrl-C handler")?;
    let (summary, report) = adstream_harness::run::run(
        &mut profile,
        &out,
        args.verbose,
        interrupted,
        broker.as_ref().map(LocalBroker::pid),
    )?;
    eprintln!("{}", report.table());
    eprintln!(
        "run complete: produced {}, processed {}, rejected {}, late {}; {} results in {} windows; files in {}",
        summary.produced,
        summary.processed,
        summary.rejected,
        summary.late,
        summary.results,
        summary.windows,
        out.display()
    );
    anyhow::ensure!(
        summary.processed == summary.produced,
        "the job processed {} events but the producers delivered {}",
        summary.processed,
        summary.produced
    );
    anyhow::ensure!(
        report.verification.exact,
        "verification failed: {} mismatches",
        report.verification.mismatch_count
    );
    Ok(())
}

fn drain(args: &ReadArgs) -> anyhow::Result<()> {
    let profile = resolve(&args.config, &[&args.kafka, args]);
    let rate = adstream_harness::drain::drain(&profile.kafka, profile.producers.count)?;
    println!("{}", serde_json::to_string(&rate)?);
    eprintln!(
        "bare consumer: {} records ({} events) in {:.2} s: {:.0} records/s",
        rate.records, rate.events, rate.elapsed_s, rate.records_per_s
    );
    Ok(())
}

fn verify(args: &ReadArgs) -> anyhow::Result<()> {
    let profile = resolve(&args.config, &[&args.kafka, args]);
    let v = adstream_harness::verify::verify(
        &profile.kafka,
        profile.producers.count,
        None,
        Duration::from_secs(120),
    )?;
    println!("{}", serde_json::to_string(&v)?);
    for m in &v.mismatches {
        eprintln!("  mismatch: {m}");
    }
    anyhow::ensure!(
        v.exact,
        "not exact: {} mismatches among {} results for {} windows ({} events recounted)",
        v.mismatch_count,
        v.results_read,
        v.windows_checked,
        v.events
    );
    eprintln!(
        "exact: {} results for {} windows equal a recount of {} events",
        v.results_read, v.windows_checked, v.events
    );
    Ok(())
}

fn latency(args: &ReadArgs) -> anyhow::Result<()> {
    let profile = resolve(&args.config, &[&args.kafka, args]);
    let collector = adstream_harness::collectors::ResultsCollector::start(&profile.kafka)?;
    // Everything already in the topic, then until it stays quiet.
    let observations: Vec<_> = collector
        .finish(u64::MAX)
        .iter()
        .map(|c| c.observation())
        .collect();
    let report = adstream_harness::latency::LatencyReport::of(&observations);
    let p = report.end_to_end.percentiles();
    println!(
        "{:>9} {:>9} {:>8} {:>14} {:>14}",
        "window", "campaigns", "events", "max ms", "avg ms"
    );
    for w in &report.windows {
        println!(
            "{:>9} {:>9} {:>8} {:>14} {:>14.1}",
            w.window_id, w.campaigns, w.events, w.max_latency_ms, w.avg_latency_ms
        );
    }
    println!(
        "{} results: latency avg {:.1} ms, p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
        p.count, p.avg, p.p50, p.p90, p.p99, p.max
    );
    Ok(())
}
