//! `harness sweep`: a grid of runs (ARCHITECTURE.md, "Scaling and remote processes").

use std::cell::RefCell;
use std::path::PathBuf;

use adstream_harness::experiment::interrupt::Interrupt;
use adstream_harness::experiment::single_run::Experiment;
use adstream_harness::experiment::sweep::Sweep;
use adstream_harness::report::grid::{Grid, table};
use adstream_profile::ConfigError;
use adstream_profile::flags::{ConfigArg, Override, WindowArgs};
use adstream_profile::keys::Key;
use adstream_profile::profile::{Generator, Profile, keys};
use clap::Args;

use crate::cli::{UiArg, announce, ensure_broker, out_dir, refuse_external};

/// The help of a sweep axis: its values default to the key's.
fn axis_help(text: &str, key: Key) -> String {
    format!("{text} [default: {}]", key.name)
}

/// Flags of `harness sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[arg(long = keys::kafka::bootstrap.long(), help = keys::kafka::bootstrap.help, value_name = "HOST:PORT")]
    bootstrap: Option<String>,
    #[arg(long = keys::kafka::properties.long(), help = keys::kafka::properties.help, value_name = "KEY=VALUE", value_parser = adstream_profile::properties::key_value)]
    kafka_properties: Vec<(String, String)>,
    #[arg(long = keys::kafka::partitions.long(), help = axis_help("Partition counts of the grid", keys::kafka::partitions), value_delimiter = ',', value_name = "N,...")]
    partitions: Vec<u32>,
    #[arg(long = keys::job::workers.long(), help = axis_help("Workers per job process", keys::job::workers), value_delimiter = ',', value_name = "N,...")]
    workers: Vec<u32>,
    #[arg(long = keys::job::processes.long(), help = axis_help("Job process counts (local processes on a generated loopback hostfile)", keys::job::processes), value_delimiter = ',', value_name = "N,...")]
    processes: Vec<u32>,
    #[arg(long = keys::producers::rate.long(), help = axis_help("Events per second per producer", keys::producers::rate), value_delimiter = ',', value_name = "EVENTS_PER_S,...")]
    rate: Vec<u64>,
    #[arg(long = keys::producers::generator.long(), help = axis_help("Traffic shapes", keys::producers::generator), value_delimiter = ',', value_enum)]
    generator: Vec<Generator>,
    #[arg(long = keys::producers::count.long(), help = keys::producers::count.help)]
    producers: Option<u32>,
    #[arg(long = keys::producers::duration.long(), value_name = "SECONDS",
          help = keys::producers::duration.help_as("Seconds each run sends events"))]
    duration: Option<u64>,
    #[command(flatten)]
    window: WindowArgs,
    /// Runs per cell; the table and CSV give the median with min–max
    #[arg(long, value_name = "N", default_value_t = 1)]
    repeat: u32,
    /// Directory for sweep.csv, sweep.svg and each cell's run directories; default out/sweep-<unix
    /// ms>
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Show the job's and producers' stderr as it comes
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    ui: UiArg,
}

impl Override for SweepArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(bootstrap) = &self.bootstrap {
            profile.kafka.bootstrap.clone_from(bootstrap);
        }
        profile
            .kafka
            .properties
            .extend(self.kafka_properties.iter().cloned());
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
        if let Some(duration) = self.duration {
            profile.producers.duration = duration;
        }
    }
}

/// `axis` as given, or the profile's single value when it was not.
fn axis<T: Clone>(given: &[T], default: T) -> Vec<T> {
    if given.is_empty() {
        vec![default]
    } else {
        given.to_vec()
    }
}

impl SweepArgs {
    /// The grid these flags describe over `base`.
    fn grid(&self, base: &Profile) -> Result<Grid, ConfigError> {
        let grid = Grid {
            partitions: axis(&self.partitions, base.kafka.partitions),
            workers: axis(&self.workers, base.job.workers),
            processes: axis(&self.processes, base.job.processes),
            rates: axis(&self.rate, base.producers.rate),
            generators: axis(&self.generator, base.producers.generator),
        };
        let zero = [&grid.partitions, &grid.workers, &grid.processes]
            .into_iter()
            .flatten()
            .any(|&n| n == 0)
            || grid.rates.contains(&0);
        if zero || self.repeat == 0 {
            return Err(ConfigError::Flags(
                "--partitions, --workers, --processes, --rate and --repeat must be at least 1"
                    .to_owned(),
            ));
        }
        Ok(grid)
    }
}

/// Runs the grid; fails (after finishing it) when a cell was not exact.
pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    let base = args.config.resolve(&[&args.window, args])?;
    refuse_external(&base, "a sweep")?;
    let grid = args.grid(&base)?;
    let ui = args.ui.start()?;
    let out = out_dir(args.out.as_deref(), "sweep")?;
    let broker = ensure_broker(&base, &out)?.map(RefCell::new);
    let interrupt = Interrupt::install()?;
    eprintln!(
        "sweep: {} cells × {} run(s), {} producers × {} s each, broker {}",
        grid.cells().len(),
        args.repeat,
        base.producers.count,
        base.producers.duration,
        base.kafka.bootstrap
    );
    announce(ui.as_ref());
    let sweep = Sweep {
        base: &base,
        grid,
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
    let rows = sweep.run()?;
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
