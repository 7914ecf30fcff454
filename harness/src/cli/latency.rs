//! `harness latency`: the latency collector on its own over an existing results topic (the seed's
//! latency_calculator.py): a per-window table and percentiles.

use adstream_harness::measure::collectors::{ResultFormat, ResultsCollector};
use adstream_harness::report::latency::LatencyReport;
use adstream_kafka::metadata::reach;

use crate::cli::ReadArgs;

/// Reads every result (until the topic stays quiet) and prints the table of the final ones (in update
/// mode the revisions before them are not the window's result).
pub fn run(args: &ReadArgs) -> anyhow::Result<()> {
    let profile = args.profile()?;
    reach(&profile.kafka.connection())?;
    let collector = ResultsCollector::start(&profile.kafka, ResultFormat::Ours)?;
    let observations: Vec<_> = collector
        .finish(u64::MAX)
        .iter()
        .filter(|c| c.result.is_final)
        .map(|c| c.observation())
        .collect();
    let report = LatencyReport::of(&observations);
    let p = report.end_to_end.percentiles();
    println!(
        "{:>9} {:>9} {:>8} {:>14} {:>14}",
        "window", "campaigns", "events", "max ms", "avg ms"
    );
    for w in &report.windows {
        println!(
            "{:>9} {:>9} {:>8} {:>14} {:>14.1}",
            w.window_id, w.campaigns, w.events, w.max_latency_ms, w.avg_latency_ms
        );
    }
    println!(
        "{} results: latency avg {:.1} ms, p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
        p.count, p.avg, p.p50, p.p90, p.p99, p.max
    );
    Ok(())
}
