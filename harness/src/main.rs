//! `harness`: the front door (ARCHITECTURE.md, "The pipeline") — the local broker, topic
//! administration, whole experiments and the checks that run on their own. Each command lives in
//! `cli/`; this file parses the command line, dispatches, and turns an error into one line and an
//! exit code: 2 for a configuration or command-line mistake, 130 for an interrupted run, 1 for
//! anything else.

mod cli;

use std::process::ExitCode;

use adstream_harness::experiment::error::RunError;
use adstream_profile::ConfigError;
use adstream_profile::flags;
use clap::{Parser, Subcommand};

use crate::cli::ReadArgs;
use crate::cli::broker::BrokerArgs;
use crate::cli::capacity::CapacityArgs;
use crate::cli::report::ReportArgs;
use crate::cli::run::RunArgs;
use crate::cli::sweep::SweepArgs;
use crate::cli::topics::TopicsArgs;

/// Run adstream experiments: broker, topics, producers and reports.
#[derive(Debug, Parser)]
#[command(name = "harness", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one experiment: broker, fresh topics, the stream job, producers, summary.
    Run(Box<RunArgs>),
    /// Run a grid of experiments (partitions × workers × processes × rate × generator), each cell
    /// `--repeat` times on fresh topics; write sweep.csv and sweep.svg and print one table.
    Sweep(Box<SweepArgs>),
    /// Run one workload on several engines (adstream, Spark, Pathway, Bytewax) in turn and write
    /// compare.html, compare.csv and compare.svg: exactness, latency, throughput, CPU and memory.
    Compare(Box<cli::compare::CompareArgs>),
    /// Find the highest sustainable total event rate of a configuration by a bounded search of runs.
    Capacity(Box<CapacityArgs>),
    /// Run the local broker (tansu, memory storage) in the foreground until interrupted.
    Broker(BrokerArgs),
    /// Create, clear or list the events, results and dead-letter topics.
    Topics(TopicsArgs),
    /// Check exactness on its own: recount the events topic and compare the results topic with it.
    Verify(ReadArgs),
    /// The latency collector on its own, over an existing results topic (the seed's
    /// latency_calculator).
    Latency(ReadArgs),
    /// Write a run directory's report.html again from its report.json (a run writes it itself).
    Report(ReportArgs),
    /// Benchmark baseline: read the events topic with a bare consumer (no parsing) until every
    /// partition holds an end marker from each producer, and report the rate.
    Drain(ReadArgs),
    /// The reference stream jobs `harness run --engine` measures: what each is, whether it is
    /// installed; --install installs them ahead of a run.
    Engines(cli::engines::EnginesArgs),
    /// The guard of another engine's job (started by `harness run --job`, not by people).
    #[command(hide = true)]
    EngineGuard(cli::engine_guard::EngineGuardArgs),
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
    if let Command::EngineGuard(args) = &cli.command {
        return match cli::engine_guard::run(args) {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(1)
            }
        };
    }
    let result = match &cli.command {
        Command::Run(args) => cli::run::run(args),
        Command::Sweep(args) => cli::sweep::run(args),
        Command::Capacity(args) => cli::capacity::run(args),
        Command::Compare(args) => cli::compare::run(args),
        Command::Broker(args) => cli::broker::run(args),
        Command::Topics(args) => cli::topics::run(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Latency(args) => cli::latency::run(args),
        Command::Drain(args) => cli::drain::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Engines(args) => cli::engines::run(args),
        Command::EngineGuard(_) => unreachable!("answered above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// The exit code that tells a script what kind of failure `error` is.
fn exit_code(error: &anyhow::Error) -> u8 {
    if error.is::<ConfigError>() {
        flags::EXIT_USAGE
    } else if error
        .downcast_ref::<RunError>()
        .is_some_and(RunError::is_interrupted)
    {
        130
    } else {
        1
    }
}
