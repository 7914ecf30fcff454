//! What a run shows while it goes, beyond its status line: its [`Timeline`], filled from what the
//! harness already follows — the children's typed messages (the ledger), the results collector, the
//! broker probe, `/proc` for CPU — and published to the live page when there is one. Nothing here
//! asks the job for anything: its hot path is untouched. The timeline is written to the run's
//! directory at the end (`timeline.json`), where `report.html` draws it again.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use adstream_profile::profile::Profile;
use adstream_protocol::clock::unix_ms;
use adstream_protocol::cpu;

use crate::experiment::harness_metrics::{HarnessMetrics, Phase};
use crate::experiment::ledger::Ledger;
use crate::experiment::role::Role;
use crate::measure::collectors::{LiveLatency, RunCollectors};
use crate::report::latency::{BrokerDelay, Percentiles};
use crate::report::model::Report;
use crate::report::timeline::{Quantiles, Sample, Settled, Timeline, WindowPoint};
use crate::services::live_server::LiveServer;

/// Buckets of the live latency distribution.
const DISTRIBUTION_BUCKETS: u64 = 40;

/// The processes whose CPU a sample reads: the running children, the broker the harness started.
#[derive(Debug, Clone, Default)]
pub struct Processes {
    /// Children running now, with their process ids.
    pub children: Vec<(Role, u32)>,
    /// The local broker's process.
    pub broker: Option<u32>,
}

/// The run's timeline, and the live page it feeds.
#[derive(Debug)]
pub struct LiveFeed<'a> {
    timeline: Timeline,
    server: Option<&'a LiveServer>,
}

impl<'a> LiveFeed<'a> {
    /// The timeline of a run of `profile` called `title`, shown on `server` when there is one.
    pub fn new(server: Option<&'a LiveServer>, title: &str, profile: &Profile) -> Self {
        let p = &profile.producers;
        let mut configuration = serde_json::to_value(profile).unwrap_or_default();
        configuration["kafka"] = serde_json::to_value(profile.kafka.redacted()).unwrap_or_default();
        let feed = Self {
            timeline: Timeline {
                title: title.to_owned(),
                phase: Phase::Starting.as_str().to_owned(),
                window_ms: profile.window.size * 1_000,
                offered_rate: (p.count > 0).then(|| f64::from(p.count) * p.rate as f64),
                configuration,
                ..Timeline::default()
            },
            server,
        };
        feed.publish_now();
        feed
    }

    /// The run is now in `phase` (the page sees it at once: a phase changes rarely).
    pub fn phase(&mut self, phase: Phase) {
        self.timeline.phase = phase.as_str().to_owned();
        self.publish_now();
    }

    /// The producers started at `unix_ms`: the time axis starts there.
    pub fn started(&mut self, unix_ms: u64) {
        self.timeline.started_unix_ms = unix_ms;
    }

    /// Marks `label` of `kind` (`fault`, `recovered`, `restart`) now.
    pub fn mark(&mut self, kind: &str, label: String) {
        let t = self.timeline.at(unix_ms());
        self.timeline.mark(t, kind, label);
        self.publish();
    }

    /// Takes a sample, when one is due, of what the ledger, the collectors and `/proc` say now.
    pub fn sample(
        &mut self,
        ledger: &Ledger,
        collectors: &RunCollectors,
        processes: &Processes,
        ours: bool,
    ) {
        let t_ms = self.timeline.at(unix_ms());
        if self.timeline.started_unix_ms == 0 || !self.timeline.sample_due(t_ms) {
            return;
        }
        let cpu_s = cpu_of(processes);
        let broker = collectors.probe.live();
        self.take(
            ledger,
            collectors.results.live(),
            &broker,
            cpu_s,
            ours,
            Due::OnTime,
        );
    }

    /// The last sample, once the job is done and every result collected: what the ledger and the
    /// collectors finally hold, with the broker's delay per window from its whole probe.
    pub fn last_sample(
        &mut self,
        ledger: &Ledger,
        results: &LiveLatency,
        broker: &BrokerDelay,
        ours: bool,
    ) {
        let broker: BTreeMap<u64, u64> = broker
            .per_window
            .iter()
            .map(|(&w, h)| (w, h.percentiles().p90.round() as u64))
            .collect();
        self.take(ledger, results, &broker, BTreeMap::new(), ours, Due::Always);
    }

    fn take(
        &mut self,
        ledger: &Ledger,
        results: &LiveLatency,
        broker: &BTreeMap<u64, u64>,
        cpu_s: BTreeMap<String, f64>,
        ours: bool,
        due: Due,
    ) {
        let now = unix_ms();
        let t_ms = self.timeline.at(now);
        let sent = ours.then(|| ledger.sent());
        let (sent_per_s, processed_per_s) = match due {
            Due::OnTime => ledger.rates(Instant::now()),
            // The run is over: nothing is sent or counted any more.
            Due::Always => (0.0, 0.0),
        };
        let seen = results.seen.lock().expect("live latency lock");
        let closed = ledger.closed_at_ms();
        let start = self.timeline.started_unix_ms;
        for (&window, w) in &seen.windows {
            let point = WindowPoint {
                window,
                t_ms: u64::try_from(w.record_ms)
                    .unwrap_or(0)
                    .saturating_sub(start),
                campaigns: w.campaigns,
                latency_ms: w.latency_ms,
                broker_ms: broker.get(&window).copied(),
                job_ms: closed
                    .get(&window)
                    .map(|&at| w.emitted_at_ms.saturating_sub(at)),
            };
            self.timeline.windows.insert(window, point);
        }
        self.timeline.latency = quantiles(&seen.latency.percentiles());
        self.timeline.distribution = seen.latency.buckets(DISTRIBUTION_BUCKETS);
        let windows = seen.windows.len() as u64;
        drop(seen);
        let sample = Sample {
            t_ms,
            sent,
            processed: ledger.processed(),
            sent_per_s: ours.then_some(sent_per_s),
            processed_per_s,
            lag: ledger.lag(),
            // Once the job is done its event time stands still: no lag is told then.
            event_time_lag_ms: match due {
                Due::OnTime => ledger.event_time_ms().map(|e| now.saturating_sub(e)),
                Due::Always => None,
            },
            windows,
            checkpoints: ledger.checkpoints(),
            cpu_s,
        };
        match due {
            Due::OnTime => {
                self.timeline.add(sample);
            }
            Due::Always => self.timeline.add_last(sample),
        }
        self.publish();
    }

    /// The run's report is out: its figures replace the live tallies, and the run is done (or
    /// failed, when the recount found a mismatch).
    pub fn settle(&mut self, report: &Report) {
        let v = &report.verification;
        let phase = if v.exact { Phase::Done } else { Phase::Failed };
        self.timeline.phase = phase.as_str().to_owned();
        self.timeline.settled = Some(Settled {
            processed: report.events.processed,
            windows: report.windows.len() as u64,
            latency: quantiles(&report.latency_ms),
            exact: v.exact,
            verdict: if v.exact {
                "EXACT".to_owned()
            } else {
                format!("FAILED: {} mismatches", v.mismatch_count)
            },
        });
        self.publish_now();
    }

    /// The timeline so far.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Writes `timeline.json` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("timeline.json"), self.json())
    }

    /// Offers the timeline to the page, made only if the page asked since the last time.
    fn publish(&self) {
        if let Some(server) = self.server {
            server.publish(|| self.json());
        }
    }

    /// Gives the page the timeline now.
    fn publish_now(&self) {
        if let Some(server) = self.server {
            server.publish_now(self.json());
        }
    }

    fn json(&self) -> String {
        serde_json::to_string(&self.timeline).expect("timelines serialise")
    }
}

/// Whether a sample is taken only when one is due.
#[derive(Debug, Clone, Copy)]
enum Due {
    OnTime,
    /// The last: it replaces one taken less than an interval before.
    Always,
}

/// CPU seconds so far of each of `processes` and of the harness itself.
fn cpu_of(processes: &Processes) -> BTreeMap<String, f64> {
    let mut cpu_s = BTreeMap::new();
    for (role, pid) in &processes.children {
        if let Some(s) = cpu::of_process(*pid) {
            cpu_s.insert(role.to_string(), s);
        }
    }
    if let Some(s) = processes.broker.and_then(cpu::of_process) {
        cpu_s.insert("broker".to_owned(), s);
    }
    if let Some(s) = cpu::of_this_process() {
        cpu_s.insert("harness".to_owned(), s);
    }
    cpu_s
}

fn quantiles(p: &Percentiles) -> Quantiles {
    Quantiles {
        count: p.count,
        p50: p.p50,
        p90: p.p90,
        p99: p.p99,
        max: p.max,
    }
}

/// What a run shows outside itself while it goes: the harness's metrics and the live timeline.
pub struct Shown<'a> {
    /// The harness's metrics.
    pub metrics: HarnessMetrics,
    /// The run's timeline.
    pub live: &'a RefCell<LiveFeed<'a>>,
}

impl Shown<'_> {
    /// The run is now in `phase`.
    pub fn phase(&self, phase: Phase) {
        self.metrics.phase(phase);
        self.live.borrow_mut().phase(phase);
    }
}

/// A run's name on its live page: its directory's, with the cell's for a sweep's repeat
/// (`p2-w1-n1-r1000-poisson/run-0`; a run's own default directory, `run-<unix ms>`, stands alone).
pub fn run_title(out: &Path) -> String {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    let repeat = |run: &str| {
        run.strip_prefix("run-")
            .is_some_and(|n| n.parse::<u32>().is_ok())
    };
    match (name(out), out.parent().and_then(name)) {
        (Some(run), Some(cell)) if repeat(&run) => format!("{cell}/{run}"),
        (Some(run), _) => run,
        (None, _) => "run".to_owned(),
    }
}
