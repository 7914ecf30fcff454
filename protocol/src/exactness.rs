//! Exactness (ARCHITECTURE.md, "Exactness"): the expected result of a set of events, computed with
//! this module's own code — serde's parser and a plain tally, not the job's fast path, aggregate or
//! dataflow — and the comparison of a results topic with it. Missing, extra, duplicate and
//! differing results are all mismatches.
//!
//! Events the job declared late (bounded mode: behind a window it had already closed) are in the
//! dead-letter topic with their source position; a recount given those positions leaves them out of
//! the tallies and counts them apart, so every valid event is accounted for — in a result or declared
//! late — and the results are compared with the rest.
//!
//! Every result record is a *revision* of its (window, campaign) and says which input it counts: its
//! `as_of`, per partition the offset below which it counts the events. The recount keeps, per
//! (window, campaign, partition), the running tally at each event's offset, so it can state the tally
//! of exactly that prefix; every revision must equal it, and the final one also the tally of every
//! valid event not declared late. A (window, campaign) has exactly one final revision, its last, and
//! no revision number twice.
//!
//! Which records count is decided by [`crate::validity`], the rules the job applies too: per
//! partition, in offset order, so an inferred base time is inferred exactly as the job inferred it.
//! When the base is given, each result's window bounds are checked against it too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::tally::Step;
pub use crate::tally::Tally;
use crate::validity::{EventRules, PartitionRules, check_size};
use crate::window::BaseRange;
use crate::wire::{
    AsOf, Event, HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, LATE_REASON_PREFIX,
    WindowResult,
};

/// Mismatches listed in full; the rest are only counted.
pub(crate) const LISTED: usize = 10;

/// Where in the events topic the event of a dead letter the job declared late came from, read from
/// the dead letter's headers (`header(key)` gives one's text); `None` for any other dead letter.
pub fn declared_late_at(header: impl Fn(&str) -> Option<String>) -> Option<(i32, i64)> {
    if !header(HEADER_REASON)?.starts_with(LATE_REASON_PREFIX) {
        return None;
    }
    Some((
        header(HEADER_SOURCE_PARTITION)?.parse().ok()?,
        header(HEADER_SOURCE_OFFSET)?.parse().ok()?,
    ))
}

/// The recount of an events topic: per (window, campaign), the tally of its valid events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recount {
    rules: EventRules,
    partitions: BTreeMap<i32, PartitionRules>,
    declared_late: BTreeSet<(i32, i64)>,
    late: u64,
    tallies: BTreeMap<(u64, u32), Tally>,
    /// Per (window, campaign, partition), the running tally after each of its events, in offset order.
    steps: BTreeMap<(u64, u32, i32), Vec<Step>>,
}

impl Recount {
    /// An empty recount that takes the events `rules` accept.
    pub fn new(rules: EventRules) -> Self {
        Self {
            rules,
            partitions: BTreeMap::new(),
            declared_late: BTreeSet::new(),
            late: 0,
            tallies: BTreeMap::new(),
            steps: BTreeMap::new(),
        }
    }

    /// The same, leaving out of the tallies the events at these (partition, offset) positions, which
    /// the job declared late (their dead letters' source positions).
    pub fn with_declared_late(mut self, positions: BTreeSet<(i32, i64)>) -> Self {
        self.declared_late = positions;
        self
    }

    /// Offers the record at `offset` of `partition` of the events topic (each partition's records
    /// in offset order): `control` when it carries a `kind` header, `value` its bytes. Returns
    /// whether it was counted in a tally (a valid event not declared late).
    pub fn offer(&mut self, partition: i32, offset: i64, control: bool, value: &[u8]) -> bool {
        if control || check_size(value.len()).is_err() {
            return false;
        }
        let Ok(event) = serde_json::from_slice::<Event>(value) else {
            return false;
        };
        self.offer_event(partition, offset, &event)
    }

    /// Offers the event at `offset` of `partition`, parsed; returns whether it was counted.
    pub fn offer_event(&mut self, partition: i32, offset: i64, event: &Event) -> bool {
        let rules = self.rules;
        // A late event is valid: it narrows an inferred base as it did in the job.
        let checked = self
            .partitions
            .entry(partition)
            .or_insert_with(|| rules.partition())
            .check(event);
        if checked.is_err() {
            return false;
        }
        if self.declared_late.contains(&(partition, offset)) {
            self.late += 1;
            return false;
        }
        self.tallies
            .entry((event.window_id, event.campaign_id))
            .or_default()
            .add(event);
        let steps = self
            .steps
            .entry((event.window_id, event.campaign_id, partition))
            .or_default();
        let step = Step::after(steps.last(), offset, event);
        steps.push(step);
        true
    }

    /// The tally of (`window`, `campaign`) over exactly the events below `as_of` in each partition
    /// (none of a partition it does not name).
    pub fn tally_as_of(&self, window: u64, campaign: u32, as_of: &AsOf) -> Tally {
        let mut total = Tally::default();
        for (&partition, &below) in as_of {
            let Some(steps) = self.steps.get(&(window, campaign, partition)) else {
                continue;
            };
            let n = steps.partition_point(|s| s.offset < below);
            if let Some(last) = n.checked_sub(1).map(|i| steps[i]) {
                total.merge(&last.tally());
            }
        }
        total
    }

    /// The tallies, by (window, campaign).
    pub fn tallies(&self) -> &BTreeMap<(u64, u32), Tally> {
        &self.tallies
    }

    /// The base times every partition's valid events allow (with a given base, exactly it).
    pub fn base(&self) -> BaseRange {
        self.partitions
            .values()
            .fold(self.rules.partition().known(), |r, p| r.narrow(p.known()))
    }

    /// Valid events the job declared late, left out of the tallies.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Valid events counted in the tallies.
    pub fn events(&self) -> u64 {
        self.tallies.values().map(|t| t.count).sum()
    }

    /// Compares `results` — every revision of every (window, campaign) — with the recount.
    pub fn compare(&self, results: &[WindowResult]) -> Verification {
        let mut mismatches = Vec::new();
        let mut revisions: BTreeMap<(u64, u32), BTreeMap<u32, u32>> = BTreeMap::new();
        let mut finals: BTreeMap<(u64, u32), Vec<&WindowResult>> = BTreeMap::new();
        for r in results {
            let key = (r.window_id, r.campaign_id);
            let (w, c) = key;
            *revisions
                .entry(key)
                .or_default()
                .entry(r.revision)
                .or_default() += 1;
            if r.is_final {
                finals.entry(key).or_default().push(r);
            }
            let got = Tally::of_result(r);
            if let Some(windows) = self.rules.windows() {
                let bounds = (
                    windows.start_ns(w) / 1_000_000,
                    windows.end_ns(w) / 1_000_000,
                );
                if (r.window_start_ms, r.window_end_ms) != bounds {
                    mismatches.push(format!(
                        "window {w} campaign {c}: bounds {}..{} ms, the run's windows say {}..{}",
                        r.window_start_ms, r.window_end_ms, bounds.0, bounds.1
                    ));
                }
            }
            if !self.tallies.contains_key(&key) {
                mismatches.push(format!(
                    "window {w} campaign {c}: extra result {}",
                    figures(&got)
                ));
                continue;
            }
            let prefix = self.tally_as_of(w, c, &r.as_of);
            if prefix != got {
                mismatches.push(format!(
                    "window {w} campaign {c} revision {}: result [count, views, clicks, purchases, \
                     max_produce_time] = {}, recount of its as_of {:?} {}",
                    r.revision,
                    figures(&got),
                    r.as_of,
                    figures(&prefix)
                ));
            }
        }
        for ((w, c), by_revision) in &revisions {
            for (revision, n) in by_revision {
                if *n > 1 {
                    mismatches.push(format!(
                        "window {w} campaign {c}: {n} records of revision {revision}"
                    ));
                }
            }
        }
        for (key, want) in &self.tallies {
            let (w, c) = *key;
            match finals.get(key).map(Vec::as_slice) {
                None | Some([]) => mismatches.push(format!(
                    "window {w} campaign {c}: missing final result (recount {})",
                    figures(want)
                )),
                Some([last]) => {
                    let got = Tally::of_result(last);
                    if got != *want {
                        mismatches.push(format!(
                            "window {w} campaign {c}: final result [count, views, clicks, purchases, \
                             max_produce_time] = {}, recount {}",
                            figures(&got),
                            figures(want)
                        ));
                    }
                    let newest = revisions[key].keys().last().copied().unwrap_or_default();
                    if last.revision != newest {
                        mismatches.push(format!(
                            "window {w} campaign {c}: revision {newest} after the final one ({})",
                            last.revision
                        ));
                    }
                }
                Some(several) => mismatches.push(format!(
                    "window {w} campaign {c}: {} final results",
                    several.len()
                )),
            }
        }
        let windows: BTreeSet<u64> = self.tallies.keys().map(|k| k.0).collect();
        Verification {
            exact: mismatches.is_empty(),
            windows_checked: windows.len() as u64,
            results_expected: self.tallies.len() as u64,
            results_read: results.len() as u64,
            events: self.events(),
            late_excluded: self.late,
            mismatch_count: mismatches.len() as u64,
            mismatches: mismatches.into_iter().take(LISTED).collect(),
        }
    }
}

fn figures(t: &Tally) -> String {
    format!(
        "[{}, {}, {}, {}, {}]",
        t.count, t.views, t.clicks, t.purchases, t.max_produce_time
    )
}

/// The verdict of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Every result equals the recount and nothing is missing or extra.
    pub exact: bool,
    /// Windows with events.
    pub windows_checked: u64,
    /// (window, campaign) pairs with events: the final results expected.
    pub results_expected: u64,
    /// Result records read.
    pub results_read: u64,
    /// Valid events recounted into the tallies.
    pub events: u64,
    /// Valid events the job declared late (dead-letter topic), left out of the tallies.
    #[serde(default)]
    pub late_excluded: u64,
    /// How many mismatches.
    pub mismatch_count: u64,
    /// The first few, described.
    pub mismatches: Vec<String>,
}

impl Verification {
    /// Marks the verification as failed for a reason that comes before any mismatch.
    pub fn fail_first(&mut self, reason: String) {
        self.exact = false;
        self.mismatch_count += 1;
        self.mismatches.insert(0, reason);
        self.mismatches.truncate(LISTED);
    }

    /// The verdict of a run that was never verified, saying why.
    pub fn not_verified(reason: String, results_read: u64) -> Self {
        Self {
            exact: false,
            windows_checked: 0,
            results_expected: 0,
            results_read,
            events: 0,
            late_excluded: 0,
            mismatch_count: 1,
            mismatches: vec![reason],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Windows;

    const EVENT: &str = r#"{"user_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01","page_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02","ad_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03","ad_type":"video","event_type":"click","event_time_ns":25,"window_id":2,"ip_address":"10.0.0.1","campaign_id":4,"produce_time":5}"#;

    fn recount() -> Recount {
        Recount::new(EventRules::new(Windows::new(0, 10)))
    }

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
            revision: 0,
            is_final: true,
            as_of: AsOf::from([(0, i64::MAX), (1, i64::MAX)]),
        }
    }

    #[test]
    fn only_valid_events_are_recounted() {
        let mut r = recount();
        assert!(r.offer(0, 1, false, EVENT.as_bytes()));
        assert!(!r.offer(0, 2, true, EVENT.as_bytes()), "a control record");
        for bad in [
            EVENT.replace("\"campaign_id\":4", "\"campaign_id\":11"),
            EVENT.replace("\"window_id\":2", "\"window_id\":7"),
            "{broken".to_owned(),
            " ".repeat(70_000),
        ] {
            assert!(!r.offer(0, 3, false, bad.as_bytes()), "{bad:.60}");
        }
        assert_eq!(r.events(), 1);
        assert_eq!(
            r.tallies()[&(2, 4)],
            Tally {
                count: 1,
                views: 0,
                clicks: 1,
                purchases: 0,
                max_produce_time: 5
            }
        );
    }

    #[test]
    fn equal_results_are_exact_and_every_kind_of_difference_is_named() {
        let mut r = recount();
        r.offer(0, 4, false, EVENT.as_bytes());
        let v = r.compare(&[result(2, 4, [1, 0, 1, 0, 5])]);
        assert!(v.exact, "{v:?}");
        assert_eq!((v.windows_checked, v.results_expected, v.events), (1, 1, 1));

        let bad = [
            result(2, 4, [1, 0, 1, 0, 4]),
            result(2, 4, [1, 0, 1, 0, 4]),
            result(3, 3, [1, 0, 0, 1, 9]),
        ];
        let v = r.compare(&bad);
        assert!(!v.exact);
        assert_eq!(v.mismatch_count, 5, "{:#?}", v.mismatches);
        let text = v.mismatches.join("\n");
        for needle in [
            "= [1, 0, 1, 0, 4], recount of its as_of {0: 9223372036854775807, 1: 9223372036854775807} [1, 0, 1, 0, 5]",
            "window 2 campaign 4: 2 records of revision 0",
            "window 2 campaign 4: 2 final results",
            "window 3 campaign 3: extra result",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let v = r.compare(&[]);
        assert_eq!(
            v.mismatches,
            ["window 2 campaign 4: missing final result (recount [1, 0, 1, 0, 5])"]
        );
    }

    /// Each revision is checked against the prefix its `as_of` names; the final one against everything.
    #[test]
    fn every_revision_equals_the_recount_of_its_as_of_prefix() {
        let mut r = recount();
        // (window 2, campaign 4): partition 0 at offsets 1 and 5, partition 1 at offset 2.
        for (p, o) in [(0, 1), (0, 5), (1, 2)] {
            assert!(r.offer(p, o, false, EVENT.as_bytes()));
        }
        let revision = |n: u32, is_final, count, as_of: &[(i32, i64)]| WindowResult {
            revision: n,
            is_final,
            as_of: as_of.iter().copied().collect(),
            ..result(2, 4, [count, 0, count, 0, 5])
        };
        let good = [
            revision(0, false, 1, &[(0, 2), (1, 0)]),
            revision(1, false, 2, &[(0, 2), (1, 3)]),
            revision(2, true, 3, &[(0, 6), (1, 3)]),
        ];
        let v = r.compare(&good);
        assert!(v.exact, "{v:?}");
        assert_eq!((v.results_read, v.results_expected), (3, 1));

        // Counting an event its as_of leaves out; a final that is not the last; a final short of
        // the whole recount (though right for its own prefix).
        let bad = [
            revision(0, false, 2, &[(0, 2), (1, 0)]),
            revision(1, true, 2, &[(0, 2), (1, 3)]),
            revision(2, false, 3, &[(0, 6), (1, 3)]),
        ];
        let text = r.compare(&bad).mismatches.join("\n");
        for needle in [
            "revision 0: result [count, views, clicks, purchases, max_produce_time] = [2, 0, 2, 0, 5], recount of its as_of {0: 2, 1: 0} [1, 0, 1, 0, 5]",
            "final result [count, views, clicks, purchases, max_produce_time] = [2, 0, 2, 0, 5], recount [3, 0, 3, 0, 5]",
            "revision 2 after the final one (1)",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn an_inferred_base_is_inferred_per_partition_in_offset_order() {
        let mut r = Recount::new(EventRules::inferring_base(10));
        // Partition 0 first says base 0..=5 (window 2 at 25); partition 1 first says 6..=15 (window
        // 1).
        assert!(r.offer(0, 5, false, EVENT.as_bytes()));
        let window_one = EVENT.replace("\"window_id\":2", "\"window_id\":1");
        assert!(
            r.offer(1, 6, false, window_one.as_bytes()),
            "partition 1's own first event"
        );
        assert!(
            !r.offer(0, 7, false, window_one.as_bytes()),
            "contradicts partition 0"
        );
        assert!(r.offer(1, 8, false, window_one.as_bytes()));
        assert!(
            !r.offer(1, 9, false, EVENT.as_bytes()),
            "contradicts partition 1"
        );
        assert_eq!(r.events(), 3);
        assert!(r.base().lo > r.base().hi, "the partitions disagree");
    }

    #[test]
    fn a_late_dead_letter_names_its_source_position() {
        let letter = |reason: &'static str| {
            move |key: &str| match key {
                HEADER_REASON => Some(reason.to_owned()),
                HEADER_SOURCE_PARTITION => Some("3".to_owned()),
                HEADER_SOURCE_OFFSET => Some("1200".to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            declared_late_at(letter("late: window 0 already closed")),
            Some((3, 1200))
        );
        assert_eq!(declared_late_at(letter("invalid JSON: …")), None);
        assert_eq!(declared_late_at(|_: &str| None), None);
    }

    #[test]
    fn events_the_job_declared_late_are_left_out_and_counted_apart() {
        let mut r = recount().with_declared_late(BTreeSet::from([(0, 2)]));
        assert!(r.offer(0, 1, false, EVENT.as_bytes()));
        assert!(!r.offer(0, 2, false, EVENT.as_bytes()), "declared late");
        assert!(
            !r.offer(1, 2, false, EVENT.as_bytes().get(..5).unwrap()),
            "not an event"
        );
        assert_eq!((r.events(), r.late()), (1, 1));
        let v = r.compare(&[result(2, 4, [1, 0, 1, 0, 5])]);
        assert!(v.exact, "{v:?}");
        assert_eq!(v.late_excluded, 1);
    }

    #[test]
    fn with_a_given_base_the_window_bounds_are_checked() {
        let mut r = Recount::new(EventRules::new(Windows::new(1_000_000_000, 10_000_000)));
        let event = EVENT.replace("\"event_time_ns\":25", "\"event_time_ns\":1025000000");
        assert!(r.offer(0, 10, false, event.as_bytes()));
        let mut good = result(2, 4, [1, 0, 1, 0, 5]);
        good.window_start_ms = 1_020;
        good.window_end_ms = 1_030;
        assert!(r.compare(&[good.clone()]).exact);
        let mut shifted = good;
        shifted.window_start_ms = 1_021;
        assert_eq!(
            r.compare(&[shifted]).mismatches,
            ["window 2 campaign 4: bounds 1021..1030 ms, the run's windows say 1020..1030"]
        );
    }
}
