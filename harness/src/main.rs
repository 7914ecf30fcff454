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
    /// Run a grid of experiments (partitions × workers × processes × rate × generator), each cell
    /// `--repeat` times on fresh topics; write sweep.csv and sweep.svg and print one table.
    Sweep(Box<SweepArgs>),
    /// Find the highest sustainable total event rate of a configuration by a bounded search of runs.
    Capacity(Box<CapacityArgs>),
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
    /// Directory for the files (a run's: effective profile, hostfile, summary.json, report; a capacity
    /// search's: capacity.json and a directory per run); default out/<command>-<unix ms>
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
struct SweepArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Kafka bootstrap address [key: kafka.bootstrap]
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap: Option<String>,
    /// Partition counts of the grid [default: kafka.partitions]
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    partitions: Vec<u32>,
    /// Workers per job process [default: job.workers]
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    workers: Vec<u32>,
    /// Job process counts (local processes on a generated loopback hostfile) [default: job.processes]
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    processes: Vec<u32>,
    /// Events per second per producer [default: producers.rate]
    #[arg(long, value_delimiter = ',', value_name = "EVENTS_PER_S,...")]
    rate: Vec<u64>,
    /// Traffic shapes [default: producers.generator]
    #[arg(long, value_delimiter = ',', value_enum)]
    generator: Vec<adstream_common::Generator>,
    /// Number of producer processes [key: producers.count]
    #[arg(long)]
    producers: Option<u32>,
    /// Seconds each run sends events [key: producers.duration]
    #[arg(long, value_name = "SECONDS")]
    duration: Option<u64>,
    #[command(flatten)]
    window: WindowArgs,
    /// Runs per cell; the table and CSV give the median with min–max
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u32,
    /// Directory for sweep.csv, sweep.svg and each cell's run directories; default out/sweep-<unix ms>
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Show the job's and producers' stderr as it comes
    #[arg(long, short)]
    verbose: bool,
}

impl Override for SweepArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(bootstrap) = &self.bootstrap {
            profile.kafka.bootstrap.clone_from(bootstrap);
        }
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
        if let Some(duration) = self.duration {
            profile.producers.duration = duration;
        }
    }
}

#[derive(Debug, Args)]
struct CapacityArgs {
    /// The configuration searched (its `--rate` is replaced by each run's)
    #[command(flatten)]
    run: RunArgs,
    /// Total events per second of the first run [default: producers.rate × producers.count]
    #[arg(long, value_name = "EVENTS_PER_S")]
    from: Option<u64>,
    /// Highest total rate to try [default: 64 × the first]
    #[arg(long, value_name = "EVENTS_PER_S")]
    max_rate: Option<u64>,
    /// Bisections between the last sustained rate and the first that was not
    #[arg(long, value_name = "N", default_value_t = 3)]
    steps: u32,
    /// A run is sustained only with end-to-end p90 at most this
    #[arg(long, value_name = "MS", default_value_t = 100.0)]
    max_p90_ms: f64,
    /// …and every producer's schedule lag p99 at most this
    #[arg(long, value_name = "MS", default_value_t = 100.0)]
    max_lag_ms: f64,
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
        Cmd::Sweep(args) => sweep(&args),
        Cmd::Capacity(args) => capacity(&args),
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
    let out = out_dir(args.out.as_ref(), "run")?;

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
    let interrupted = interrupt_flag()?;
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
        summary.counted_all(),
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

/// The directory given with `--out`, or `out/<command>-<unix ms>`; created.
fn out_dir(given: Option<&PathBuf>, command: &str) -> anyhow::Result<PathBuf> {
    let out = given
        .cloned()
        .unwrap_or_else(|| PathBuf::from(format!("out/{command}-{}", unix_ms())));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    Ok(out)
}

/// Set by Ctrl-C (or SIGTERM), which then stops the children and writes a partial report instead of
/// killing the harness.
fn interrupt_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("install the Ctrl-C handler")?;
    Ok(interrupted)
}

/// `axis` as given, or the profile's single value when it was not.
fn axis<T: Clone>(given: &[T], default: T) -> Vec<T> {
    if given.is_empty() {
        vec![default]
    } else {
        given.to_vec()
    }
}

fn sweep(args: &SweepArgs) -> anyhow::Result<()> {
    use adstream_harness::sweep::{Grid, Row, Sample, csv, table};
    let base = resolve(&args.config, &[&args.window, args]);
    let grid = Grid {
        partitions: axis(&args.partitions, base.kafka.partitions),
        workers: axis(&args.workers, base.job.workers),
        processes: axis(&args.processes, base.job.processes),
        rates: axis(&args.rate, base.producers.rate),
        generators: axis(&args.generator, base.producers.generator),
    };
    let zero = [&grid.partitions, &grid.workers, &grid.processes]
        .into_iter()
        .flatten()
        .any(|&n| n == 0)
        || grid.rates.contains(&0);
    if zero || args.repeat == 0 {
        eprintln!(
            "error: --partitions, --workers, --processes, --rate and --repeat must be at least 1"
        );
        std::process::exit(2);
    }
    let out = out_dir(args.out.as_ref(), "sweep")?;
    let broker = ensure_broker(&base)?;
    let interrupted = interrupt_flag()?;
    let cells = grid.cells();
    eprintln!(
        "sweep: {} cells × {} run(s), {} producers × {} s each, broker {}",
        cells.len(),
        args.repeat,
        base.producers.count,
        base.producers.duration,
        base.kafka.bootstrap
    );
    let mut rows = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let mut samples = Vec::new();
        for repeat in 0..args.repeat {
            let mut profile = base.clone();
            profile.kafka.partitions = cell.partitions;
            profile.job.workers = cell.workers;
            profile.job.processes = cell.processes;
            profile.job.hostfile = None;
            profile.producers.rate = cell.rate;
            profile.producers.generator = cell.generator;
            let dir = out.join(cell.dir_name()).join(format!("run-{repeat}"));
            let outcome = adstream_harness::run::run_fresh(
                &mut profile,
                &dir,
                args.verbose,
                Arc::clone(&interrupted),
                broker.as_ref().map(LocalBroker::pid),
            );
            let sample = match outcome {
                Ok((summary, report)) => Sample::of(&summary, &report),
                Err(error) if error.is::<adstream_harness::run::Interrupted>() => {
                    return Err(error);
                }
                Err(error) => {
                    eprintln!("  run failed: {error:#}");
                    Sample::failed()
                }
            };
            eprintln!(
                "cell {}/{} run {}/{}: {} partitions, {} worker(s) × {} process(es), {}/s {}: {:.0} events/s, p90 {:.1} ms, {}",
                i + 1,
                cells.len(),
                repeat + 1,
                args.repeat,
                cell.partitions,
                cell.workers,
                cell.processes,
                cell.rate,
                cell.generator,
                sample.throughput,
                sample.latency[2],
                if sample.exact { "exact" } else { "NOT EXACT" }
            );
            samples.push(sample);
        }
        rows.push(Row::of(*cell, &samples));
        // Written after every cell, so an interrupted sweep keeps what it measured.
        std::fs::write(out.join("sweep.csv"), csv(&rows))?;
    }
    adstream_harness::plot::sweep_svg(&rows, &out.join("sweep.svg"))
        .map_err(|e| anyhow::anyhow!("cannot draw sweep.svg: {e}"))?;
    print!("{}", table(&rows));
    eprintln!("sweep complete: files in {}", out.display());
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| !r.exact)
        .map(|r| r.cell.dir_name())
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "sweep failed: {} cell(s) not exact: {}",
        failed.len(),
        failed.join(", ")
    );
    Ok(())
}

fn capacity(args: &CapacityArgs) -> anyhow::Result<()> {
    use adstream_harness::capacity::{Criteria, Evidence, search};
    let run = &args.run;
    let base = resolve(
        &run.config,
        &[&run.kafka, &run.traffic, &run.window, &run.job, run],
    );
    let producers = u64::from(base.producers.count);
    let from = args.from.unwrap_or(base.producers.rate * producers);
    let max_rate = args.max_rate.unwrap_or(from.saturating_mul(64));
    if from < producers || max_rate < from {
        eprintln!(
            "error: --from must be at least --producers ({producers}) and --max-rate at least --from"
        );
        std::process::exit(2);
    }
    let criteria = Criteria {
        max_p90_ms: args.max_p90_ms,
        max_lag_p99_ms: args.max_lag_ms,
    };
    let out = out_dir(run.out.as_ref(), "capacity")?;
    let broker = ensure_broker(&base)?;
    let interrupted = interrupt_flag()?;
    eprintln!(
        "capacity: {} producers × {} s, {} partitions, job {} process(es) × {} worker(s); from {from} to at most {max_rate} events/s",
        base.producers.count,
        base.producers.duration,
        base.kafka.partitions,
        base.job.processes,
        base.job.workers
    );
    let result = search(from, max_rate, args.steps, producers, |total| {
        let mut profile = base.clone();
        profile.producers.rate = total / producers;
        let dir = out.join(format!("rate-{total}"));
        let evidence = match adstream_harness::run::run_fresh(
            &mut profile,
            &dir,
            run.verbose,
            Arc::clone(&interrupted),
            broker.as_ref().map(LocalBroker::pid),
        ) {
            Ok((summary, report)) => {
                let evidence = Evidence::judge(total, &summary, &report, &criteria);
                eprintln!("  {evidence}");
                anyhow::ensure!(
                    evidence.exact,
                    "results not exact at {total} events/s: see {}",
                    dir.display()
                );
                evidence
            }
            Err(error) if error.is::<adstream_harness::run::Interrupted>() => return Err(error),
            Err(error) => {
                let failed = Evidence::run_failed(total, &format!("{error:#}"));
                eprintln!("  {failed}");
                failed
            }
        };
        Ok(evidence)
    })?;
    std::fs::write(
        out.join("capacity.json"),
        serde_json::to_string_pretty(&result)?,
    )?;
    match (&result.sustained, &result.failed) {
        (Some(ok), Some(not)) => println!(
            "capacity: {} events/s (sustained; the next rate tried above it, {} events/s, was not)
  sustained:     {ok}
  not sustained: {not}",
            ok.rate, not.rate
        ),
        (Some(ok), None) => println!(
            "capacity: at least {} events/s (every rate up to --max-rate was sustained)
  sustained: {ok}",
            ok.rate
        ),
        (None, Some(not)) => println!(
            "capacity: below {} events/s (the first rate tried was not sustained)
  not sustained: {not}",
            not.rate
        ),
        (None, None) => unreachable!("the search makes at least one run"),
    }
    eprintln!("capacity search complete: files in {}", out.display());
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
