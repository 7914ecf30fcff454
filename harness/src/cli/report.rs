//! `harness report DIR`: makes a run directory's `report.html` again from its `report.json` and
//! `latency.svg` (a run writes it itself; this is for older runs and edited reports).

use std::path::PathBuf;

use adstream_harness::report::page::write_report_page;
use anyhow::Context as _;
use clap::Args;

/// The run directory.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's directory (the `--out` of `harness run`), holding its report.json.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Writes `DIR/report.html` and says where.
pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    write_report_page(&args.dir)
        .with_context(|| format!("cannot make the report page of {}", args.dir.display()))?;
    eprintln!("wrote {}", args.dir.join("report.html").display());
    Ok(())
}
