//! The `harness` command line: one file per command, each holding its flags and what it does; the
//! helpers they share are here. Commands return errors (anyhow, with context); `main` words them as
//! one line and chooses the exit code.

pub mod broker;
pub mod capacity;
pub mod compare;
pub mod drain;
pub mod engine_guard;
pub mod engines;
pub mod latency;
pub mod report;
pub mod run;
pub mod sweep;
pub mod topics;
pub mod verify;

use std::path::{Path, PathBuf};

use adstream_harness::report::page::live_page;
use adstream_harness::services::broker::{LocalBroker, Setup, Storage};
use adstream_harness::services::live_server::{LiveServer, UiPlace};
use adstream_kafka::KafkaError;
use adstream_kafka::metadata::reach;
use adstream_profile::ConfigError;
use adstream_profile::flags::{ConfigArg, KafkaArgs, Override, WindowArgs};
use adstream_profile::profile::{BrokerStorage, DEFAULT_BOOTSTRAP, Profile, WindowMode, keys};
use adstream_protocol::clock::unix_ms;
use anyhow::Context as _;
use clap::Args;

/// `--ui`: where a run, sweep or capacity search serves its live page.
#[derive(Debug, Args)]
pub struct UiArg {
    /// Serve a live page of the run at HOST:PORT while it runs (port 0: any free port), or `off`;
    /// default 127.0.0.1:4040, or the next free port after it. It stays up for metrics.linger_ms
    /// after the run
    #[arg(long = "ui", value_name = "HOST:PORT|off", value_parser = UiPlace::parse)]
    ui: Option<UiPlace>,
}

impl UiArg {
    /// Starts the live page (unless `off`); a place that cannot be served is a command-line
    /// mistake. Where it is is said once the run starts ([`announce`]), so that a run that cannot
    /// start says only why.
    pub fn start(&self) -> anyhow::Result<Option<LiveServer>> {
        let place = self.ui.clone().unwrap_or_default();
        Ok(LiveServer::start(&place, live_page())
            .map_err(|e| ConfigError::Flags(format!("--ui: {e}")))?)
    }
}

/// Says where the live page is, if there is one.
pub fn announce(ui: Option<&LiveServer>) {
    if let Some(server) = ui {
        eprintln!("live page: {}", server.describe());
    }
}

/// Flags of the commands that read existing topics (verify, latency, drain).
#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[arg(long = keys::producers::count.long(), value_name = "N", help = keys::producers::count.help_as(
        "Producers of the run (ids 0..N): the events topic is complete with all their end markers; 0 \
         for events of producers the harness did not start, read to where the topic ends now"))]
    producers: Option<u32>,
    #[arg(long = keys::job::mode.long(), value_enum, help = keys::job::mode.help_as(
        "How the run's windows closed (verify: bounded without a base time infers it from the events)"))]
    mode: Option<WindowMode>,
    #[arg(long = keys::producers::base_time_ms.long(), value_name = "UNIX_MS", help = keys::producers::base_time_ms.help_as(
        "The run's base time in Unix ms (verify: which window each event belongs to); a run's \
         profile.toml holds it"))]
    base_time_ms: Option<u64>,
}

impl Override for ReadArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
        if self.base_time_ms.is_some() {
            profile.producers.base_time_ms = self.base_time_ms;
        }
        if let Some(mode) = self.mode {
            profile.job.mode = mode;
        }
    }
}

impl ReadArgs {
    /// The profile these flags describe.
    pub fn profile(&self) -> anyhow::Result<Profile> {
        Ok(self.config.resolve(&[&self.kafka, &self.window, self])?)
    }
}

/// The directory given with `--out`, or `out/<command>-<unix ms>`; created.
pub fn out_dir(given: Option<&Path>, command: &str) -> anyhow::Result<PathBuf> {
    let out = given.map_or_else(
        || PathBuf::from(format!("out/{command}-{}", unix_ms())),
        Path::to_path_buf,
    );
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    Ok(out)
}

/// Fails when `profile` has no producers of ours: `what` drives its own producers at chosen rates
/// (`--producers 0`, measuring someone else's, belongs to `harness run`).
pub fn refuse_external(profile: &Profile, what: &str) -> Result<(), ConfigError> {
    if profile.producers.count == 0 {
        return Err(keys::producers::count.invalid(format!(
            "must be at least 1 for {what}, which drives its own producers (0 belongs to harness run)"
        )));
    }
    Ok(())
}

/// The broker of an experiment: an existing one that answers, or a local one started for it (only for
/// the default local address; any other must already answer), keeping its data as the profile says
/// (`kafka.broker_storage`; SQLite storage in `out`).
pub fn ensure_broker(profile: &Profile, out: &Path) -> anyhow::Result<Option<LocalBroker>> {
    let k = &profile.kafka;
    match reach(&k.connection()) {
        Ok(()) => {
            if k.broker_storage != BrokerStorage::Memory {
                eprintln!(
                    "using the broker already at {}: --broker-storage {} applies only to a broker \
                     the harness starts",
                    k.bootstrap, k.broker_storage
                );
            }
            return Ok(None);
        }
        Err(KafkaError::Unreachable { .. }) if k.bootstrap == DEFAULT_BOOTSTRAP => {}
        Err(error) => return Err(error.into()),
    }
    let storage = match k.broker_storage {
        BrokerStorage::Memory => Storage::Memory,
        BrokerStorage::Sqlite => {
            let dir = std::path::absolute(out.join("broker"))?;
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            Storage::Sqlite(dir.join("tansu.db"))
        }
    };
    eprintln!(
        "starting the local broker on {} ({} storage)",
        k.bootstrap, k.broker_storage
    );
    Ok(Some(LocalBroker::start_with(&Setup {
        storage,
        ..Setup::at(&k.bootstrap)
    })?))
}
