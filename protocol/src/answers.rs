//! What another engine wrote to the results topic, and the verdict on it (ARCHITECTURE.md, "Any
//! engine"). An engine the harness did not build writes one JSON record per (window, campaign) — or
//! several, when it emits updates — with at least `window_id` (or `window_start`, Unix ms),
//! `campaign_id`, `count` and `max_produce_time`, and `views`, `clicks`, `purchases` when it has
//! them. Its *answer* for a (window, campaign) is the last record it wrote for it; the records before
//! are its revisions.
//!
//! The verdict compares every answer with the recount of the events topic ([`Recount`]): a
//! (window, campaign) with events and no answer is missing, an answer without events is extra, an
//! answer whose figures differ is wrong, and the same record written twice in a row for one key, or a
//! record that is not a result at all, is a mismatch too. Figures an engine does not write are not
//! compared; those it writes are.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::exactness::{LISTED, Recount, Verification};
use crate::tally::Tally;
use crate::window::Windows;

/// One result record of another engine, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The window, counted from the run's base time.
    pub window_id: u64,
    /// The campaign.
    pub campaign_id: u32,
    /// Events of the campaign in the window.
    pub count: u64,
    /// Of which views, clicks and purchases, when the engine writes them.
    pub by_type: Option<[u64; 3]>,
    /// The largest `produce_time` among them (Unix ms).
    pub max_produce_time: u64,
}

impl Answer {
    /// Reads one result record's value: a JSON object with the fields of the module's contract.
    /// `windows` turns a `window_start` (Unix ms) into the run's window; without it only `window_id`
    /// is understood. The error says what is wrong, for the verdict.
    pub fn parse(value: &[u8], windows: Option<&Windows>) -> Result<Self, String> {
        let json: Value = serde_json::from_slice(value).map_err(|e| format!("not JSON ({e})"))?;
        let object = json
            .as_object()
            .ok_or_else(|| "not a JSON object".to_owned())?;
        let field = |name: &str| object.get(name).filter(|v| !v.is_null());
        let number = |name: &str| -> Result<Option<u64>, String> {
            field(name)
                .map(|v| {
                    whole_number(v).ok_or_else(|| format!("`{name}` is not a whole number: {v}"))
                })
                .transpose()
        };
        let required = |name: &str| number(name)?.ok_or_else(|| format!("no `{name}`"));
        let window_id = match (number("window_id")?, number("window_start")?) {
            (Some(id), _) => id,
            (None, Some(start_ms)) => window_of_start(start_ms, windows)?,
            (None, None) => return Err("no `window_id` or `window_start`".to_owned()),
        };
        let campaign = required("campaign_id")?;
        let by_type = match (number("views")?, number("clicks")?, number("purchases")?) {
            (Some(v), Some(c), Some(p)) => Some([v, c, p]),
            (None, None, None) => None,
            _ => return Err("`views`, `clicks` and `purchases` come together".to_owned()),
        };
        Ok(Self {
            window_id,
            campaign_id: u32::try_from(campaign)
                .map_err(|_| format!("`campaign_id` {campaign} is out of range"))?,
            count: required("count")?,
            by_type,
            max_produce_time: required("max_produce_time")?,
        })
    }

    /// Whether these figures are those of `tally` (figures the engine does not write are not
    /// compared).
    fn agrees_with(&self, tally: &Tally) -> bool {
        let types = [tally.views, tally.clicks, tally.purchases];
        self.count == tally.count
            && self.max_produce_time == tally.max_produce_time
            && self.by_type.is_none_or(|t| t == types)
    }

    fn figures(&self) -> String {
        match self.by_type {
            Some([v, c, p]) => format!(
                "count {}, views {v}, clicks {c}, purchases {p}, max_produce_time {}",
                self.count, self.max_produce_time
            ),
            None => format!(
                "count {}, max_produce_time {}",
                self.count, self.max_produce_time
            ),
        }
    }
}

/// A JSON number that is a whole, non-negative number (engines write `12` or `12.0`), or a string of
/// one (`"12"`).
fn whole_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 2f64.powi(63))
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The run's window that starts at `start_ms` (Unix ms).
fn window_of_start(start_ms: u64, windows: Option<&Windows>) -> Result<u64, String> {
    let windows = windows.ok_or_else(|| {
        "`window_start` without the run's base time: write `window_id` instead".to_owned()
    })?;
    let start_ns = start_ms.saturating_mul(1_000_000);
    match windows.window_of(start_ns) {
        Some(w) if windows.start_ns(w) == start_ns => Ok(w),
        _ => Err(format!(
            "`window_start` {start_ms} is not the start of one of the run's windows"
        )),
    }
}

fn tally_figures(t: &Tally) -> String {
    format!(
        "count {}, views {}, clicks {}, purchases {}, max_produce_time {}",
        t.count, t.views, t.clicks, t.purchases, t.max_produce_time
    )
}

/// What was read from an engine's results topic, in the order it was written per key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// Per (window, campaign), every record, oldest first.
    by_key: BTreeMap<(u64, u32), Vec<Answer>>,
    /// Records that are not results, each described.
    unreadable: Vec<String>,
    records: u64,
}

impl Answers {
    /// Takes the next record of a key's sequence (records of one key in the order they were written).
    pub fn take(&mut self, answer: Answer) {
        self.records += 1;
        self.by_key
            .entry((answer.window_id, answer.campaign_id))
            .or_default()
            .push(answer);
    }

    /// Takes a record that is not a result; `what` says where it was and why.
    pub fn take_unreadable(&mut self, what: String) {
        self.records += 1;
        self.unreadable.push(what);
    }

    /// The answer of (`window`, `campaign`): its last record.
    pub fn last(&self, window: u64, campaign: u32) -> Option<&Answer> {
        self.by_key.get(&(window, campaign))?.last()
    }

    /// Whether every (window, campaign) of `recount` has an answer that agrees with it.
    pub fn all_agree(&self, recount: &Recount) -> bool {
        recount
            .tallies()
            .iter()
            .all(|(&(w, c), t)| self.last(w, c).is_some_and(|a| a.agrees_with(t)))
    }

    /// The (window, campaign) pairs of `recount` with no answer yet.
    pub fn missing(&self, recount: &Recount) -> Vec<(u64, u32)> {
        recount
            .tallies()
            .keys()
            .filter(|k| !self.by_key.contains_key(k))
            .copied()
            .collect()
    }

    /// The verdict: every answer against the recount.
    pub fn verdict(&self, recount: &Recount) -> Verification {
        let mut mismatches: Vec<String> = self.unreadable.clone();
        for (&(w, c), records) in &self.by_key {
            let last = records.last().expect("a key has a record");
            match recount.tallies().get(&(w, c)) {
                None => mismatches.push(format!(
                    "window {w} campaign {c}: extra result ({})",
                    last.figures()
                )),
                Some(want) if !last.agrees_with(want) => mismatches.push(format!(
                    "window {w} campaign {c}: result {}, recount {}",
                    last.figures(),
                    tally_figures(want)
                )),
                Some(_) => {}
            }
            let twice = records.windows(2).filter(|p| p[0] == p[1]).count();
            if twice > 0 {
                mismatches.push(format!(
                    "window {w} campaign {c}: the same record written again {twice} time(s) ({})",
                    last.figures()
                ));
            }
        }
        for ((w, c), want) in recount.tallies() {
            if !self.by_key.contains_key(&(*w, *c)) {
                mismatches.push(format!(
                    "window {w} campaign {c}: missing result (recount {})",
                    tally_figures(want)
                ));
            }
        }
        let windows: std::collections::BTreeSet<u64> =
            recount.tallies().keys().map(|k| k.0).collect();
        Verification {
            exact: mismatches.is_empty(),
            windows_checked: windows.len() as u64,
            results_expected: recount.tallies().len() as u64,
            results_read: self.records,
            events: recount.events(),
            late_excluded: recount.late(),
            mismatch_count: mismatches.len() as u64,
            mismatches: mismatches.into_iter().take(LISTED).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validity::EventRules;

    const EVENT: &str = r#"{"user_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01","page_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02","ad_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03","ad_type":"video","event_type":"click","event_time_ns":25000000000,"window_id":2,"ip_address":"10.0.0.1","campaign_id":4,"produce_time":5}"#;

    fn windows() -> Windows {
        Windows::new(5_000_000_000, 10_000_000_000)
    }

    fn recount() -> Recount {
        let mut r = Recount::new(EventRules::new(windows()));
        assert!(r.offer(0, 0, false, EVENT.as_bytes()));
        assert!(r.offer(1, 0, false, EVENT.as_bytes()));
        r
    }

    fn answer(text: &str) -> Answer {
        Answer::parse(text.as_bytes(), Some(&windows())).unwrap()
    }

    #[test]
    fn the_seeds_result_and_ours_are_both_read() {
        let seed = answer(r#"{"window_id":2,"campaign_id":4,"count":2,"max_produce_time":5}"#);
        let by_start = answer(
            r#"{"window_start":25000,"campaign_id":"4","count":2.0,"max_produce_time":5,"views":0,"clicks":2,"purchases":0,"other":"x"}"#,
        );
        assert_eq!(
            (seed.window_id, seed.campaign_id, seed.by_type),
            (2, 4, None)
        );
        assert_eq!((by_start.window_id, by_start.by_type), (2, Some([0, 2, 0])));
        for (text, why) in [
            (
                r#"{"campaign_id":4,"count":2,"max_produce_time":5}"#,
                "no `window_id` or `window_start`",
            ),
            (
                r#"{"window_start":26000,"campaign_id":4,"count":2,"max_produce_time":5}"#,
                "`window_start` 26000 is not the start",
            ),
            (
                r#"{"window_id":2,"campaign_id":4,"count":2.5,"max_produce_time":5}"#,
                "`count` is not a whole number: 2.5",
            ),
            (
                r#"{"window_id":2,"campaign_id":4,"count":2}"#,
                "no `max_produce_time`",
            ),
            (
                r#"{"window_id":2,"campaign_id":4,"count":2,"max_produce_time":5,"views":1}"#,
                "`views`, `clicks` and `purchases` come together",
            ),
            ("[1]", "not a JSON object"),
        ] {
            let error = Answer::parse(text.as_bytes(), Some(&windows())).unwrap_err();
            assert!(error.starts_with(why), "{text}: {error}");
        }
    }

    #[test]
    fn the_last_record_of_a_key_is_the_answer() {
        let r = recount();
        let mut answers = Answers::default();
        answers.take(answer(
            r#"{"window_id":2,"campaign_id":4,"count":1,"max_produce_time":5}"#,
        ));
        assert!(!answers.all_agree(&r));
        answers.take(answer(
            r#"{"window_id":2,"campaign_id":4,"count":2,"max_produce_time":5}"#,
        ));
        assert!(answers.all_agree(&r));
        let v = answers.verdict(&r);
        assert!(v.exact, "{v:?}");
        assert_eq!((v.results_expected, v.results_read, v.events), (1, 2, 2));
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let r = recount();
        let v = Answers::default().verdict(&r);
        assert_eq!(
            v.mismatches,
            [
                "window 2 campaign 4: missing result (recount count 2, views 0, clicks 2, purchases 0, \
              max_produce_time 5)"
            ]
        );
        let mut answers = Answers::default();
        let wrong = r#"{"window_id":2,"campaign_id":4,"count":1,"max_produce_time":5,"views":0,"clicks":1,"purchases":0}"#;
        answers.take(answer(wrong));
        answers.take(answer(wrong));
        answers.take(answer(
            r#"{"window_id":3,"campaign_id":1,"count":1,"max_produce_time":9}"#,
        ));
        answers.take_unreadable("partition 0 offset 7: not JSON".to_owned());
        let v = answers.verdict(&r);
        assert!(!v.exact);
        assert_eq!(
            v.mismatches,
            [
                "partition 0 offset 7: not JSON",
                "window 2 campaign 4: result count 1, views 0, clicks 1, purchases 0, \
                 max_produce_time 5, recount count 2, views 0, clicks 2, purchases 0, \
                 max_produce_time 5",
                "window 2 campaign 4: the same record written again 1 time(s) (count 1, views 0, \
                 clicks 1, purchases 0, max_produce_time 5)",
                "window 3 campaign 1: extra result (count 1, max_produce_time 9)",
            ]
        );
        assert_eq!(answers.missing(&r), []);
    }
}
