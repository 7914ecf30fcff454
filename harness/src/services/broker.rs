//! The local broker (ARCHITECTURE.md, "The broker"): tansu 0.6.0 (provisioned by
//! [`crate::services::broker_install`]) started on a loopback port with memory or SQLite storage,
//! waited for until it answers Kafka requests, started again the same way when it died, and stopped
//! when dropped. The SQLite build keeps data across a crash, and SCRAM credentials for the SASL
//! tests (with memory storage tansu's credential store is a no-op).

use std::fs::File;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::services::ownership::owned_command;
use std::time::{Duration, Instant};

use adstream_kafka::settings::admin_config;
use adstream_profile::client::Connection;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;

pub use crate::services::broker_install::{
    Build, InstallError, TANSU_VERSION, cache_dir, ensure_build, ensure_tansu,
};
/// How long a started broker may take to answer its first metadata request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A problem provisioning or starting the local broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// tansu could not be provisioned.
    #[error(transparent)]
    Provision(#[from] InstallError),
    /// `cargo install` could not be run or failed.
    #[error("installing tansu {TANSU_VERSION} failed: {0}")]
    Install(String),
    /// The broker process could not be started.
    #[error("cannot start tansu at {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The broker exited before it answered.
    #[error("tansu exited before it was ready ({status}); its log ends: {log}")]
    Exited {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last lines it wrote.
        log: String,
    },
    /// The broker did not answer in time.
    #[error("tansu did not answer on {address} within {}s; its log ends: {log}", READY_TIMEOUT.as_secs())]
    NotReady {
        /// Where it should listen.
        address: String,
        /// The last lines it wrote.
        log: String,
    },
    /// A local I/O error (log file, lock file, free port).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for tests and generated hostfiles) that
/// this process has not handed out before: a port is released once found, so without that, two
/// threads (parallel tests) could be given the same one and the second to bind it would fail.
pub fn free_port() -> std::io::Result<u16> {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
}

/// A running local broker, stopped when dropped.
#[derive(Debug)]
pub struct LocalBroker {
    child: Child,
    address: String,
    log: PathBuf,
    tansu: PathBuf,
    /// How it was started, to start it again the same way.
    setup: Setup,
}

/// Where a local broker keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory: gone when it stops (every run's broker).
    Memory,
    /// In this SQLite file, which keeps SCRAM users across restarts (the SQL build of tansu).
    Sqlite(PathBuf),
}

/// How a local broker is started.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Where it listens, `HOST:PORT`.
    pub listen: String,
    /// Where clients are told to connect (something in front of it, or `listen`).
    pub advertised: String,
    /// Its storage.
    pub storage: Storage,
    /// Whether clients must authenticate with SASL (`--authentication`).
    pub authentication: bool,
    /// The client that asks whether it is ready (with credentials when it authenticates).
    pub client: Connection,
}

impl Setup {
    /// Memory storage on `listen`, advertised as itself, without authentication.
    pub fn at(listen: &str) -> Self {
        Self {
            listen: listen.to_owned(),
            advertised: listen.to_owned(),
            storage: Storage::Memory,
            authentication: false,
            client: Connection::plain(listen),
        }
    }
}

impl LocalBroker {
    /// Starts tansu listening on `address` (`HOST:PORT`) and returns once it answers Kafka metadata
    /// requests. Its output goes to a log file beside the cache.
    pub fn start(address: &str) -> Result<Self, BrokerError> {
        Self::start_with(&Setup::at(address))
    }

    /// Starts tansu listening on `address` and telling clients to connect to `advertised`: the
    /// address of something in front of it, such as a TLS terminator.
    pub fn start_advertising(address: &str, advertised: &str) -> Result<Self, BrokerError> {
        Self::start_with(&Setup {
            advertised: advertised.to_owned(),
            ..Setup::at(address)
        })
    }

    /// Starts tansu as `setup` says and returns once it answers a metadata request of `setup.client`.
    pub fn start_with(setup: &Setup) -> Result<Self, BrokerError> {
        let (child, log, tansu) = Self::spawn(setup)?;
        let mut broker = Self {
            child,
            address: setup.listen.clone(),
            log,
            tansu,
            setup: setup.clone(),
        };
        broker.wait_ready(&setup.client)?;
        Ok(broker)
    }

    /// Starts the broker again as it was started, after it exited (or kills it first): on the same
    /// address, with the data its storage kept (none with memory storage). Returns once it answers.
    pub fn restart(&mut self) -> Result<(), BrokerError> {
        self.kill();
        let (child, log, _) = Self::spawn(&self.setup)?;
        self.child = child;
        self.log = log;
        self.wait_ready(&self.setup.client.clone())
    }

    /// Kills the broker now (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the broker keeps its data when it dies (not memory storage).
    pub fn durable(&self) -> bool {
        self.setup.storage != Storage::Memory
    }

    fn spawn(setup: &Setup) -> Result<(Child, PathBuf, PathBuf), BrokerError> {
        let address = setup.listen.as_str();
        let tansu = match setup.storage {
            Storage::Memory => ensure_tansu()?,
            Storage::Sqlite(_) => ensure_build(Build::Sql)?,
        };
        let logs = cache_dir().join("logs");
        std::fs::create_dir_all(&logs)?;
        let log = logs.join(format!(
            "tansu-{}-{}.log",
            address.replace(':', "_"),
            std::process::id()
        ));
        // Appended to: a restarted broker's log follows the one of the broker that died.
        let out = File::options().create(true).append(true).open(&log)?;
        let mut command = owned_command(&tansu);
        command
            .arg("broker")
            .args(["--listener-url", &format!("tcp://{address}")])
            .args([
                "--advertised-listener-url",
                &format!("tcp://{}", setup.advertised),
            ]);
        match &setup.storage {
            Storage::Memory => command.args(["--storage-engine", "memory://tansu/"]),
            // tansu takes the path after `sqlite://` relative to its working directory.
            Storage::Sqlite(db) => command
                .current_dir(db.parent().unwrap_or(Path::new(".")))
                .arg("--storage-engine")
                .arg(format!(
                    "sqlite://{}",
                    db.file_name()
                        .map_or_else(|| "tansu.db".into(), |n| n.to_string_lossy())
                )),
        };
        if setup.authentication {
            command.arg("--authentication");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|source| BrokerError::Spawn {
                path: tansu.clone(),
                source,
            })?;
        Ok((child, log, tansu))
    }

    /// Creates a SCRAM-SHA-512 user on this broker (it must not require authentication yet, and keep
    /// users: SQLite storage), with tansu's own client.
    pub fn create_scram_user(&self, name: &str, password: &str) -> Result<(), BrokerError> {
        let out = Command::new(&self.tansu)
            .args(["user", "create", "--mechanism", "scram512"])
            .args(["--broker", &format!("tcp://{}", self.address)])
            .args([name, password])
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(BrokerError::Install(format!(
                "tansu user create: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Starts tansu on a free loopback port.
    pub fn start_on_free_port() -> Result<Self, BrokerError> {
        Self::start(&format!("127.0.0.1:{}", free_port()?))
    }

    /// The broker's `HOST:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The file the broker logs to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The broker's exit status, if it has exited (it runs until stopped).
    pub fn try_status(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait()
    }

    fn wait_ready(&mut self, client: &Connection) -> Result<(), BrokerError> {
        let admin: AdminClient<DefaultClientContext> = admin_config(client)
            .create()
            .map_err(|e| BrokerError::Install(format!("kafka client: {e}")))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(BrokerError::Exited {
                    status,
                    log: self.log_tail(),
                });
            }
            // A metadata request blocks until the broker answers or the short timeout passes: this
            // is the readiness signal, not a sleep.
            if admin
                .inner()
                .fetch_metadata(None, Duration::from_millis(500))
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(BrokerError::NotReady {
                    address: self.address.clone(),
                    log: self.log_tail(),
                });
            }
        }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        let _ = File::open(&self.log).and_then(|mut f| f.read_to_string(&mut text));
        let lines: Vec<&str> = text.lines().rev().take(3).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_outside_the_checkout_and_overridable() {
        let dir = cache_dir();
        assert!(dir.ends_with("adstream") || std::env::var_os("ADSTREAM_CACHE").is_some());
        assert!(!dir.starts_with(env!("CARGO_MANIFEST_DIR")));
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port().unwrap();
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn no_port_is_handed_out_twice_even_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..100).map(|_| free_port().unwrap()).collect::<Vec<_>>())
            })
            .collect();
        let ports: Vec<u16> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
    }
}
