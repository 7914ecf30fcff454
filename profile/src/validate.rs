//! Validation of a loaded profile: every value that has the right type but may still be out of range,
//! reported as one line naming the key and its flag.

use crate::client::Table;

use crate::address::{HostPort, ListenPorts};
use crate::error::ConfigError;
use crate::profile::{Profile, Served, WindowMode};

/// The longest pacing tick taken: a second, beyond which a tick is more likely a unit mistake (ms for
/// µs) than a wish to send events that late.
const MAX_PACING_TICK_US: u64 = 1_000_000;

impl Profile {
    /// Checks every value that has the right type but may still be out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn at_least(
            key: &'static str,
            flag: &'static str,
            value: u64,
            min: u64,
        ) -> Result<(), ConfigError> {
            if value < min {
                return Err(ConfigError::Invalid {
                    key,
                    flag,
                    problem: format!("must be at least {min}, got {value}"),
                });
            }
            Ok(())
        }
        fn positive(key: &'static str, flag: &'static str, value: f64) -> Result<(), ConfigError> {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::Invalid {
                    key,
                    flag,
                    problem: format!("must be a positive number, got {value}"),
                });
            }
            Ok(())
        }
        let k = &self.kafka;
        check_bootstrap(&k.bootstrap)?;
        for (key, flag, topic) in [
            ("kafka.events_topic", "--events-topic", &k.events_topic),
            ("kafka.results_topic", "--results-topic", &k.results_topic),
        ] {
            check_topic_name(key, flag, topic)?;
        }
        k.connection()
            .properties
            .check()
            .map_err(|refused| ConfigError::Invalid {
                key: match refused.table {
                    Table::All => "kafka.properties",
                    Table::Producer => "kafka.producer_properties",
                    Table::Consumer => "kafka.consumer_properties",
                },
                flag: "--kafka-property",
                problem: refused.to_string(),
            })?;
        at_least("kafka.partitions", "--partitions", k.partitions.into(), 1)?;
        at_least(
            "kafka.replication",
            "--replication",
            k.replication.into(),
            1,
        )?;
        let p = &self.producers;
        if p.count == 0 && self.job.mode == WindowMode::Exact {
            return Err(ConfigError::Invalid {
                key: "producers.count",
                flag: "--producers",
                problem:
                    "must be at least 1 in exact mode, which follows our producers' watermarks \
                          (0 — events from producers we do not start — needs `--mode bounded`)"
                        .to_owned(),
            });
        }
        at_least("producers.rate", "--rate", p.rate, 1)?;
        at_least("producers.duration", "--duration", p.duration, 1)?;
        at_least(
            "producers.watermark_interval_ms",
            "--watermark-interval-ms",
            p.watermark_interval_ms,
            1,
        )?;
        if p.pacing_tick_us > MAX_PACING_TICK_US {
            return Err(ConfigError::Invalid {
                key: "producers.pacing_tick_us",
                flag: "--pacing-tick-us",
                problem: format!(
                    "must be at most {MAX_PACING_TICK_US} (a second), got {}",
                    p.pacing_tick_us
                ),
            });
        }
        positive("mmpp.q12", "--mmpp-q12", self.mmpp.q12)?;
        positive("mmpp.q21", "--mmpp-q21", self.mmpp.q21)?;
        if !(self.mmpp.ratio.is_finite() && self.mmpp.ratio >= 1.0) {
            return Err(ConfigError::Invalid {
                key: "mmpp.ratio",
                flag: "--mmpp-ratio",
                problem: format!("must be a number of at least 1, got {}", self.mmpp.ratio),
            });
        }
        at_least("window.size", "--window", self.window.size, 1)?;
        at_least("job.workers", "--workers", self.job.workers.into(), 1)?;
        at_least("job.processes", "--processes", self.job.processes.into(), 1)?;
        at_least(
            "job.idle_timeout_ms",
            "--idle-timeout-ms",
            self.job.idle_timeout_ms,
            1,
        )?;
        at_least(
            "job.idle_close_ms",
            "--idle-close-ms",
            self.job.idle_close_ms,
            1,
        )?;
        for (kind, processes) in [
            (Served::Job, self.job.processes),
            (Served::Producers, self.producers.count.max(1)),
            (Served::Harness, 1),
        ] {
            check_listen(kind, self.metrics.of(kind), processes)?;
        }
        if self.job.process >= self.job.processes {
            return Err(ConfigError::Invalid {
                key: "job.process",
                flag: "--process",
                problem: format!(
                    "must be below job.processes ({}), got {}",
                    self.job.processes, self.job.process
                ),
            });
        }
        Ok(())
    }
}

fn check_bootstrap(bootstrap: &str) -> Result<(), ConfigError> {
    for address in bootstrap.split(',') {
        HostPort::parse(address).map_err(|problem| ConfigError::Invalid {
            key: "kafka.bootstrap",
            flag: "--bootstrap",
            problem: format!("{problem}, got {address:?}"),
        })?;
    }
    Ok(())
}

/// `kind`'s metrics addresses: `HOST:PORT` or `HOST:FIRST-LAST` with room for each of `processes`.
fn check_listen(kind: Served, text: Option<&str>, processes: u32) -> Result<(), ConfigError> {
    let Some(text) = text else {
        return Ok(());
    };
    let invalid = |problem: String| ConfigError::Invalid {
        key: kind.key(),
        flag: "--metrics-listen",
        problem,
    };
    let ports = ListenPorts::parse(text)
        .map_err(|problem| invalid(format!("{problem} or HOST:FIRST-LAST, got {text:?}")))?;
    if ports.nth(processes - 1).is_none() {
        return Err(invalid(format!(
            "has no port for each of the {processes} processes, got {text:?}"
        )));
    }
    Ok(())
}

fn check_topic_name(key: &'static str, flag: &'static str, topic: &str) -> Result<(), ConfigError> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty()
        || topic.len() > 200
        || !topic.chars().all(legal)
        || topic == "."
        || topic == ".."
    {
        return Err(ConfigError::Invalid {
            key,
            flag,
            problem: format!(
                "must be a Kafka topic name (letters, digits, '.', '_', '-'), got {topic:?}"
            ),
        });
    }
    Ok(())
}
