//! A run's files: `report.json`, `windows.csv` (one row per window, via the `csv` crate) and
//! `summary.json` (the children's own summaries).

use std::path::Path;

use serde::Serialize;

use crate::report::model::{Report, RunSummary};

/// One row of `windows.csv`.
#[derive(Debug, Serialize)]
struct WindowCsvRow {
    window_id: u64,
    campaigns: u64,
    events: u64,
    max_latency_ms: u64,
    avg_latency_ms: f64,
    max_event_time_latency_ms: u64,
    broker_delay_p90_ms: f64,
    /// Empty when the window's close time is not known (remote job processes).
    job_added_ms: Option<u64>,
}

/// Rounded to hundredths, as the CSV shows figures.
fn hundredths(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Report {
    /// Writes `report.json` and `windows.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        let mut csv = csv::Writer::from_path(dir.join("windows.csv"))?;
        for w in &self.windows {
            let l = &w.latency;
            csv.serialize(WindowCsvRow {
                window_id: l.window_id,
                campaigns: l.campaigns,
                events: l.events,
                max_latency_ms: l.max_latency_ms,
                avg_latency_ms: hundredths(l.avg_latency_ms),
                max_event_time_latency_ms: l.max_event_time_latency_ms,
                broker_delay_p90_ms: hundredths(w.broker_delay_p90_ms),
                job_added_ms: w.job_added_ms,
            })?;
        }
        csv.flush()
    }
}

impl RunSummary {
    /// Writes `summary.json` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(self)?,
        )
    }
}

/// Writes `bytes` to `path`, readable by its owner only: a profile can hold client secrets (a SASL
/// password) the run's children read, which the report redacts.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}
