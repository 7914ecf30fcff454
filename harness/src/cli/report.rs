//! `harness report DIR`: makes a run directory's `report.html` again from its `report.json`,
//! `latency.svg` and `timeline.json` (a run writes it itself; this is for older runs and edited
//! reports), and with `--serve` serves it until interrupted.

use std::path::PathBuf;
use std::time::Duration;

use adstream_harness::experiment::interrupt::Interrupt;
use adstream_harness::report::page::write_report_page;
use adstream_harness::services::live_server::{LiveServer, UiPlace};
use adstream_profile::ConfigError;
use anyhow::Context as _;
use clap::Args;

/// The run directory.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's directory (the `--out` of `harness run`), holding its report.json.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Serve the page at HOST:PORT (port 0: any free port; without a value 127.0.0.1:4040, or the
    /// next free port after it) until interrupted
    #[arg(long, value_name = "HOST:PORT", num_args = 0..=1, value_parser = UiPlace::parse)]
    serve: Option<Option<UiPlace>>,
}

/// Writes `DIR/report.html` and says where; serves it when asked.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    write_report_page(&args.dir)
        .with_context(|| format!("cannot make the report page of {}", args.dir.display()))?;
    let page = args.dir.join("report.html");
    eprintln!("wrote {}", page.display());
    let Some(place) = &args.serve else {
        return Ok(());
    };
    let place = place.clone().unwrap_or_default();
    let html = std::fs::read_to_string(&page)
        .with_context(|| format!("cannot read {}", page.display()))?;
    let interrupt = Interrupt::install()?;
    let server =
        LiveServer::start(&place, html).map_err(|e| ConfigError::Flags(format!("--serve: {e}")))?;
    if let Some(server) = &server {
        eprintln!("report page: {} (Ctrl-C ends)", server.describe());
    }
    while !interrupt.wait(Duration::from_secs(3600)) {}
    Ok(())
}
