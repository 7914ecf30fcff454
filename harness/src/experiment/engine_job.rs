//! Another engine as the run's job (ARCHITECTURE.md, "Any engine"): the command the harness starts
//! instead of adstream's `dataflow` — the user's (`--job`) or a reference job's (`--engine`) — and
//! the contract it gets: the run's settings in `ADSTREAM_*` variables, its directory as the working
//! directory, a line that says it reads, and closing records after the producers.

use std::path::Path;
use std::time::Duration;

use adstream_profile::profile::Profile;

use crate::experiment::error::RunError;
use crate::report::files::write_private;
use crate::services::engines;

/// The stream job of a run when it is not adstream's own processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineJob {
    /// What the report and messages call it: the reference engine's name, or `job`.
    pub name: String,
    /// The shell command.
    pub command: String,
    /// The contract's variables, each `(name, value)`.
    pub env: Vec<(String, String)>,
}

impl EngineJob {
    /// The engine job of `profile` without its variables yet (none when the run's job is adstream's
    /// own processes), installing a reference engine on first use; `dataflow` is adstream's job
    /// binary, for `--engine adstream`. Called before the run's base time is chosen, so that an
    /// install does not eat into the engine's start allowance.
    pub fn command_of(profile: &Profile, dataflow: &Path) -> Result<Option<Self>, RunError> {
        let job = &profile.job;
        let (name, command) = match (&job.command, job.engine) {
            (Some(command), _) => ("job".to_owned(), command.clone()),
            (None, Some(engine)) => (engine.to_string(), engines::command(engine, dataflow)?),
            (None, None) => return Ok(None),
        };
        Ok(Some(Self {
            name,
            command,
            env: Vec::new(),
        }))
    }

    /// `profile` with the engine's own start allowance and lateness where the profile leaves them
    /// unset — the reference engine's, else [`DEFAULT_START_ALLOWANCE_S`] and none — so that the
    /// run's profile says what was used.
    pub fn settle(profile: &Profile) -> Profile {
        let mut profile = profile.clone();
        let job = &mut profile.job;
        let engine = job.engine;
        job.start_allowance_s
            .get_or_insert(engine.map_or(DEFAULT_START_ALLOWANCE_S, engines::start_allowance_s));
        job.lateness_ms
            .get_or_insert(engine.map_or(0, engines::lateness_ms));
        profile
    }

    /// How long after its start the engine reads, as the run plans it (`profile` settled): the
    /// producers' schedule begins that long after the harness starts it. They wait if it is ready
    /// sooner; if it is later, they start behind their schedule and catch up, which the report shows
    /// as schedule lag.
    pub fn start_allowance(profile: &Profile) -> Duration {
        Duration::from_secs(
            profile
                .job
                .start_allowance_s
                .unwrap_or(DEFAULT_START_ALLOWANCE_S),
        )
    }

    /// The same job with the contract's variables of `profile` (the run's effective profile, with its
    /// base time); `dir` is the run's directory.
    pub fn with_env(self, profile: &Profile, dir: &Path) -> Result<Self, RunError> {
        let dir = std::path::absolute(dir).map_err(RunError::io("resolve the run's directory"))?;
        Ok(Self {
            env: contract_env(profile, &dir)?,
            ..self
        })
    }
}

/// The start allowance of a job of the user's (`--job`), seconds.
const DEFAULT_START_ALLOWANCE_S: u64 = 10;

/// The variables a job receives (README, "Any engine", lists each).
fn contract_env(profile: &Profile, dir: &Path) -> Result<Vec<(String, String)>, RunError> {
    let k = &profile.kafka;
    let base = profile
        .producers
        .base_time_ms
        .map_or_else(String::new, |ms| ms.to_string());
    let properties = k.connection().properties;
    // librdkafka's names, which confluent-kafka takes as they are and the Java client mostly shares
    // (`security.protocol`, `ssl.ca.location` → `ssl.truststore.*` differ: README).
    let mut all = properties.all.clone();
    all.extend(properties.consumer.clone());
    let mut producer = properties.all.clone();
    producer.extend(properties.producer.clone());
    let file = dir.join("kafka.properties");
    let text: String = all.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    write_private(&file, text.as_bytes())
        .map_err(RunError::io(format!("write {}", file.display())))?;
    let json = |m: &std::collections::BTreeMap<String, String>| {
        serde_json::to_string(m).expect("properties serialise")
    };
    let vars = [
        ("ADSTREAM_BOOTSTRAP", k.bootstrap.clone()),
        ("ADSTREAM_EVENTS_TOPIC", k.events_topic.clone()),
        ("ADSTREAM_RESULTS_TOPIC", k.results_topic.clone()),
        ("ADSTREAM_PARTITIONS", k.partitions.to_string()),
        ("ADSTREAM_WINDOW_S", profile.window.size.to_string()),
        ("ADSTREAM_BASE_TIME_MS", base),
        (
            "ADSTREAM_LATENESS_MS",
            profile.job.lateness_ms.unwrap_or(0).to_string(),
        ),
        ("ADSTREAM_RUN_DIR", dir.display().to_string()),
        ("ADSTREAM_KAFKA_PROPERTIES", json(&all)),
        ("ADSTREAM_KAFKA_PRODUCER_PROPERTIES", json(&producer)),
        ("ADSTREAM_KAFKA_PROPERTIES_FILE", file.display().to_string()),
    ];
    Ok(vars.into_iter().map(|(n, v)| (n.to_owned(), v)).collect())
}
