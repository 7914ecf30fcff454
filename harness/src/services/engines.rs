//! The reference engines (`--engine NAME`; ARCHITECTURE.md, "Any engine"): each a job script kept in
//! the repository's `engines/` folder and built into the harness, run in a Python environment of its
//! own with its engine at a pinned version, installed from PyPI on first use into
//! `~/.cache/adstream/engines/<name>-<version>`. `adstream` is our own `dataflow`, started through the
//! same contract.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use adstream_profile::profile::Engine;

use crate::experiment::error::RunError;
use crate::services::broker_install::cache_dir;

/// The Kafka client every Python reference job uses: librdkafka's Python binding.
const CONFLUENT_KAFKA: &str = "confluent-kafka==2.16.1";

/// A reference engine written in Python.
struct PythonEngine {
    /// The folder under the cache: name and version.
    folder: &'static str,
    /// What pip installs, pinned.
    packages: &'static [&'static str],
    /// The job script's file name, and its text.
    script: (&'static str, &'static str),
}

const BYTEWAX: PythonEngine = PythonEngine {
    folder: "bytewax-0.21.1",
    packages: &["bytewax==0.21.1", CONFLUENT_KAFKA],
    script: ("job.py", include_str!("../../../engines/bytewax/job.py")),
};

const PATHWAY: PythonEngine = PythonEngine {
    folder: "pathway-0.33.0",
    packages: &["pathway==0.33.0", CONFLUENT_KAFKA],
    script: ("job.py", include_str!("../../../engines/pathway/job.py")),
};

const SPARK: PythonEngine = PythonEngine {
    folder: "pyspark-4.0.1",
    // pyarrow: Spark's Python data sources hand their rows to the JVM as Arrow batches.
    packages: &["pyspark==4.0.1", "pyarrow==21.0.0", CONFLUENT_KAFKA],
    script: (
        "SparkJob.py",
        include_str!("../../../engines/spark/SparkJob.py"),
    ),
};

/// `engine`'s Python engine, if it is one.
fn python_engine(engine: Engine) -> Option<PythonEngine> {
    match engine {
        Engine::Adstream => None,
        Engine::Bytewax => Some(BYTEWAX),
        Engine::Pathway => Some(PATHWAY),
        Engine::Spark => Some(SPARK),
    }
}

/// What `engine` is made of — its pinned packages, or adstream's own binary — and where it is
/// installed, if it is.
pub fn describe(engine: Engine) -> (String, Option<PathBuf>) {
    match python_engine(engine) {
        None => ("adstream's own `dataflow`".to_owned(), None),
        Some(python) => {
            let dir = python.dir();
            let installed = python.installed().then_some(dir);
            (python.packages.join(" "), installed)
        }
    }
}

/// Installs `engine` now if it is not yet.
pub fn install(engine: Engine) -> Result<(), RunError> {
    match python_engine(engine) {
        None => Ok(()),
        Some(python) => python
            .ensure()
            .map(drop)
            .map_err(|reason| RunError::EngineInstall {
                engine: engine.to_string(),
                reason,
            }),
    }
}

/// The shell command of `engine`, installing it first when it is not yet; `dataflow` is adstream's
/// job binary.
pub fn command(engine: Engine, dataflow: &Path) -> Result<String, RunError> {
    let Some(python) = python_engine(engine) else {
        // Our own job reads the run's profile, which holds everything the variables say and more.
        return Ok(format!(
            "exec {} --config \"$ADSTREAM_RUN_DIR/profile.toml\"",
            quoted(dataflow)
        ));
    };
    let dir = python.ensure().map_err(|reason| RunError::EngineInstall {
        engine: engine.to_string(),
        reason,
    })?;
    let script = dir.join(python.script.0);
    std::fs::write(&script, python.script.1)
        .map_err(RunError::io(format!("write {}", script.display())))?;
    Ok(format!(
        "exec {} -u {}",
        quoted(&dir.join("bin").join("python")),
        quoted(&script)
    ))
}

/// How long after its start `engine` reads, on this 2-core machine with a margin (BENCHMARKS.md,
/// "Engines"): the run's start allowance unless `job.start_allowance_s` says otherwise.
pub fn start_allowance_s(engine: Engine) -> u64 {
    match engine {
        Engine::Adstream => 2,
        Engine::Bytewax => 3,
        Engine::Pathway => 5,
        Engine::Spark => 20,
    }
}

/// How far behind the largest event time `engine`'s watermark stays, so that events of the two
/// producers interleaved across partitions are not late: unless `job.lateness_ms` says otherwise.
/// adstream's own job closes windows on its producers' watermarks and needs none.
pub fn lateness_ms(engine: Engine) -> u64 {
    match engine {
        Engine::Adstream => 0,
        // Bytewax's event clock also advances with the wall clock while it reads nothing: its
        // lateness covers a stall of the machine too.
        Engine::Bytewax => 3_000,
        Engine::Pathway | Engine::Spark => 1_000,
    }
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl PythonEngine {
    fn dir(&self) -> PathBuf {
        cache_dir().join("engines").join(self.folder)
    }

    /// Whether its environment holds what it should: the marker lists what was installed, and a
    /// changed list installs again.
    fn installed(&self) -> bool {
        std::fs::read_to_string(self.dir().join(".installed"))
            .is_ok_and(|t| t == self.packages.join("\n"))
    }

    /// Its environment, made now when missing. Concurrent callers, in this or other processes, wait
    /// for one install.
    fn ensure(&self) -> Result<PathBuf, String> {
        let dir = self.dir();
        let engines = cache_dir().join("engines");
        let done = dir.join(".installed");
        let wanted = self.packages.join("\n");
        let installed = || self.installed();
        if installed() {
            return Ok(dir);
        }
        let io = |e: std::io::Error| format!("{}: {e}", dir.display());
        std::fs::create_dir_all(&dir).map_err(io)?;
        // Beside the folder, not in it: `venv --clear` empties the folder.
        let lock = File::create(engines.join(format!("{}.lock", self.folder))).map_err(io)?;
        lock.lock().map_err(io)?;
        if installed() {
            return Ok(dir);
        }
        eprintln!(
            "adstream: installing {} into {} from PyPI (once)",
            self.packages.join(" "),
            dir.display()
        );
        run(Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir))?;
        run(Command::new(dir.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(self.packages))?;
        std::fs::write(&done, wanted).map_err(io)?;
        Ok(dir)
    }
}

/// Runs an install step; its last stderr line is the reason when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let what = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(format!(
        "{what} exited with {}: {}",
        output.status,
        last.trim()
    ))
}
