//! Configuration profiles: the TOML files in `configs/`. Every key is declared once, in the table
//! below — its type, default and doc, the flag that sets it and the rule its value must keep (see
//! [`crate::keys`]) — and the command-line flags of [`crate::flags`] override the keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adstream_protocol::validity::EventRules;
use adstream_protocol::window::Windows;
use serde::{Deserialize, Serialize};

pub use crate::choices::{BrokerStorage, Engine, Generator, Launch, OutputMode, WindowMode};
use crate::client::{ClientProperties, Connection};
use crate::error::{ConfigError, key_error, syntax_error};
use crate::keys::{AtLeast, AtMost, HostPorts, NumberAtLeast, Positive, TopicName, profile_table};

/// The local broker's address, used when neither a profile nor `--bootstrap` names another.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// The longest pacing tick taken: a second, beyond which a tick is more likely a unit mistake (ms for
/// µs) than a wish to send events that late.
const MAX_PACING_TICK_US: u64 = 1_000_000;

profile_table! {
    /// A whole configuration profile: one experiment's settings.
    pub struct Profile {
        /// `[kafka]`: where the topics are.
        kafka: KafkaSection {
            /// Broker address `HOST:PORT`.
            bootstrap: String = DEFAULT_BOOTSTRAP.to_owned(),
                flag "--bootstrap" help "Broker address HOST:PORT", rule HostPorts;
            /// Topic the producers write events to. Its dead-letter topic is `<events_topic>-dlq`.
            events_topic: String = "events".to_owned(),
                flag "--events-topic" help "Events topic", rule TopicName;
            /// Topic the job writes results to.
            results_topic: String = "results".to_owned(),
                flag "--results-topic" help "Results topic", rule TopicName;
            /// Partitions of the events topic.
            partitions: u32 = 2,
                flag "--partitions" help "Partitions of the events topic", rule AtLeast(1);
            /// Replication factor of created topics.
            replication: u16 = 1,
                flag "--replication" help "Replication factor of created topics", rule AtLeast(1);
            /// Where the local broker `harness run` starts keeps its data: `memory` (a broker crash
            /// loses every event) or `sqlite` (on disk in the run's directory; restarted with it).
            broker_storage: BrokerStorage = BrokerStorage::Memory,
                flag "--broker-storage"
                help "Storage of the local broker the harness starts: memory (fast; a broker crash \
                      loses every event) or sqlite (on disk: the harness restarts a crashed broker \
                      with its data; holds only light loads)";
            /// Whether the job creates its dead-letter topic when it does not exist.
            create_dlq: bool = true,
                flag "--no-create-dlq"
                help "Fail when the dead-letter topic does not exist instead of creating it";
            /// librdkafka properties for every client, over adstream's own settings;
            /// `security.protocol = "SSL"` and `"security.protocol" = "SSL"` both work.
            #[serde(
                skip_serializing_if = "BTreeMap::is_empty",
                deserialize_with = "crate::properties::flat"
            )]
            properties: BTreeMap<String, String> = BTreeMap::new(),
                flag "--kafka-property"
                help "A librdkafka property for every Kafka client, e.g. security.protocol=SSL \
                      (repeatable; over the profile's)";
            /// …for producers only.
            #[serde(
                skip_serializing_if = "BTreeMap::is_empty",
                deserialize_with = "crate::properties::flat"
            )]
            producer_properties: BTreeMap<String, String> = BTreeMap::new();
            /// …for consumers only.
            #[serde(
                skip_serializing_if = "BTreeMap::is_empty",
                deserialize_with = "crate::properties::flat"
            )]
            consumer_properties: BTreeMap<String, String> = BTreeMap::new();
        }
        /// `[producers]`: the load.
        producers: ProducersSection {
            /// Number of producer processes in a run.
            count: u32 = 2, flag "--producers" help "Number of producer processes";
            /// Events per second of each producer.
            rate: u64 = 20_000,
                flag "--rate" help "Events per second of each producer", rule AtLeast(1);
            /// Seconds of event time each producer generates.
            duration: u64 = 60,
                flag "--duration" help "Seconds of event time to generate", rule AtLeast(1);
            /// Traffic shape.
            generator: Generator = Generator::Poisson, flag "--generator" help "Traffic shape";
            /// Seed of the ad catalogue and of every producer's events.
            seed: u64 = 42, flag "--seed" help "Seed of the ad catalogue and the events";
            /// Send on a real-time schedule (`true`) or as fast as possible (`false`).
            paced: bool = true,
                flag "--unpaced"
                help "Send as fast as possible instead of on the real-time schedule (sets false)";
            /// The run's base time in Unix milliseconds, shared by all producers; unset means "now"
            /// when the producer starts.
            base_time_ms: Option<u64> = None,
                flag "--base-time-ms"
                help "The run's base time in Unix ms, shared by all producers; default now";
            /// This producer's id; the harness numbers its producers `0..count`.
            id: u32 = 0, flag "--id" help "This producer's id";
            /// Write events as JSON lines to stdout instead of Kafka.
            dry_run: bool = false,
                flag "--dry-run" help "Write the events as JSON lines to stdout instead of Kafka";
            /// Continue after a crash: read where this producer's events end in each partition of
            /// the topic, regenerate from the seed and send only what is not there.
            resume: bool = false,
                flag "--resume"
                help "Continue where this producer's events in the topic end (after a crash): \
                      regenerate from the seed and send only what is not there";
            /// Wall-clock milliseconds between watermark records on every partition.
            watermark_interval_ms: u64 = 100,
                flag "--watermark-interval-ms" help "Wall-clock ms between watermark records",
                rule AtLeast(1);
            /// A paced producer wakes at most once per this many microseconds and then sends every
            /// event due: each wake-up costs CPU, so a tick trades schedule lag (at most about one
            /// tick) for CPU. 0 wakes for every event.
            pacing_tick_us: u64 = 2_000,
                flag "--pacing-tick-us"
                help "A paced producer wakes at most once per tick, trading schedule lag for CPU; \
                      0 wakes for every event",
                rule AtMost { max: MAX_PACING_TICK_US, why: "a second" };
        }
        /// `[mmpp]`: parameters of the bursty traffic shape, a two-state Markov-modulated Poisson
        /// process.
        mmpp: MmppSection {
            /// λ_high / λ_low.
            ratio: f64 = 5.0, flag "--mmpp-ratio" help "MMPP λ_high/λ_low", rule NumberAtLeast(1.0);
            /// Rate of switching from the high to the low state, per second.
            q12: f64 = 0.5,
                flag "--mmpp-q12" help "MMPP high→low switching rate per second", rule Positive;
            /// Rate of switching from the low to the high state, per second.
            q21: f64 = 0.5,
                flag "--mmpp-q21" help "MMPP low→high switching rate per second", rule Positive;
        }
        /// `[window]`: the aggregation windows.
        window: WindowSection {
            /// Tumbling window size in seconds.
            size: u64 = 10, flag "--window" help "Window size in seconds", rule AtLeast(1);
        }
        /// `[job]`: the stream job's workers and processes.
        job: JobSection {
            /// Timely worker threads per process.
            workers: u32 = 1,
                flag "--workers" help "Timely worker threads per job process", rule AtLeast(1);
            /// Job processes.
            processes: u32 = 1, flag "--processes" help "Job processes", rule AtLeast(1);
            /// This job process's index, `0..processes`.
            process: u32 = 0, flag "--process" help "This process's index in the hostfile, 0-based";
            /// Timely hostfile, one `host:port` per process.
            hostfile: Option<PathBuf> = None,
                flag "--hostfile" help "Timely hostfile, one host:port per process";
            /// How windows close.
            mode: WindowMode = WindowMode::Exact, flag "--mode" help "How windows close";
            /// Bounded mode: how far behind the largest event time seen the watermark stays.
            max_out_of_orderness_ms: u64 = 1_000,
                flag "--max-out-of-orderness-ms"
                help "Bounded mode: watermark lag behind the largest event time";
            /// Bounded mode: a partition silent this long no longer holds the watermark back.
            idle_timeout_ms: u64 = 5_000,
                flag "--idle-timeout-ms"
                help "Bounded mode: silence after which a partition stops holding the watermark",
                rule AtLeast(1);
            /// Bounded mode: when every partition has been silent this long, every open window
            /// closes and its results are written.
            idle_close_ms: u64 = 10_000,
                flag "--idle-close-ms"
                help "Bounded mode: silence after which every open window closes",
                rule AtLeast(1);
            /// Bounded mode: exit 0 once the input has gone quiet and every window is written.
            exit_when_idle: bool = false,
                flag "--exit-when-idle"
                help "Bounded mode: exit 0 once the input has gone quiet and every window is \
                      written";
            /// How results are written: `append`, one final result per window and campaign; `update`,
            /// revisions while windows are open and for late events, then a final one.
            output: OutputMode = OutputMode::Append,
                flag "--output"
                help "append: one final result per window and campaign when it closes; update: \
                      revisions of changed ones every update interval, then a final one";
            /// Update mode: how often changed aggregates are written as new revisions.
            update_interval_ms: u64 = 1_000,
                flag "--update-interval-ms"
                help "Update mode: milliseconds between two revisions of a changed aggregate",
                rule AtLeast(10);
            /// Update mode, bounded mode: how long after a window closes late events still revise
            /// it; after that its final result is written and later events are late.
            allowed_lateness_ms: u64 = 0,
                flag "--allowed-lateness-ms"
                help "Update and bounded mode: how long after a window closes late events revise it";
            /// How often `harness run` restarts a failed child — the job, or a producer — before it
            /// gives up.
            max_restarts: u32 = 3,
                flag "--max-restarts"
                help "Restarts after failures (of the job or a producer) before the run fails";
            /// A job process that has sent nothing for this long is dead, hung or cut off, and
            /// `harness run` treats it as failed. Its workers report about once a second, so the limit
            /// is at least two of those reports.
            liveness_timeout_ms: u64 = 8_000,
                flag "--liveness-timeout-ms"
                help "A job process silent this long is dead, hung or cut off, and is restarted",
                rule AtLeast(2_000);
            /// The job's identity: the name its checkpoints are kept under; `harness run` sets its
            /// run's. Without one the job takes no checkpoints.
            id: Option<String> = None,
                flag "--job-id" help "The job's identity, under which its checkpoints are kept";
            /// Directory for checkpoints, shared by every process of the job.
            checkpoint_dir: Option<PathBuf> = None,
                flag "--checkpoint-dir"
                help "Directory for checkpoints, shared by every process of the job";
            /// Milliseconds between two checkpoints of a worker; 0 takes none.
            checkpoint_interval_ms: u64 = 1_000,
                flag "--checkpoint-interval-ms"
                help "Milliseconds between two checkpoints; 0 takes none";
            /// How `harness run` starts job processes on other hosts.
            launch: Launch = Launch::Print,
                flag "--launch"
                help "How job processes on other hosts start: print the command to run there, or \
                      start them over the system's ssh (see [ssh] in the profile)";
            /// Another stream job to measure instead of adstream's own: a shell command the harness
            /// starts in the run's directory with the run's settings in `ADSTREAM_*` variables
            /// (README, "Any engine").
            command: Option<String> = None,
                flag "--job"
                help "Measure this stream job instead of adstream's: a shell command started in the \
                      run's directory with the run's settings in ADSTREAM_* variables (README, \
                      \"Any engine\")";
            /// A reference stream job kept in the repository, started like `command`.
            engine: Option<Engine> = None,
                flag "--engine"
                help "Measure a reference stream job: adstream, spark, pathway or bytewax \
                      (installed on first use)";
            /// The text of the line (stdout or stderr) by which another engine says it reads its
            /// input; the producers start after it.
            ready_line: String = "ready".to_owned(),
                flag "--job-ready"
                help "Another engine is reading once it writes a line containing this text";
            /// How long after another engine's start the producers' schedule begins (they wait
            /// when it reads sooner); unset, the reference engine's own allowance, or 10 s.
            start_allowance_s: Option<u64> = None,
                flag "--job-start-allowance"
                help "Seconds after another engine's start at which the producers' schedule begins \
                      (default: the reference engine's own, or 10)";
            /// How long another engine may take to say it reads.
            ready_timeout_s: u64 = 180,
                flag "--job-ready-timeout"
                help "Seconds another engine may take to say it reads", rule AtLeast(1);
            /// How late another engine's windows wait for events (its watermark delay): the closing
            /// records the harness writes after the producers are this far past the last window;
            /// unset, the reference engine's own, or 0.
            lateness_ms: Option<u64> = None,
                flag "--job-lateness-ms"
                help "How long another engine's windows wait for late events: the closing records \
                      go this far past the last window (default: the reference engine's own, or 0)";
            /// How long after the producers end another engine may take to answer every
            /// (window, campaign) that had events.
            finish_timeout_s: u64 = 120,
                flag "--job-finish-timeout"
                help "Seconds another engine may take after the producers end to write every result",
                rule AtLeast(1);
            /// How long another engine has to exit after SIGTERM before its processes are killed.
            stop_grace_ms: u64 = 5_000,
                flag "--job-stop-grace-ms"
                help "Milliseconds another engine has to exit after SIGTERM before it is killed";
        }
        /// `[ssh]`: how `harness run --launch ssh` reaches other hosts with the system's `ssh` and
        /// `scp`.
        ssh: SshSection {
            /// The user to log in as (default: ssh's own default).
            user: Option<String> = None;
            /// The ssh port (default: ssh's own, 22).
            port: Option<u16> = None;
            /// The private key to log in with (`ssh -i`).
            identity: Option<PathBuf> = None;
            /// The `dataflow` binary on the remote hosts (default: the same path as here).
            dataflow: Option<PathBuf> = None;
            /// The directory on the remote hosts for the run's profile and hostfile (default:
            /// `/tmp/adstream-<job id>`).
            dir: Option<String> = None;
            /// Extra `ssh -o` options, e.g. `["StrictHostKeyChecking=accept-new"]`.
            options: Vec<String> = Vec::new();
            /// Launch loopback lines after the first over ssh too, as if they were remote (for
            /// testing ssh launch on one machine).
            loopback: bool = false;
        }
        /// `[metrics]`: where each kind of process serves its metrics in the Prometheus text format.
        /// Each is `HOST:PORT` — process or producer `i` at `PORT + i` — or `HOST:FIRST-LAST`;
        /// unset, that kind serves none.
        metrics: MetricsSection {
            /// The job's processes (`dataflow --metrics-listen`).
            job: Option<String> = None, flag "--metrics-listen" help "Where the job's processes serve metrics";
            /// The producers (`producer --metrics-listen`).
            producers: Option<String> = None,
                flag "--metrics-listen" help "Where the producers serve metrics";
            /// The harness during `harness run` (`harness run --metrics-listen`, which also sets the
            /// other two when they are unset).
            harness: Option<String> = None,
                flag "--metrics-listen" help "Where the harness serves metrics";
            /// How long a process keeps serving its final values after its work is done, so a
            /// scrape sees them (at least the scrape interval when that matters).
            linger_ms: u64 = 0,
                flag "--metrics-linger-ms"
                help "Keep serving the final metrics this long after the work is done";
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

impl WindowSection {
    /// The window size in nanoseconds.
    pub fn size_ns(&self) -> u64 {
        self.size * 1_000_000_000
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
             `generator`, `seed`, `paced`, `base_time_ms`, `id`, `dry_run`, `resume`, `watermark_interval_ms`, `pacing_tick_us`"
        );
        assert!(error_of("[producer]\n").starts_with("test.toml: key `producer`: unknown key"));
    }

    #[test]
    fn allowed_lateness_needs_update_and_bounded_mode() {
        assert_eq!(
            error_of("[job]\nallowed_lateness_ms = 5\nmode = \"bounded\"\n"),
            "invalid configuration: `job.allowed_lateness_ms` (--allowed-lateness-ms) needs job.output \
             = update (`--output update`): in append mode a window's one result is final when it closes"
        );
        assert!(
            error_of("[job]\nallowed_lateness_ms = 5\noutput = \"update\"\n")
                .contains("applies to bounded mode (`--mode bounded`) only")
        );
        Profile::from_toml(
            "[job]\nallowed_lateness_ms = 5\noutput = \"update\"\nmode = \"bounded\"\n",
            "t",
        )
        .unwrap()
        .validate()
        .unwrap();
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
