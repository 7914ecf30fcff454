//! `harness capacity`: the highest sustainable total event rate of a configuration.

use adstream_harness::experiment::capacity::{CapacityError, CapacitySearch};
use adstream_harness::experiment::interrupt::Interrupt;
use adstream_harness::experiment::search::Criteria;
use adstream_harness::experiment::single_run::Experiment;
use adstream_profile::ConfigError;
use clap::Args;
use std::cell::RefCell;

use crate::cli::run::RunArgs;
use crate::cli::{announce, ensure_broker, out_dir, refuse_external};

/// Flags of `harness capacity`.
#[derive(Debug, Args)]
pub struct CapacityArgs {
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

/// Searches and prints the capacity with the evidence of the runs either side of it.
pub fn run(args: &CapacityArgs) -> anyhow::Result<()> {
    let base = args.run.profile()?;
    refuse_external(&base, "a capacity search")?;
    if !args.run.planned_faults().is_empty() {
        return Err(ConfigError::Flags(
            "--kill and --fault belong to harness run: a capacity search measures undisturbed runs"
                .to_owned(),
        )
        .into());
    }
    let producers = u64::from(base.producers.count);
    let from = args.from.unwrap_or(base.producers.rate * producers);
    let max_rate = args.max_rate.unwrap_or(from.saturating_mul(64));
    if from < producers || max_rate < from {
        return Err(ConfigError::Flags(format!(
            "--from must be at least --producers ({producers}) and --max-rate at least --from"
        ))
        .into());
    }
    let ui = args.run.ui.start()?;
    let out = out_dir(args.run.out.as_deref(), "capacity")?;
    let broker = ensure_broker(&base, &out)?.map(RefCell::new);
    let interrupt = Interrupt::install()?;
    eprintln!(
        "capacity: {} producers × {} s, {} partitions, job {} process(es) × {} worker(s); from {from} to at most {max_rate} events/s",
        base.producers.count,
        base.producers.duration,
        base.kafka.partitions,
        base.job.processes,
        base.job.workers
    );
    announce(ui.as_ref());
    let search = CapacitySearch {
        base: &base,
        from,
        max_rate,
        steps: args.steps,
        criteria: Criteria {
            max_p90_ms: args.max_p90_ms,
            max_lag_p99_ms: args.max_lag_ms,
        },
        experiment: Experiment {
            out: &out,
            echo: args.run.verbose,
            interrupt: &interrupt,
            broker: broker.as_ref(),
            faults: &[],
            ui: ui.as_ref(),
        },
    };
    let result = search.run().map_err(|error| match error {
        // An interrupt keeps its own kind, for its exit code.
        CapacityError::Run(run) => anyhow::Error::from(run),
        other => other.into(),
    })?;
    match (&result.sustained, &result.failed) {
        (Some(ok), Some(not)) => println!(
            "capacity: {} events/s (sustained; the next rate tried above it, {} events/s, was not)\n  sustained:     {ok}\n  not sustained: {not}",
            ok.rate, not.rate
        ),
        (Some(ok), None) => println!(
            "capacity: at least {} events/s (every rate up to --max-rate was sustained)\n  sustained: {ok}",
            ok.rate
        ),
        (None, Some(not)) => println!(
            "capacity: below {} events/s (the first rate tried was not sustained)\n  not sustained: {not}",
            not.rate
        ),
        (None, None) => unreachable!("the search makes at least one run"),
    }
    eprintln!("capacity search complete: files in {}", out.display());
    Ok(())
}
