//! `harness drain`: the catch-up baseline — a bare consumer with the job's settings reads the events
//! topic to its end markers and reports records/s.

use adstream_harness::measure::drain::drain;
use adstream_kafka::metadata::reach;

use crate::cli::ReadArgs;

/// Drains the events topic and prints the rate.
pub fn run(args: &ReadArgs) -> anyhow::Result<()> {
    let profile = args.profile()?;
    reach(&profile.kafka.connection())?;
    let rate = drain(&profile.kafka, profile.producers.count)?;
    println!("{}", serde_json::to_string(&rate)?);
    eprintln!(
        "bare consumer: {} records ({} events) in {:.2} s: {:.0} records/s",
        rate.records, rate.events, rate.elapsed_s, rate.records_per_s
    );
    Ok(())
}
