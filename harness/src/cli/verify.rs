//! `harness verify`: the exactness check on its own, over existing events and results topics.

use std::time::Duration;

use adstream_harness::measure::verify::{EventsEnd, VerifyPlan, verify};
use adstream_kafka::metadata::reach;
use adstream_profile::profile::keys;

use crate::cli::ReadArgs;

/// How long reading the topics back may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Recounts and compares; fails listing the first mismatches when not exact.
pub fn run(args: &ReadArgs) -> anyhow::Result<()> {
    let profile = args.profile()?;
    reach(&profile.kafka.connection())?;
    let rules = profile.event_rules().ok_or_else(|| {
        keys::producers::base_time_ms.invalid(
            "must be given: which window an event belongs to depends on the run's base time \
             (pass the run's profile: --config <run dir>/profile.toml, or --mode bounded to infer \
             it from the events)",
        )
    })?;
    // Our producers end the topic with their end markers; events of others end where the topic
    // ends now.
    let end = match profile.producers.count {
        0 => EventsEnd::Quiet,
        producers => EventsEnd::EndMarkers(producers),
    };
    let plan = VerifyPlan {
        kafka: &profile.kafka,
        end,
        rules,
        timeout: TIMEOUT,
    };
    let v = verify(&plan, None)?;
    println!("{}", serde_json::to_string(&v)?);
    for m in &v.mismatches {
        eprintln!("  mismatch: {m}");
    }
    anyhow::ensure!(
        v.exact,
        "not exact: {} mismatches among {} results for {} windows ({} events recounted)",
        v.mismatch_count,
        v.results_read,
        v.windows_checked,
        v.events
    );
    eprintln!(
        "exact: {} results for {} windows equal a recount of {} events",
        v.results_read, v.windows_checked, v.events
    );
    Ok(())
}
