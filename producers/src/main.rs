//! `producer`: one producer process (ARCHITECTURE.md, "The pipeline"). Ends with one summary line
//! on stderr. Unless it is a dry run, its stdout carries typed messages for the harness
//! (`adstream_protocol::messages`): its count of events sent about once a second, and its summary
//! at the end.

use std::process::ExitCode;

use adstream_metrics::Endpoint;
use adstream_metrics::prometheus_client::registry::Registry;
use adstream_producers::kafka_sink::KafkaSink;
use adstream_producers::produce::{self, Plan};
use adstream_producers::producer_metrics::ProducerMetrics;
use adstream_producers::resume::{Resume, read_resume};
use adstream_producers::sink::Sink;
use adstream_producers::stdout_sink::StdoutSink;
use adstream_profile::ConfigError;
use adstream_profile::flags::{
    self, ConfigArg, KafkaArgs, MetricsArgs, ProducerArgs, TrafficArgs, WindowArgs,
};
use adstream_profile::profile::Profile;
use adstream_profile::served::Served;
use adstream_protocol::clock::unix_ns;
use adstream_protocol::messages::{ChildMessage, ProducerProgress};
use adstream_protocol::outbox::Outbox;
use anyhow::Context as _;
use clap::Parser;

/// Generate ad events of one traffic shape and send them to Kafka (or stdout with --dry-run).
#[derive(Debug, Parser)]
#[command(name = "producer", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    producer: ProducerArgs,
    #[command(flatten)]
    traffic: TrafficArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
}

fn main() -> ExitCode {
    let cli: Cli = match flags::parse() {
        Ok(cli) => cli,
        Err(rejected) => return rejected.report(),
    };
    let outcome = cli
        .config
        .resolve(&[
            &cli.producer,
            &cli.traffic,
            &cli.kafka,
            &cli.window,
            &cli.metrics.of(Served::Producers),
        ])
        .map_err(anyhow::Error::from)
        .and_then(|profile| produce(profile, cli.kafka.partitions.is_some()));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let usage = error.is::<ConfigError>();
            ExitCode::from(if usage { flags::EXIT_USAGE } else { 1 })
        }
    }
}

fn produce(profile: Profile, partitions_given: bool) -> anyhow::Result<()> {
    let p = &profile.producers;
    let id = p.id;
    let mut deliveries = None;
    let (mut sink, partitions): (Box<dyn Sink>, u32) = if p.dry_run {
        (Box::new(StdoutSink::default()), profile.kafka.partitions)
    } else {
        let k = &profile.kafka;
        adstream_kafka::metadata::reach(&k.connection())?;
        let (sink, partitions) = KafkaSink::connect(&k.connection(), &k.events_topic, id)?;
        deliveries = Some(sink.deliveries());
        if partitions_given && partitions != k.partitions {
            anyhow::bail!(
                "topic `{}` has {partitions} partitions but --partitions says {}",
                k.events_topic,
                k.partitions
            );
        }
        (Box::new(sink), partitions)
    };
    // Without a shared base the schedule starts now, after connecting, so start-up is not counted
    // as lag.
    let base_ns = p.base_time_ms.map_or_else(unix_ns, |ms| ms * 1_000_000);
    let resume = if p.resume && !p.dry_run {
        let k = &profile.kafka;
        let found = read_resume(&k.connection(), &k.events_topic, id)?;
        eprintln!("producer {id}: resuming: {}", found.describe());
        found
    } else {
        Resume::fresh()
    };
    let plan = Plan {
        id,
        base_ns,
        partitions,
        profile: profile.clone(),
        resume,
    };
    // Messages for the harness go to stdout, which is free when the events go to Kafka.
    let outbox = if p.dry_run {
        None
    } else {
        Some(Outbox::claim_stdout().context("take stdout for messages")?)
    };
    let mut progress = |progress: ProducerProgress| {
        if let Some(outbox) = &outbox {
            let _ = outbox.send(&ChildMessage::ProducerProgress(progress));
        }
    };
    let served = match profile.metrics.address(Served::Producers, id) {
        Some(address) => {
            let mut registry = Registry::default();
            let metrics = ProducerMetrics::register(&mut registry, id, deliveries);
            let endpoint = Endpoint::serve(&address.to_string(), registry)?;
            eprintln!("producer {id}: metrics at {}", endpoint.url());
            Some((endpoint, metrics))
        }
        None => None,
    };
    let metrics = served.as_ref().map(|(_, m)| m);
    let summary = produce::run(&plan, sink.as_mut(), &mut progress, metrics)
        .with_context(|| format!("producer {id}"))?;
    eprintln!("{summary}");
    if let Some(outbox) = &outbox {
        outbox
            .send(&ChildMessage::ProducerSummary(summary))
            .context("send the summary to the harness")?;
    }
    if let Some((endpoint, _)) = served {
        endpoint.serve_until_exit(profile.metrics.linger());
    }
    Ok(())
}
