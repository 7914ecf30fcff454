//! Configuration profiles: the TOML files in `configs/`, their types and defaults (the seed's), and
//! loading them. A profile is one experiment's settings; every option has a key here, and the
//! command-line flags of [`crate::flags`] override the keys.

use std::fmt;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use crate::client::ClientProperties;
use crate::client::Connection;
use adstream_protocol::validity::EventRules;
use adstream_protocol::window::Windows;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, key_error, syntax_error};

/// The local broker's address, used when neither a profile nor `--bootstrap` names another.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// The traffic shape of a producer (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// Exactly `rate` events each second, evenly spaced.
    Uniform,
    /// A Poisson process of the given rate: exponential inter-arrival gaps.
    Poisson,
    /// A two-state Markov-modulated Poisson process: bursts and lulls lasting seconds.
    Mmpp,
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generator::Uniform => "uniform",
            Generator::Poisson => "poisson",
            Generator::Mmpp => "mmpp",
        })
    }
}

/// A whole configuration profile: one experiment's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// `[kafka]`: where the topics are.
    pub kafka: KafkaSection,
    /// `[producers]`: the load.
    pub producers: ProducersSection,
    /// `[mmpp]`: parameters of the bursty traffic shape.
    pub mmpp: MmppSection,
    /// `[window]`: the aggregation windows.
    pub window: WindowSection,
    /// `[job]`: the stream job's workers and processes.
    pub job: JobSection,
    /// `[ssh]`: how `harness run --launch ssh` reaches other hosts.
    pub ssh: SshSection,
    /// `[metrics]`: where the processes serve metrics for Prometheus.
    pub metrics: MetricsSection,
}

/// `[metrics]` keys: where each kind of process serves its metrics in the Prometheus text format
/// (SPEC §11). Each is `HOST:PORT` — process or producer `i` at `PORT + i` — or `HOST:FIRST-LAST`;
/// unset, that kind serves none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// The job's processes (`dataflow --metrics-listen`).
    pub job: Option<String>,
    /// The producers (`producer --metrics-listen`).
    pub producers: Option<String>,
    /// The harness during `harness run` (`harness run --metrics-listen`, which also sets the other two
    /// when they are unset).
    pub harness: Option<String>,
    /// How long a process keeps serving its final values after its work is done, so a scrape sees
    /// them (`--metrics-linger-ms`; at least the scrape interval when that matters).
    pub linger_ms: u64,
}

/// The kinds of process that serve metrics, each under its own `[metrics]` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The job's processes, `metrics.job`.
    Job,
    /// The producers, `metrics.producers`.
    Producers,
    /// The harness, `metrics.harness`.
    Harness,
}

impl Served {
    /// The profile key.
    pub fn key(self) -> &'static str {
        match self {
            Served::Job => "metrics.job",
            Served::Producers => "metrics.producers",
            Served::Harness => "metrics.harness",
        }
    }
}

impl MetricsSection {
    /// The text of `kind`'s key.
    pub fn of(&self, kind: Served) -> Option<&str> {
        match kind {
            Served::Job => self.job.as_deref(),
            Served::Producers => self.producers.as_deref(),
            Served::Harness => self.harness.as_deref(),
        }
        .filter(|text| !text.is_empty())
    }

    /// Sets `kind`'s key to `text`.
    pub fn set(&mut self, kind: Served, text: &str) {
        let key = match kind {
            Served::Job => &mut self.job,
            Served::Producers => &mut self.producers,
            Served::Harness => &mut self.harness,
        };
        *key = Some(text.to_owned());
    }

    /// How long a finished process keeps serving its final values.
    pub fn linger(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.linger_ms)
    }

    /// Where process `index` of `kind` serves its metrics, if that kind serves any; `None` too for a
    /// text or index that [`Profile::validate`] refuses.
    pub fn address(&self, kind: Served, index: u32) -> Option<crate::address::HostPort> {
        crate::address::ListenPorts::parse(self.of(kind)?)
            .ok()?
            .nth(index)
    }
}

/// How `harness run` starts job processes on other hosts (`job.launch`, `--launch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Launch {
    /// Print the command for each remote hostfile line and wait for the user to run it.
    #[default]
    Print,
    /// Copy the profile and hostfile there and start `dataflow` over the system's `ssh`.
    Ssh,
}

/// `[ssh]` keys: how the harness reaches other hosts with the system's `ssh` and `scp`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SshSection {
    /// The user to log in as (default: ssh's own default).
    pub user: Option<String>,
    /// The ssh port (default: ssh's own, 22).
    pub port: Option<u16>,
    /// The private key to log in with (`ssh -i`).
    pub identity: Option<PathBuf>,
    /// The `dataflow` binary on the remote hosts (default: the same path as here).
    pub dataflow: Option<PathBuf>,
    /// The directory on the remote hosts for the run's profile and hostfile (default:
    /// `/tmp/adstream-<job id>`).
    pub dir: Option<String>,
    /// Extra `ssh -o` options, e.g. `["StrictHostKeyChecking=accept-new"]`.
    pub options: Vec<String>,
    /// Launch loopback lines after the first over ssh too, as if they were remote (for testing ssh
    /// launch on one machine).
    pub loopback: bool,
}
/// `[kafka]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSection {
    /// Broker address `HOST:PORT` (`--bootstrap`).
    pub bootstrap: String,
    /// Topic the producers write events to (`--events-topic`, `--topic`). Its dead-letter topic is
    /// `<events_topic>-dlq`.
    pub events_topic: String,
    /// Topic the job writes results to (`--results-topic`).
    pub results_topic: String,
    /// Partitions of the events topic (`--partitions`).
    pub partitions: u32,
    /// Replication factor of created topics (`--replication`).
    pub replication: u16,
    /// Whether the job creates its dead-letter topic when it does not exist (`dataflow
    /// --no-create-dlq` says no).
    pub create_dlq: bool,
    /// librdkafka properties for every client (`--kafka-property KEY=VALUE`), over adstream's own
    /// settings; `security.protocol = "SSL"` and `"security.protocol" = "SSL"` both work.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::properties::flat"
    )]
    pub properties: BTreeMap<String, String>,
    /// …for producers only.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::properties::flat"
    )]
    pub producer_properties: BTreeMap<String, String>,
    /// …for consumers only.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::properties::flat"
    )]
    pub consumer_properties: BTreeMap<String, String>,
}

impl Default for KafkaSection {
    fn default() -> Self {
        Self {
            bootstrap: DEFAULT_BOOTSTRAP.to_owned(),
            events_topic: "events".to_owned(),
            results_topic: "results".to_owned(),
            partitions: 2,
            replication: 1,
            create_dlq: true,
            properties: BTreeMap::new(),
            producer_properties: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
        }
    }
}

impl KafkaSection {
    /// The dead-letter topic of the events topic.
    pub fn dlq_topic(&self) -> String {
        format!("{}-dlq", self.events_topic)
    }

    /// The same with every secret property's value (passwords, keys) replaced, for reports.
    pub fn redacted(&self) -> Self {
        let mut k = self.clone();
        for table in [
            &mut k.properties,
            &mut k.producer_properties,
            &mut k.consumer_properties,
        ] {
            for (key, value) in table.iter_mut() {
                if crate::client::is_secret(key) {
                    *value = "<redacted>".to_owned();
                }
            }
        }
        k
    }

    /// What every client of a run is made from: the broker and the user's properties.
    pub fn connection(&self) -> Connection {
        Connection {
            bootstrap: self.bootstrap.clone(),
            properties: ClientProperties {
                all: self.properties.clone(),
                producer: self.producer_properties.clone(),
                consumer: self.consumer_properties.clone(),
            },
        }
    }
}

/// `[producers]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducersSection {
    /// Number of producer processes in a run (`--producers`).
    pub count: u32,
    /// Events per second of each producer (`--rate`).
    pub rate: u64,
    /// Seconds of event time each producer generates (`--duration`).
    pub duration: u64,
    /// Traffic shape (`--generator`).
    pub generator: Generator,
    /// Seed of the ad catalogue and of every producer's events (`--seed`).
    pub seed: u64,
    /// Send on a real-time schedule (`true`) or as fast as possible (`false`, `--unpaced`).
    pub paced: bool,
    /// The run's base time in Unix milliseconds, shared by all producers (`--base-time-ms`); unset means
    /// "now" when the producer starts.
    pub base_time_ms: Option<u64>,
    /// This producer's id (`--id`); the harness numbers its producers `0..count`.
    pub id: u32,
    /// Write events as JSON lines to stdout instead of Kafka (`--dry-run`).
    pub dry_run: bool,
    /// Wall-clock milliseconds between watermark records on every partition (`--watermark-interval-ms`).
    pub watermark_interval_ms: u64,
    /// A paced producer wakes at most once per this many microseconds and then sends every event due
    /// (`--pacing-tick-us`): each wake-up costs CPU, so a tick trades schedule lag (at most about one
    /// tick) for CPU. 0 wakes for every event.
    pub pacing_tick_us: u64,
}

impl Default for ProducersSection {
    fn default() -> Self {
        Self {
            count: 2,
            rate: 20_000,
            duration: 60,
            generator: Generator::Poisson,
            seed: 42,
            paced: true,
            base_time_ms: None,
            id: 0,
            dry_run: false,
            watermark_interval_ms: 100,
            pacing_tick_us: 2_000,
        }
    }
}

/// `[mmpp]` keys: the two-state Markov-modulated Poisson process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MmppSection {
    /// λ_high / λ_low (`--mmpp-ratio`).
    pub ratio: f64,
    /// Rate of switching from the high to the low state, per second (`--mmpp-q12`).
    pub q12: f64,
    /// Rate of switching from the low to the high state, per second (`--mmpp-q21`).
    pub q21: f64,
}

impl Default for MmppSection {
    fn default() -> Self {
        Self {
            ratio: 5.0,
            q12: 0.5,
            q21: 0.5,
        }
    }
}

/// `[window]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowSection {
    /// Tumbling window size in seconds (`--window`).
    pub size: u64,
}

impl Default for WindowSection {
    fn default() -> Self {
        Self { size: 10 }
    }
}

impl WindowSection {
    /// The window size in nanoseconds.
    pub fn size_ns(&self) -> u64 {
        self.size * 1_000_000_000
    }
}

/// How the job decides that a window is final (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WindowMode {
    /// Every expected producer has passed the window on every partition (events, watermarks, end
    /// markers): nothing guessed, nothing dropped.
    Exact,
    /// Max event time seen minus `max_out_of_orderness_ms`, with an idle-partition timeout: for
    /// records without our headers.
    Bounded,
}

/// `[job]` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSection {
    /// Timely worker threads per process (`--workers`).
    pub workers: u32,
    /// Job processes (`--processes`).
    pub processes: u32,
    /// This job process's index, `0..processes` (`dataflow --process`).
    pub process: u32,
    /// Timely hostfile, one `host:port` per process (`--hostfile`).
    pub hostfile: Option<PathBuf>,
    /// How windows close (`--mode`).
    pub mode: WindowMode,
    /// Bounded mode: how far behind the largest event time seen the watermark stays
    /// (`--max-out-of-orderness-ms`).
    pub max_out_of_orderness_ms: u64,
    /// Bounded mode: a partition silent this long no longer holds the watermark back
    /// (`--idle-timeout-ms`).
    pub idle_timeout_ms: u64,
    /// Bounded mode: when every partition has been silent this long, every open window closes and
    /// its results are written (`--idle-close-ms`).
    pub idle_close_ms: u64,
    /// Bounded mode: exit 0 once the input has gone quiet and every window is written
    /// (`--exit-when-idle`).
    pub exit_when_idle: bool,
    /// How often `harness run` restarts a job that failed before it gives up (`--max-restarts`).
    pub max_restarts: u32,
    /// The job's identity: the name its checkpoints are kept under (`--job-id`); `harness run` sets
    /// its run's. Without one the job takes no checkpoints.
    pub id: Option<String>,
    /// Directory for checkpoints, shared by every process of the job (`--checkpoint-dir`).
    pub checkpoint_dir: Option<PathBuf>,
    /// Milliseconds between two checkpoints of a worker; 0 takes none (`--checkpoint-interval-ms`).
    pub checkpoint_interval_ms: u64,
    /// How `harness run` starts job processes on other hosts (`--launch`).
    pub launch: Launch,
}

impl Default for JobSection {
    fn default() -> Self {
        Self {
            workers: 1,
            processes: 1,
            process: 0,
            hostfile: None,
            mode: WindowMode::Exact,
            max_out_of_orderness_ms: 1_000,
            idle_timeout_ms: 5_000,
            idle_close_ms: 10_000,
            exit_when_idle: false,
            max_restarts: 3,
            id: None,
            checkpoint_dir: None,
            checkpoint_interval_ms: 1_000,
            launch: Launch::Print,
        }
    }
}

impl Profile {
    /// The profile in `path`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The profile in `text`; `origin` names it in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|e| syntax_error(text, origin, &e))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| key_error(text, origin, e))
    }

    /// The validity rules of a run of this profile — its windows: from the base time when it is given;
    /// in bounded mode without one, from the base the events imply; in exact mode without one, none
    /// yet (the harness gives it).
    pub fn event_rules(&self) -> Option<EventRules> {
        match (self.producers.base_time_ms, self.job.mode) {
            (Some(base_ms), _) => Some(EventRules::new(Windows::new(
                base_ms * 1_000_000,
                self.window.size_ns(),
            ))),
            (None, WindowMode::Bounded) => Some(EventRules::inferring_base(self.window.size_ns())),
            (None, WindowMode::Exact) => None,
        }
    }

    /// The profile in `path` if given, else the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        path.map_or_else(|| Ok(Self::default()), Self::from_file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let err = Profile::from_toml(text, "test.toml")
            .and_then(|p| p.validate().map(|()| p))
            .unwrap_err();
        let line = err.to_string();
        assert!(!line.contains('\n'), "not one line: {line:?}");
        line
    }

    #[test]
    fn the_default_profile_file_is_the_built_in_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/default.toml");
        assert_eq!(Profile::from_file(&path).unwrap(), Profile::default());
        Profile::default().validate().unwrap();
    }

    #[test]
    fn defaults_are_the_seeds() {
        let p = Profile::default();
        assert_eq!(p.producers.count, 2);
        assert_eq!(p.producers.rate, 20_000);
        assert_eq!(p.producers.duration, 60);
        assert_eq!(p.producers.generator, Generator::Poisson);
        assert_eq!(p.kafka.partitions, 2);
        assert_eq!(p.kafka.replication, 1);
        assert_eq!(p.window.size, 10);
        assert_eq!(p.kafka.events_topic, "events");
        assert_eq!(p.kafka.results_topic, "results");
        assert_eq!(p.kafka.dlq_topic(), "events-dlq");
    }

    #[test]
    fn partial_profiles_keep_the_other_defaults() {
        let p = Profile::from_toml("[producers]\nrate = 5\n", "t").unwrap();
        assert_eq!(p.producers.rate, 5);
        assert_eq!(p.producers.duration, 60);
        assert_eq!(p.kafka, KafkaSection::default());
    }

    #[test]
    fn an_unknown_key_is_named_with_its_table() {
        assert_eq!(
            error_of("[producers]\nrat = 5\n"),
            "test.toml: key `producers.rat`: unknown key, expected one of `count`, `rate`, `duration`, \
             `generator`, `seed`, `paced`, `base_time_ms`, `id`, `dry_run`, `watermark_interval_ms`, `pacing_tick_us`"
        );
        assert!(error_of("[producer]\n").starts_with("test.toml: key `producer`: unknown key"));
    }

    #[test]
    fn a_wrong_type_is_named_by_its_key() {
        let line = error_of("[producers]\nrate = \"fast\"\n");
        assert!(
            line.starts_with("test.toml: key `producers.rate`: invalid type"),
            "{line}"
        );
    }

    #[test]
    fn a_wrong_variant_lists_the_choices() {
        let line = error_of("[producers]\ngenerator = \"zipf\"\n");
        assert!(
            line.starts_with("test.toml: key `producers.generator`: unknown variant `zipf`"),
            "{line}"
        );
        assert!(line.contains("`uniform`, `poisson`, `mmpp`"), "{line}");
    }

    #[test]
    fn broken_toml_gives_line_and_column() {
        let line = error_of("[kafka]\npartitions = = 3\n");
        assert!(line.starts_with("test.toml:2:"), "{line}");
    }

    #[test]
    fn out_of_range_values_name_key_and_flag() {
        assert_eq!(
            error_of("[producers]\nrate = 0\n"),
            "invalid configuration: `producers.rate` (--rate) must be at least 1, got 0"
        );
        assert_eq!(
            error_of("[kafka]\nbootstrap = \"localhost\"\n"),
            "invalid configuration: `kafka.bootstrap` (--bootstrap) must be HOST:PORT, got \"localhost\""
        );
        assert!(error_of("[kafka]\nevents_topic = \"a b\"\n").contains("`kafka.events_topic`"));
        assert!(error_of("[mmpp]\nratio = 0.5\n").contains("`mmpp.ratio`"));
        assert!(error_of("[window]\nsize = 0\n").contains("`window.size` (--window)"));
        assert_eq!(
            error_of("[producers]\npacing_tick_us = 2000000\n"),
            "invalid configuration: `producers.pacing_tick_us` (--pacing-tick-us) must be at most \
             1000000 (a second), got 2000000"
        );
    }
}
