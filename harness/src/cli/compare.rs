//! `harness compare`: one workload on several engines (ARCHITECTURE.md, "Any engine").

use std::cell::RefCell;
use std::path::PathBuf;

use adstream_harness::experiment::compare::Comparison;
use adstream_harness::experiment::interrupt::Interrupt;
use adstream_harness::experiment::single_run::Experiment;
use adstream_harness::report::engines_compared::compare_table;
use adstream_profile::ConfigError;
use adstream_profile::flags::{ConfigArg, KafkaArgs, Override, TrafficArgs, WindowArgs};
use adstream_profile::profile::{Engine, Profile, keys};
use clap::Args;

use crate::cli::{UiArg, announce, ensure_broker, out_dir, refuse_external};

/// Flags of `harness compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    traffic: TrafficArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[arg(long = keys::producers::count.long(), help = keys::producers::count.help, value_name = "N")]
    producers: Option<u32>,
    /// The engines to run the workload on, in this order
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "NAME,...",
        default_value = "adstream,spark,pathway,bytewax"
    )]
    engines: Vec<Engine>,
    /// Runs per engine; the table and CSV give the median with min–max
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u32,
    /// Directory for compare.csv, compare.svg, compare.html and each engine's run directories;
    /// default out/compare-<unix ms>
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Show the engines' and producers' output as it comes
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    ui: UiArg,
}

impl Override for CompareArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
    }
}

/// Runs the workload on every engine; fails (after all of them) when one was not exact or failed.
pub fn run(args: &CompareArgs) -> anyhow::Result<()> {
    let base = args
        .config
        .resolve(&[&args.kafka, &args.traffic, &args.window, args])?;
    refuse_external(&base, "a comparison")?;
    if args.repeat == 0 || args.engines.is_empty() {
        return Err(ConfigError::Flags(
            "--repeat must be at least 1 and --engines must name one engine".to_owned(),
        )
        .into());
    }
    let ui = args.ui.start()?;
    let out = out_dir(args.out.as_deref(), "compare")?;
    let broker = ensure_broker(&base, &out)?.map(RefCell::new);
    let interrupt = Interrupt::install()?;
    let comparison = Comparison {
        base: &base,
        // Each engine once, in the order first named: its runs share its directory.
        engines: args
            .engines
            .iter()
            .enumerate()
            .filter(|(i, e)| !args.engines[..*i].contains(e))
            .map(|(_, e)| *e)
            .collect(),
        repeat: args.repeat,
        experiment: Experiment {
            out: &out,
            echo: args.verbose,
            interrupt: &interrupt,
            broker: broker.as_ref(),
            faults: &[],
            ui: ui.as_ref(),
        },
    };
    eprintln!(
        "compare: {}; broker {}",
        comparison.workload(),
        base.kafka.bootstrap
    );
    announce(ui.as_ref());
    let rows = comparison.run()?;
    print!("{}", compare_table(&rows));
    eprintln!(
        "compare complete: {} in {}",
        out.join("compare.html").display(),
        out.display()
    );
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.exact)
        .map(|r| r.engine.as_str())
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "compare: {} engine(s) not exact or failed: {}",
        failed.len(),
        failed.join(", ")
    );
    Ok(())
}
