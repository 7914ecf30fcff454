//! Command-line flags that override profile keys, shared by the binaries so each flag means the same
//! everywhere, and the one-line reporting of command-line mistakes (as data: `main` prints and exits).

use std::path::{Path, PathBuf};

use clap::{Args, Parser};

use crate::error::ConfigError;
use crate::profile::{Generator, OutputMode, Profile, WindowMode, keys};
use crate::served::Served;

/// A command line that cannot be run: a request for help or the version (printed, exit 0), or a
/// mistake (one line on stderr, exit 2).
#[derive(Debug)]
pub struct Rejected(clap::Error);

impl Rejected {
    /// Prints what clap said — help and version in full, a mistake as one line — and returns the exit
    /// code for `main` to return.
    pub fn report(self) -> std::process::ExitCode {
        use clap::error::ErrorKind;
        if matches!(
            self.0.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            let _ = self.0.print();
            return std::process::ExitCode::SUCCESS;
        }
        eprintln!("{}", self.problem());
        std::process::ExitCode::from(EXIT_USAGE)
    }

    /// clap's first paragraph — the problem and the possible values — as one line; the rest is a hint.
    pub fn problem(&self) -> String {
        let rendered = self.0.render().to_string();
        let problem: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .take_while(|l| !l.is_empty())
            .collect();
        problem.join(" ")
    }
}

/// The exit code of a configuration or command-line mistake.
pub const EXIT_USAGE: u8 = 2;

/// Parses this process's command line.
pub fn parse<T: Parser>() -> Result<T, Rejected> {
    T::try_parse().map_err(Rejected)
}

/// `--config FILE`: the profile to start from.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigArg {
    /// TOML profile (see configs/default.toml); flags override its keys. Without it the built-in
    /// defaults (the same as configs/default.toml) apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    /// Loads the profile, lets each override set its keys, and validates the result.
    pub fn resolve(&self, overrides: &[&dyn Override]) -> Result<Profile, ConfigError> {
        let mut profile = Profile::load(self.config.as_deref())?;
        for o in overrides {
            o.apply(&mut profile);
        }
        profile.validate()?;
        Ok(profile)
    }

    /// The profile file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.config.as_deref()
    }
}

/// A group of flags that overrides profile keys.
pub trait Override {
    /// Writes every flag that was given into `profile`.
    fn apply(&self, profile: &mut Profile);
}

pub(crate) fn set<T: Clone>(target: &mut T, flag: &Option<T>) {
    if let Some(value) = flag {
        *target = value.clone();
    }
}

/// Flags for `[kafka]`.
// Each flag's doc is its key's help, declared with the key in the profile table.
#[allow(missing_docs)]
#[derive(Debug, Clone, Args, Default)]
pub struct KafkaArgs {
    #[arg(long = keys::kafka::bootstrap.long(), help = keys::kafka::bootstrap.help, value_name = "HOST:PORT")]
    pub bootstrap: Option<String>,
    #[arg(long = keys::kafka::events_topic.long(), help = keys::kafka::events_topic.help, visible_alias = "topic", value_name = "TOPIC")]
    pub events_topic: Option<String>,
    #[arg(long = keys::kafka::results_topic.long(), help = keys::kafka::results_topic.help, value_name = "TOPIC")]
    pub results_topic: Option<String>,
    #[arg(long = keys::kafka::partitions.long(), help = keys::kafka::partitions.help, value_name = "N")]
    pub partitions: Option<u32>,
    #[arg(long = keys::kafka::replication.long(), help = keys::kafka::replication.help, value_name = "N")]
    pub replication: Option<u16>,
    #[arg(long = keys::kafka::properties.long(), help = keys::kafka::properties.help, value_name = "KEY=VALUE", value_parser = crate::properties::key_value)]
    pub kafka_properties: Vec<(String, String)>,
}

impl Override for KafkaArgs {
    fn apply(&self, profile: &mut Profile) {
        let k = &mut profile.kafka;
        set(&mut k.bootstrap, &self.bootstrap);
        set(&mut k.events_topic, &self.events_topic);
        set(&mut k.results_topic, &self.results_topic);
        set(&mut k.partitions, &self.partitions);
        set(&mut k.replication, &self.replication);
        k.properties.extend(self.kafka_properties.iter().cloned());
    }
}

/// Flags for the traffic of each producer (`[producers]` and `[mmpp]`).
// Each flag's doc is its key's help, declared with the key in the profile table.
#[allow(missing_docs)]
#[derive(Debug, Clone, Args, Default)]
pub struct TrafficArgs {
    #[arg(long = keys::producers::rate.long(), help = keys::producers::rate.help, value_name = "EVENTS_PER_S")]
    pub rate: Option<u64>,
    #[arg(long = keys::producers::duration.long(), help = keys::producers::duration.help, value_name = "SECONDS")]
    pub duration: Option<u64>,
    #[arg(long = keys::producers::generator.long(), help = keys::producers::generator.help, value_enum)]
    pub generator: Option<Generator>,
    #[arg(long = keys::producers::seed.long(), help = keys::producers::seed.help)]
    pub seed: Option<u64>,
    #[arg(long = keys::producers::paced.long(), help = keys::producers::paced.help)]
    pub unpaced: bool,
    #[arg(long = keys::producers::watermark_interval_ms.long(), help = keys::producers::watermark_interval_ms.help, value_name = "MS")]
    pub watermark_interval_ms: Option<u64>,
    #[arg(long = keys::producers::pacing_tick_us.long(), help = keys::producers::pacing_tick_us.help, value_name = "US")]
    pub pacing_tick_us: Option<u64>,
    #[arg(long = keys::mmpp::ratio.long(), help = keys::mmpp::ratio.help, value_name = "RATIO")]
    pub mmpp_ratio: Option<f64>,
    #[arg(long = keys::mmpp::q12.long(), help = keys::mmpp::q12.help, value_name = "PER_S")]
    pub mmpp_q12: Option<f64>,
    #[arg(long = keys::mmpp::q21.long(), help = keys::mmpp::q21.help, value_name = "PER_S")]
    pub mmpp_q21: Option<f64>,
}

impl Override for TrafficArgs {
    fn apply(&self, profile: &mut Profile) {
        let p = &mut profile.producers;
        set(&mut p.rate, &self.rate);
        set(&mut p.duration, &self.duration);
        set(&mut p.generator, &self.generator);
        set(&mut p.seed, &self.seed);
        set(&mut p.watermark_interval_ms, &self.watermark_interval_ms);
        set(&mut p.pacing_tick_us, &self.pacing_tick_us);
        if self.unpaced {
            p.paced = false;
        }
        let m = &mut profile.mmpp;
        set(&mut m.ratio, &self.mmpp_ratio);
        set(&mut m.q12, &self.mmpp_q12);
        set(&mut m.q21, &self.mmpp_q21);
    }
}

/// Flags of one producer process (`[producers]`).
// Each flag's doc is its key's help, declared with the key in the profile table.
#[allow(missing_docs)]
#[derive(Debug, Clone, Args, Default)]
pub struct ProducerArgs {
    #[arg(long = keys::producers::id.long(), help = keys::producers::id.help)]
    pub id: Option<u32>,
    #[arg(long = keys::producers::base_time_ms.long(), help = keys::producers::base_time_ms.help, value_name = "UNIX_MS")]
    pub base_time_ms: Option<u64>,
    #[arg(long = keys::producers::dry_run.long(), help = keys::producers::dry_run.help)]
    pub dry_run: bool,
    #[arg(long = keys::producers::resume.long(), help = keys::producers::resume.help)]
    pub resume: bool,
}

impl Override for ProducerArgs {
    fn apply(&self, profile: &mut Profile) {
        let p = &mut profile.producers;
        set(&mut p.id, &self.id);
        if self.base_time_ms.is_some() {
            p.base_time_ms = self.base_time_ms;
        }
        p.dry_run |= self.dry_run;
        p.resume |= self.resume;
    }
}

/// Flags for `[window]`.
// Each flag's doc is its key's help, declared with the key in the profile table.
#[allow(missing_docs)]
#[derive(Debug, Clone, Args, Default)]
pub struct WindowArgs {
    #[arg(long = keys::window::size.long(), help = keys::window::size.help, value_name = "SECONDS")]
    pub window: Option<u64>,
}

impl Override for WindowArgs {
    fn apply(&self, profile: &mut Profile) {
        set(&mut profile.window.size, &self.window);
    }
}

/// Flags for `[metrics]`: where this binary serves its metrics. The key depends on the binary, so a
/// binary applies them as [`MetricsArgs::of`] its kind.
#[derive(Debug, Clone, Args, Default)]
pub struct MetricsArgs {
    /// Serve metrics for Prometheus at HOST:PORT (process or producer I at PORT+I) or at
    /// HOST:FIRST-LAST; harness run serves its own there and, unless the profile places them, the
    /// job's processes at PORT+1… and the producers after them [key: metrics.job, metrics.producers or
    /// metrics.harness, by binary]
    #[arg(long = keys::metrics::job.long(), value_name = "HOST:PORT")]
    pub metrics_listen: Option<String>,
    /// See its key.
    #[arg(long = keys::metrics::linger_ms.long(), help = keys::metrics::linger_ms.help, value_name = "MS")]
    pub metrics_linger_ms: Option<u64>,
}

impl MetricsArgs {
    /// These flags as the keys of `kind`'s metrics.
    pub fn of(&self, kind: Served) -> MetricsOf<'_> {
        MetricsOf { args: self, kind }
    }
}

/// [`MetricsArgs`] applied to one kind of process's key.
#[derive(Debug, Clone, Copy)]
pub struct MetricsOf<'a> {
    args: &'a MetricsArgs,
    kind: Served,
}

impl Override for MetricsOf<'_> {
    fn apply(&self, profile: &mut Profile) {
        let m = &mut profile.metrics;
        if let Some(listen) = &self.args.metrics_listen {
            m.set(self.kind, listen);
        }
        set(&mut m.linger_ms, &self.args.metrics_linger_ms);
    }
}

/// Flags for `[job]`.
// Each flag's doc is its key's help, declared with the key in the profile table.
#[allow(missing_docs)]
#[derive(Debug, Clone, Args, Default)]
pub struct JobArgs {
    #[arg(long = keys::job::workers.long(), help = keys::job::workers.help, value_name = "N")]
    pub workers: Option<u32>,
    #[arg(long = keys::job::processes.long(), help = keys::job::processes.help, value_name = "N")]
    pub processes: Option<u32>,
    #[arg(long = keys::job::hostfile.long(), help = keys::job::hostfile.help, value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    #[arg(long = keys::job::mode.long(), help = keys::job::mode.help, value_enum)]
    pub mode: Option<WindowMode>,
    #[arg(long = keys::job::max_out_of_orderness_ms.long(), help = keys::job::max_out_of_orderness_ms.help, value_name = "MS")]
    pub max_out_of_orderness_ms: Option<u64>,
    #[arg(long = keys::job::idle_timeout_ms.long(), help = keys::job::idle_timeout_ms.help, value_name = "MS")]
    pub idle_timeout_ms: Option<u64>,
    #[arg(long = keys::job::idle_close_ms.long(), help = keys::job::idle_close_ms.help, value_name = "MS")]
    pub idle_close_ms: Option<u64>,
    #[arg(long = keys::job::exit_when_idle.long(), help = keys::job::exit_when_idle.help)]
    pub exit_when_idle: bool,
    #[arg(long = keys::job::output.long(), help = keys::job::output.help, value_enum)]
    pub output: Option<OutputMode>,
    #[arg(long = keys::job::update_interval_ms.long(), help = keys::job::update_interval_ms.help, value_name = "MS")]
    pub update_interval_ms: Option<u64>,
    #[arg(long = keys::job::allowed_lateness_ms.long(), help = keys::job::allowed_lateness_ms.help, value_name = "MS")]
    pub allowed_lateness_ms: Option<u64>,
    #[arg(long = keys::job::liveness_timeout_ms.long(), help = keys::job::liveness_timeout_ms.help, value_name = "MS")]
    pub liveness_timeout_ms: Option<u64>,
    #[arg(long = keys::job::id.long(), help = keys::job::id.help, value_name = "ID")]
    pub job_id: Option<String>,
    #[arg(long = keys::job::checkpoint_dir.long(), help = keys::job::checkpoint_dir.help, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    #[arg(long = keys::job::checkpoint_interval_ms.long(), help = keys::job::checkpoint_interval_ms.help, value_name = "MS")]
    pub checkpoint_interval_ms: Option<u64>,
}

impl Override for JobArgs {
    fn apply(&self, profile: &mut Profile) {
        let j = &mut profile.job;
        set(&mut j.workers, &self.workers);
        set(&mut j.processes, &self.processes);
        if self.hostfile.is_some() {
            j.hostfile = self.hostfile.clone();
        }
        set(&mut j.mode, &self.mode);
        set(
            &mut j.max_out_of_orderness_ms,
            &self.max_out_of_orderness_ms,
        );
        set(&mut j.idle_timeout_ms, &self.idle_timeout_ms);
        set(&mut j.idle_close_ms, &self.idle_close_ms);
        set(&mut j.output, &self.output);
        set(&mut j.update_interval_ms, &self.update_interval_ms);
        set(&mut j.allowed_lateness_ms, &self.allowed_lateness_ms);
        set(&mut j.liveness_timeout_ms, &self.liveness_timeout_ms);
        j.exit_when_idle |= self.exit_when_idle;
        if self.job_id.is_some() {
            j.id.clone_from(&self.job_id);
        }
        if self.checkpoint_dir.is_some() {
            j.checkpoint_dir.clone_from(&self.checkpoint_dir);
        }
        set(&mut j.checkpoint_interval_ms, &self.checkpoint_interval_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        traffic: TrafficArgs,
    }

    fn resolve(args: &[&str]) -> Result<Profile, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap();
        cli.config.resolve(&[&cli.kafka, &cli.traffic])
    }

    #[test]
    fn flags_override_the_profile() {
        let dir = std::env::temp_dir().join(format!("adstream-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.toml");
        std::fs::write(&file, "[producers]\nrate = 7\nduration = 9\n").unwrap();
        let p = resolve(&[
            "--config",
            file.to_str().unwrap(),
            "--rate",
            "11",
            "--topic",
            "ev",
            "--unpaced",
        ])
        .unwrap();
        assert_eq!(p.producers.rate, 11);
        assert_eq!(p.producers.duration, 9);
        assert_eq!(p.kafka.events_topic, "ev");
        assert!(!p.producers.paced);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn flags_are_validated_like_keys() {
        let err = resolve(&["--partitions", "0"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid configuration: `kafka.partitions` (--partitions) must be at least 1, got 0"
        );
    }

    #[test]
    fn a_missing_profile_file_is_one_line() {
        let err = resolve(&["--config", "/nonexistent/p.toml"])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read config file /nonexistent/p.toml: "),
            "{err}"
        );
    }
}
