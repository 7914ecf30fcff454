//! Provisioning the local broker: the tansu builds adstream uses, found on PATH or in the per-user
//! cache, or installed there with `cargo install` once (ARCHITECTURE.md, "The broker").

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The broker version every adstream install uses.
pub const TANSU_VERSION: &str = "0.6.0";

/// Why tansu could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// `cargo install` could not be run or failed.
    #[error("installing tansu {TANSU_VERSION} failed: {0}")]
    Failed(String),
    /// The cache or its lock file could not be used.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// adstream's per-user cache: `$ADSTREAM_CACHE`, else `$XDG_CACHE_HOME/adstream`, else
/// `~/.cache/adstream`. Outside any checkout, so fresh clones and CI runs reuse what it holds.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADSTREAM_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("adstream")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A build of tansu: which storage engines it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Memory storage (the `dynostore` feature): the broker of every run.
    Memory,
    /// SQLite storage too (the `libsql` feature): the one that keeps SCRAM users, for SASL.
    Sql,
}

impl Build {
    fn feature(self) -> &'static str {
        match self {
            Build::Memory => "dynostore",
            Build::Sql => "libsql",
        }
    }

    /// Where `cargo install` puts it.
    fn root(self) -> PathBuf {
        match self {
            Build::Memory => cache_dir(),
            Build::Sql => cache_dir().join("tansu-sql"),
        }
    }
}

/// The `tansu` binary: the one on PATH, else the cached one, else one installed now into the cache
/// with `cargo install` (about 10 minutes, once; the user is told on stderr). Concurrent callers,
/// in this or other processes, wait for a single install.
pub fn ensure_tansu() -> Result<PathBuf, InstallError> {
    if let Some(path) = on_path("tansu") {
        return Ok(path);
    }
    ensure_build(Build::Memory)
}

/// The cached `tansu` of `build`, installed now with `cargo install` when missing (10–15 minutes,
/// once; the user is told on stderr). Concurrent callers, in this or other processes, wait for a
/// single install.
pub fn ensure_build(build: Build) -> Result<PathBuf, InstallError> {
    let root = build.root();
    let cached = root.join("bin").join("tansu");
    if cached.is_file() {
        return Ok(cached);
    }
    std::fs::create_dir_all(&root)?;
    let lock = File::create(root.join("tansu-install.lock"))?;
    lock.lock()?;
    if cached.is_file() {
        return Ok(cached);
    }
    eprintln!(
        "adstream: installing tansu {TANSU_VERSION} ({} storage) into {} with cargo install (takes \
         10–15 minutes, once)",
        build.feature(),
        root.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["install", "tansu", "--locked", "--version", TANSU_VERSION])
        .args(["--features", build.feature(), "--root"])
        .arg(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| InstallError::Failed(format!("cannot run cargo: {e}")))?;
    if !status.success() || !cached.is_file() {
        return Err(InstallError::Failed(format!(
            "cargo install exited with {status}"
        )));
    }
    eprintln!("adstream: installed {}", cached.display());
    Ok(cached)
}
