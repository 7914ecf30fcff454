//! Validation of a loaded profile: every key's own rule (declared with the key, see [`crate::keys`]),
//! then the rules that relate keys to each other, each reported as one line naming the key and its
//! flag.

use crate::address::ListenPorts;
use crate::client::Table;
use crate::error::ConfigError;
use crate::keys::Key;
use crate::profile::{OutputMode, Profile, WindowMode, keys};
use crate::served::Served;

impl Profile {
    /// Checks every value that has the right type but may still be out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_each_key()?;
        self.kafka
            .connection()
            .properties
            .check()
            .map_err(|refused| {
                let key = match refused.table {
                    Table::All => keys::kafka::properties,
                    Table::Producer => keys::kafka::producer_properties,
                    Table::Consumer => keys::kafka::consumer_properties,
                };
                Key {
                    flag: keys::kafka::properties.flag,
                    ..key
                }
                .invalid(refused.to_string())
            })?;
        if self.producers.count == 0 && self.job.mode == WindowMode::Exact {
            return Err(keys::producers::count.invalid(
                "must be at least 1 in exact mode, which follows our producers' watermarks \
                 (0 — events from producers we do not start — needs `--mode bounded`)",
            ));
        }
        if self.job.allowed_lateness_ms > 0 {
            if self.job.output != OutputMode::Update {
                return Err(keys::job::allowed_lateness_ms.invalid(
                    "needs job.output = update (`--output update`): in append mode a window's one \
                     result is final when it closes",
                ));
            }
            if self.job.mode != WindowMode::Bounded {
                return Err(keys::job::allowed_lateness_ms.invalid(
                    "applies to bounded mode (`--mode bounded`) only: in exact mode no event is late",
                ));
            }
        }
        for (kind, processes) in [
            (Served::Job, self.job.processes),
            (Served::Producers, self.producers.count.max(1)),
            (Served::Harness, 1),
        ] {
            check_listen(kind, self.metrics.of(kind), processes)?;
        }
        if self.job.command.is_some() && self.job.engine.is_some() {
            return Err(keys::job::engine.invalid(
                "cannot be given with job.command (--job): one of them names the job to measure",
            ));
        }
        if self
            .job
            .command
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            return Err(keys::job::command.invalid("must not be empty"));
        }
        if self.job.process >= self.job.processes {
            return Err(keys::job::process.invalid(format!(
                "must be below job.processes ({}), got {}",
                self.job.processes, self.job.process
            )));
        }
        Ok(())
    }
}

/// `kind`'s metrics addresses: `HOST:PORT` or `HOST:FIRST-LAST` with room for each of `processes`.
fn check_listen(kind: Served, text: Option<&str>, processes: u32) -> Result<(), ConfigError> {
    let Some(text) = text else {
        return Ok(());
    };
    let key = kind.key();
    let ports = ListenPorts::parse(text)
        .map_err(|problem| key.invalid(format!("{problem} or HOST:FIRST-LAST, got {text:?}")))?;
    if ports.nth(processes - 1).is_none() {
        return Err(key.invalid(format!(
            "has no port for each of the {processes} processes, got {text:?}"
        )));
    }
    Ok(())
}
