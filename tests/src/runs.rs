//! Whole harness runs for the end-to-end tests: a run to an exact end, and the lock that keeps a
//! latency-comparing test and a browser-driving one from running at the same time.

use crate::TestBroker;

/// Held by a test that measures latency against another run of its own (a ratio), exclusively, and
/// by a test that drives a browser for a while, shared: a headless Chromium starting on this 2-core
/// machine takes both cores for a moment, which such a ratio would count against the job.
static MEASURING: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// For a test that compares latencies: no browser-driving test runs meanwhile.
pub fn measuring_alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    MEASURING
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// For a test that drives a browser: no latency-comparing test runs meanwhile.
pub fn driving_a_browser() -> std::sync::RwLockReadGuard<'static, ()> {
    MEASURING
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TestBroker {
    /// `harness run` on this broker's topics with `args`, its files in a fresh directory of the
    /// temporary directory named after `name`; asserts that it exits 0 with verification EXACT and
    /// returns the run's directory and its stderr.
    pub fn run_exact(&self, name: &str, args: &[&str]) -> (std::path::PathBuf, String) {
        let out = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
        let run = self
            .harness_run()
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run harness");
        let err = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{err}");
        assert!(err.contains("verification EXACT"), "{err}");
        (out, err)
    }
}
