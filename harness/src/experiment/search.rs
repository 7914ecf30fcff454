//! The search of `harness capacity` for the highest sustainable total event rate of a configuration,
//! free of I/O (each rate is evaluated by a function it is given). A rate is
//! sustainable when the producers keep their schedule, the results are exact, end-to-end p90 stays under
//! a bound, and latency does not grow over the run (the last third of the windows no worse than the
//! first third, within a tolerance). The search doubles from a starting rate until a run fails, then
//! bisects between the last pass and the first failure.

use std::fmt;

use serde::Serialize;

use crate::report::model::{Report, RunSummary};

/// When a run counts as sustainable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Criteria {
    /// End-to-end p90 must be at most this, ms.
    pub max_p90_ms: f64,
    /// Every producer's schedule lag p99 must be at most this, ms.
    pub max_lag_p99_ms: f64,
}

/// Latency of the last third of the windows may be this many times the first third's…
pub const GROWTH_FACTOR: f64 = 2.0;
/// …plus this many ms. The local broker's own delay grows over a run (BENCHMARKS.md: its p90 from
/// 14 to 25 ms over 60 s at the seed's load), which is not overload; an overloaded run's latency grows
/// by seconds.
pub const GROWTH_SLACK_MS: f64 = 10.0;

/// What a run showed, as far as sustainability goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Total events per second asked of the producers.
    pub rate: u64,
    /// Events per second the producers achieved together.
    pub achieved_rate: f64,
    /// The largest schedule lag p99 of any producer, ms.
    pub lag_p99_ms: f64,
    /// End-to-end p90, ms.
    pub p90_ms: f64,
    /// Mean of the per-window maximum latency over the first third of the windows, ms.
    pub first_third_ms: f64,
    /// The same over the last third, ms.
    pub last_third_ms: f64,
    /// Verification was exact.
    pub exact: bool,
    /// Why the run is not sustainable; empty when it is.
    pub failures: Vec<String>,
}

impl Evidence {
    /// Judges a run against `criteria`.
    pub fn judge(rate: u64, summary: &RunSummary, report: &Report, criteria: &Criteria) -> Self {
        let maxima: Vec<f64> = report
            .windows
            .iter()
            .map(|w| w.latency.max_latency_ms as f64)
            .collect();
        Self::of(
            rate,
            report.producers.iter().map(|p| p.achieved_rate).sum(),
            report
                .producers
                .iter()
                .map(|p| p.schedule_lag_p99_ms)
                .fold(0.0, f64::max),
            report.latency_ms.p90,
            &maxima,
            report.verification.exact && summary.counted_all(),
            criteria,
        )
    }

    /// Judges the figures of a run.
    pub fn of(
        rate: u64,
        achieved_rate: f64,
        lag_p99_ms: f64,
        p90_ms: f64,
        window_maxima: &[f64],
        exact: bool,
        criteria: &Criteria,
    ) -> Self {
        let third = window_maxima.len().div_ceil(3).max(1);
        let mean = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let first_third_ms = mean(&window_maxima[..third.min(window_maxima.len())]);
        let last_third_ms = mean(&window_maxima[window_maxima.len().saturating_sub(third)..]);
        let mut failures = Vec::new();
        if !exact {
            failures.push("results not exact".to_owned());
        }
        if lag_p99_ms > criteria.max_lag_p99_ms {
            failures.push(format!(
                "producers fell behind (schedule lag p99 {lag_p99_ms:.1} ms > {:.1} ms)",
                criteria.max_lag_p99_ms
            ));
        }
        if window_maxima.is_empty() {
            failures.push("no results".to_owned());
        } else if p90_ms > criteria.max_p90_ms {
            failures.push(format!(
                "p90 {p90_ms:.1} ms > {:.1} ms",
                criteria.max_p90_ms
            ));
        }
        if last_third_ms > first_third_ms * GROWTH_FACTOR + GROWTH_SLACK_MS {
            failures.push(format!(
                "latency grew ({first_third_ms:.1} ms in the first third of the windows, \
                 {last_third_ms:.1} ms in the last)"
            ));
        }
        Self {
            rate,
            achieved_rate,
            lag_p99_ms,
            p90_ms,
            first_third_ms,
            last_third_ms,
            exact,
            failures,
        }
    }

    /// A run that did not complete (a child failed): not sustained, and nothing measured.
    pub fn run_failed(rate: u64, error: &str) -> Self {
        Self {
            rate,
            achieved_rate: 0.0,
            lag_p99_ms: 0.0,
            p90_ms: f64::NAN,
            first_third_ms: f64::NAN,
            last_third_ms: f64::NAN,
            exact: false,
            failures: vec![format!("run failed: {error}")],
        }
    }

    /// Whether the run was sustainable.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events/s: {} — achieved {:.0}/s, schedule lag p99 {:.1} ms, p90 {:.1} ms, \
             window max {:.1} ms (first third) → {:.1} ms (last third), {}",
            self.rate,
            if self.passed() {
                "sustained"
            } else {
                "NOT sustained"
            },
            self.achieved_rate,
            self.lag_p99_ms,
            self.p90_ms,
            self.first_third_ms,
            self.last_third_ms,
            if self.exact { "exact" } else { "NOT exact" }
        )?;
        if !self.passed() {
            write!(f, " ({})", self.failures.join("; "))?;
        }
        Ok(())
    }
}

/// Where the search ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    /// The highest rate that passed, with its evidence; `None` when even the first rate failed.
    pub sustained: Option<Evidence>,
    /// The lowest rate that failed above it; `None` when every rate up to the bound passed.
    pub failed: Option<Evidence>,
    /// Every run, in the order made.
    pub runs: Vec<Evidence>,
}

/// The search: doubling from `start` while runs pass (up to `max`), then `steps` bisections between the
/// last pass and the first failure. Rates are multiples of `step` (the producer count, so each producer
/// gets a whole rate). `evaluate` runs one rate.
pub fn search<E>(
    start: u64,
    max: u64,
    steps: u32,
    step: u64,
    mut evaluate: impl FnMut(u64) -> Result<Evidence, E>,
) -> Result<Capacity, E> {
    let step = step.max(1);
    let round = |r: u64| (r / step).max(1) * step;
    let mut runs = Vec::new();
    let mut sustained: Option<Evidence> = None;
    let mut failed: Option<Evidence> = None;
    let mut rate = round(start.min(max));
    loop {
        let evidence = evaluate(rate)?;
        runs.push(evidence.clone());
        if evidence.passed() {
            sustained = Some(evidence);
            if rate >= max {
                break;
            }
            rate = round(rate.saturating_mul(2).min(max));
        } else {
            failed = Some(evidence);
            break;
        }
    }
    if let (Some(_), Some(_)) = (&sustained, &failed) {
        for _ in 0..steps {
            let (low, high) = (
                sustained.as_ref().map_or(0, |e| e.rate),
                failed.as_ref().map_or(0, |e| e.rate),
            );
            let mid = round(low + (high - low) / 2);
            if mid <= low || mid >= high {
                break;
            }
            let evidence = evaluate(mid)?;
            runs.push(evidence.clone());
            if evidence.passed() {
                sustained = Some(evidence);
            } else {
                failed = Some(evidence);
            }
        }
    }
    Ok(Capacity {
        sustained,
        failed,
        runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRITERIA: Criteria = Criteria {
        max_p90_ms: 50.0,
        max_lag_p99_ms: 100.0,
    };

    /// A system that sustains up to `limit` events/s.
    fn system(limit: u64) -> impl FnMut(u64) -> Result<Evidence, ()> {
        move |rate| {
            let p90 = if rate <= limit { 10.0 } else { 500.0 };
            Ok(Evidence::of(
                rate,
                rate as f64,
                1.0,
                p90,
                &[p90; 6],
                true,
                &CRITERIA,
            ))
        }
    }

    #[test]
    fn doubling_then_bisection_brackets_the_limit() {
        let c = search(1_000, 1_000_000, 4, 2, system(11_000)).unwrap();
        let rates: Vec<u64> = c.runs.iter().map(|e| e.rate).collect();
        assert_eq!(
            rates,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 12_000, 10_000, 11_000, 11_500
            ]
        );
        assert_eq!(c.sustained.unwrap().rate, 11_000);
        assert_eq!(c.failed.unwrap().rate, 11_500);
    }

    #[test]
    fn the_bound_and_the_start_end_the_search() {
        let c = search(1_000, 5_000, 3, 1, system(u64::MAX)).unwrap();
        let rates: Vec<u64> = c.runs.iter().map(|e| e.rate).collect();
        assert_eq!(rates, [1_000, 2_000, 4_000, 5_000]);
        assert!(c.failed.is_none());
        let c = search(1_000, 5_000, 3, 1, system(10)).unwrap();
        assert_eq!(c.runs.len(), 1);
        assert!(c.sustained.is_none());
    }

    #[test]
    fn each_criterion_fails_a_run_with_its_reason() {
        let ok = Evidence::of(10, 10.0, 1.0, 10.0, &[10.0, 11.0, 12.0], true, &CRITERIA);
        assert!(ok.passed(), "{ok}");
        let lagging = Evidence::of(10, 10.0, 250.0, 10.0, &[10.0; 3], true, &CRITERIA);
        assert!(lagging.failures[0].contains("fell behind"));
        let slow = Evidence::of(10, 10.0, 1.0, 51.0, &[10.0; 3], true, &CRITERIA);
        assert!(slow.failures[0].contains("p90 51.0 ms"));
        // 6 windows: the first two average 10 ms, the last two 40 ms > 2 × 10 + 10.
        let growing = Evidence::of(
            10,
            10.0,
            1.0,
            40.0,
            &[10.0, 10.0, 20.0, 30.0, 40.0, 40.0],
            true,
            &CRITERIA,
        );
        assert_eq!(growing.failures.len(), 1);
        assert!(growing.failures[0].contains("latency grew"));
        assert_eq!(
            (growing.first_third_ms, growing.last_third_ms),
            (10.0, 40.0)
        );
        let wrong = Evidence::of(10, 10.0, 1.0, 10.0, &[10.0; 3], false, &CRITERIA);
        assert!(!wrong.passed());
        assert!(wrong.to_string().contains("NOT exact"));
    }
}
