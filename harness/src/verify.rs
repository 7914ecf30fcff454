//! Exactness (SPEC §5), checked with the harness's own code, not the job's: recount the valid events of
//! the events topic per (window, campaign) — count, views, clicks, purchases, max produce_time — and
//! compare every result record with it. Missing, extra, duplicate and differing results are mismatches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use adstream_common::config::KafkaSection;
use adstream_common::kafka::KafkaError;
use adstream_common::schema::{Event, EventType, HEADER_KIND, WindowResult};
use rdkafka::Message;
use rdkafka::message::Headers;
use serde::Serialize;

use crate::topic_reader::{Next, assign_all, read_until};

/// Mismatches listed in full; the rest are only counted.
const LISTED: usize = 10;
/// Records larger than this are not events (the job's limit too).
const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Per (window, campaign): count, views, clicks, purchases, max produce time.
pub type Counts = BTreeMap<(u64, u32), [u64; 5]>;

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Every result equals the recount and nothing is missing or extra.
    pub exact: bool,
    /// Windows with events.
    pub windows_checked: u64,
    /// (window, campaign) pairs with events.
    pub results_expected: u64,
    /// Result records read.
    pub results_read: u64,
    /// Valid events recounted.
    pub events: u64,
    /// How many mismatches.
    pub mismatch_count: u64,
    /// The first few, described.
    pub mismatches: Vec<String>,
}

/// Adds one event to the recount.
pub fn count(counts: &mut Counts, e: &Event) {
    let c = counts.entry((e.window_id, e.campaign_id)).or_default();
    c[0] += 1;
    c[1] += u64::from(e.event_type == EventType::View);
    c[2] += u64::from(e.event_type == EventType::Click);
    c[3] += u64::from(e.event_type == EventType::Purchase);
    c[4] = c[4].max(e.produce_time);
}

/// A valid event: not a control record, not oversized, the event schema, a known campaign.
fn valid_event(kind: Option<&[u8]>, value: &[u8]) -> Option<Event> {
    if kind.is_some() || value.len() > MAX_EVENT_BYTES {
        return None;
    }
    let event: Event = serde_json::from_slice(value).ok()?;
    (1..=10).contains(&event.campaign_id).then_some(event)
}

/// Compares results with the recount.
pub fn compare(expected: &Counts, results: &[WindowResult]) -> Verification {
    let mut mismatches = Vec::new();
    let mut seen: BTreeMap<(u64, u32), u32> = BTreeMap::new();
    for r in results {
        let key = (r.window_id, r.campaign_id);
        *seen.entry(key).or_default() += 1;
        let got = [r.count, r.views, r.clicks, r.purchases, r.max_produce_time];
        match expected.get(&key) {
            None => mismatches.push(format!("window {} campaign {}: extra result {got:?}", key.0, key.1)),
            Some(want) if *want != got => mismatches.push(format!(
                "window {} campaign {}: result [count, views, clicks, purchases, max_produce_time] = {got:?}, recount {want:?}",
                key.0, key.1
            )),
            Some(_) => {}
        }
    }
    for (key, n) in &seen {
        if *n > 1 {
            mismatches.push(format!("window {} campaign {}: {n} results", key.0, key.1));
        }
    }
    for (key, want) in expected {
        if !seen.contains_key(key) {
            mismatches.push(format!(
                "window {} campaign {}: missing result (recount {want:?})",
                key.0, key.1
            ));
        }
    }
    let windows: std::collections::BTreeSet<u64> = expected.keys().map(|k| k.0).collect();
    Verification {
        exact: mismatches.is_empty(),
        windows_checked: windows.len() as u64,
        results_expected: expected.len() as u64,
        results_read: results.len() as u64,
        events: expected.values().map(|c| c[0]).sum(),
        mismatch_count: mismatches.len() as u64,
        mismatches: mismatches.into_iter().take(LISTED).collect(),
    }
}

/// Recounts the events topic (read until every partition holds an end marker from each of `producers`)
/// and compares the results topic with it. `results` may be given when already collected.
pub fn verify(
    kafka: &KafkaSection,
    producers: u32,
    results: Option<Vec<WindowResult>>,
    timeout: Duration,
) -> Result<Verification, KafkaError> {
    let deadline = Instant::now() + timeout;
    let never = Arc::new(AtomicBool::new(false));
    let (consumer, partitions) = assign_all(kafka, &kafka.events_topic)?;
    let mut ends_missing = u64::from(partitions) * u64::from(producers);
    let mut expected = Counts::new();
    let complete = read_until(
        &consumer,
        &never,
        Duration::ZERO,
        Some(deadline),
        |message| {
            let kind = message.headers().and_then(|hs| {
                hs.iter()
                    .find(|h| h.key == HEADER_KIND)
                    .and_then(|h| h.value)
            });
            if kind == Some(b"end".as_slice()) {
                ends_missing -= 1;
            } else if let Some(event) = valid_event(kind, message.payload().unwrap_or_default()) {
                count(&mut expected, &event);
            }
            if ends_missing == 0 {
                Next::Done
            } else {
                Next::More
            }
        },
    );
    let results = match results {
        Some(results) => results,
        None => read_results(kafka, expected.len(), deadline)?,
    };
    let mut verification = compare(&expected, &results);
    if !complete {
        verification.exact = false;
        verification.mismatch_count += 1;
        verification.mismatches.insert(
            0,
            format!(
                "the events topic did not show every producer's end marker within {}s",
                timeout.as_secs()
            ),
        );
    }
    Ok(verification)
}

/// Reads `expected` results, then keeps listening briefly for any extra ones.
fn read_results(
    kafka: &KafkaSection,
    expected: usize,
    deadline: Instant,
) -> Result<Vec<WindowResult>, KafkaError> {
    let (consumer, _) = assign_all(kafka, &kafka.results_topic)?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut results: Vec<WindowResult> = Vec::new();
    let mut take = |message: &rdkafka::message::BorrowedMessage<'_>| {
        if let Some(r) = message
            .payload()
            .and_then(|v| serde_json::from_slice(v).ok())
        {
            results.push(r);
        }
        results.len()
    };
    read_until(&consumer, &stop, Duration::ZERO, Some(deadline), |m| {
        if take(m) >= expected {
            Next::Done
        } else {
            Next::More
        }
    });
    // Anything after the expected count is extra; give it a moment to show.
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    read_until(
        &consumer,
        &stop,
        Duration::from_millis(500),
        Some(deadline),
        |m| {
            take(m);
            Next::More
        },
    );
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(window_id: u64, campaign_id: u32, c: [u64; 5]) -> WindowResult {
        WindowResult {
            window_id,
            window_start_ms: 0,
            window_end_ms: 0,
            campaign_id,
            count: c[0],
            views: c[1],
            clicks: c[2],
            purchases: c[3],
            max_produce_time: c[4],
            emitted_at_ms: 0,
        }
    }

    #[test]
    fn equal_results_are_exact_and_every_kind_of_difference_is_named() {
        let mut expected = Counts::new();
        expected.insert((0, 1), [3, 1, 1, 1, 50]);
        expected.insert((1, 2), [1, 1, 0, 0, 70]);
        let good = [
            result(0, 1, [3, 1, 1, 1, 50]),
            result(1, 2, [1, 1, 0, 0, 70]),
        ];
        let v = compare(&expected, &good);
        assert!(v.exact);
        assert_eq!((v.windows_checked, v.results_expected, v.events), (2, 2, 4));

        let bad = [
            result(0, 1, [3, 1, 1, 1, 49]),
            result(0, 1, [3, 1, 1, 1, 49]),
            result(2, 3, [1, 0, 0, 1, 9]),
        ];
        let v = compare(&expected, &bad);
        assert!(!v.exact);
        assert_eq!(v.mismatch_count, 5, "{:#?}", v.mismatches);
        let text = v.mismatches.join("\n");
        for needle in [
            "recount [3, 1, 1, 1, 50]",
            "2 results",
            "extra result",
            "window 1 campaign 2: missing",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn only_valid_events_are_recounted() {
        let event = br#"{"user_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01","page_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02","ad_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03","ad_type":"video","event_type":"click","event_time_ns":1,"window_id":0,"ip_address":"10.0.0.1","campaign_id":4,"produce_time":5}"#;
        assert!(valid_event(None, event).is_some());
        assert!(valid_event(Some(b"watermark"), event).is_none());
        let stranger =
            String::from_utf8_lossy(event).replace("\"campaign_id\":4", "\"campaign_id\":999");
        assert!(valid_event(None, stranger.as_bytes()).is_none());
        assert!(valid_event(None, b"{broken").is_none());
    }
}
