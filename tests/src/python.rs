//! Real foreign clients: the seed project's kind of Python producer (`tests/python/seed_producer.py`),
//! run with kafka-python from PyPI in a virtual environment kept in adstream's per-user cache, outside
//! the checkout, like the broker (`.ci/run` prepares it up front; a test makes it when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use adstream_harness::services::broker::cache_dir;

/// The kafka-python release the tests use.
pub const KAFKA_PYTHON: &str = "kafka-python==3.0.12";

/// The Python of the test environment, with kafka-python installed (made once per machine).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = cache_dir().join("python");
        let python = venv.join("bin").join("python");
        let ready = venv.join(format!(".{KAFKA_PYTHON}"));
        if !ready.is_file() {
            // Made beside, then moved into place: a concurrent test process never sees half of it.
            let building = cache_dir().join(format!("python.{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&building);
            run(Command::new("python3").args(["-m", "venv"]).arg(&building));
            run(Command::new(building.join("bin").join("pip")).args([
                "install",
                "--quiet",
                KAFKA_PYTHON,
            ]));
            std::fs::write(building.join(format!(".{KAFKA_PYTHON}")), b"").unwrap();
            let _ = std::fs::remove_dir_all(&venv);
            // Only `bin/python` is used, which works from the final place (pip's scripts would not).
            if std::fs::rename(&building, &venv).is_err() {
                // Another process won the race; theirs is as good.
                let _ = std::fs::remove_dir_all(&building);
            }
        }
        python
    })
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(status.success(), "{command:?}: {status}");
}

/// The seed-like producer script.
pub fn seed_producer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/seed_producer.py")
}

/// What a seed-like producer writes: `seconds` logical seconds × `per_second` events, in windows of
/// `window_s` seconds counted from `base` (Unix seconds) when given, else from when it starts, as the
/// seed's do; `seed` makes its events repeatable.
#[derive(Debug, Clone, Copy)]
pub struct SeedProducer {
    /// Logical seconds of events.
    pub seconds: u32,
    /// Events per logical second.
    pub per_second: u32,
    /// Window size in seconds.
    pub window_s: u64,
    /// The base time, Unix seconds.
    pub base: Option<u64>,
    /// Random seed.
    pub seed: u64,
}

impl SeedProducer {
    /// The command that runs it against `topic` at `bootstrap`; it prints `{"base", "acked",
    /// "failed"}` when done.
    pub fn command(&self, bootstrap: &str, topic: &str) -> Command {
        let mut command = Command::new(python());
        command
            .arg(seed_producer_script())
            .args(["--bootstrap", bootstrap, "--topic", topic])
            .args(["--seconds", &self.seconds.to_string()])
            .args(["--per-second", &self.per_second.to_string()])
            .args(["--window", &self.window_s.to_string()])
            .args(["--seed", &self.seed.to_string()]);
        if let Some(base) = self.base {
            command.args(["--base", &base.to_string()]);
        }
        command
    }
}

/// Runs two producers of the seed's kind to their end, as the seed runs its two processes: at once,
/// sharing their base (now, in whole seconds), seeds 0 and 1, `seconds` × `per_second` events each in
/// windows of `window_s` seconds, into the events topic of `kafka`.
pub fn run_seed_pair(
    kafka: &adstream_profile::profile::KafkaSection,
    seconds: u32,
    per_second: u32,
    window_s: u64,
) {
    let base = adstream_protocol::clock::unix_ms() / 1_000;
    let producers: Vec<_> = (0..2)
        .map(|seed| {
            let kafka = kafka.clone();
            std::thread::spawn(move || {
                let p = SeedProducer {
                    seconds,
                    per_second,
                    window_s,
                    base: Some(base),
                    seed,
                };
                let out = p
                    .command(&kafka.bootstrap, &kafka.events_topic)
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .expect("run the Python producer");
                assert!(out.status.success());
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
}
