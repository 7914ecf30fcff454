//! Ctrl-C, SIGTERM and SIGHUP, turned from a kill into a request: the harness stops its children in
//! order and says what it has (a partial report, a stopped broker) instead of dying mid-way. The
//! handler is installed once per process. An interrupted run's partial report is made here too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adstream_profile::profile::Profile;
use adstream_protocol::exactness::Verification;

use crate::experiment::ledger::Ledger;
use crate::measure::collectors::RunCollectors;
use crate::report::latency::LatencyReport;
use crate::report::model::{EventCounts, Measured, Report};

/// Whether the user asked the harness to stop.
#[derive(Debug, Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
}

/// How often [`Interrupt::wait`] looks at the flag.
const LOOK_EVERY: Duration = Duration::from_millis(50);

impl Interrupt {
    /// Installs the handler for SIGINT, SIGTERM and SIGHUP.
    pub fn install() -> Result<Self, ctrlc::Error> {
        let flag = Arc::new(AtomicBool::new(false));
        let set = Arc::clone(&flag);
        ctrlc::set_handler(move || set.store(true, Ordering::Relaxed))?;
        Ok(Self { flag })
    }

    /// An interrupt nobody can raise (for callers that handle no signals).
    pub fn never() -> Self {
        Self {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The flag an interrupt sets, for readers that stop on it.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` for a stop to be asked for; whether it was.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_set() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::park_timeout(left.min(LOOK_EVERY));
        }
        true
    }
}

/// The report of a run that did not finish: what the collectors and the children's progress showed.
pub fn partial_report(profile: &Profile, ledger: &Ledger, collectors: RunCollectors) -> Report {
    let collected = collectors.results.finish(0);
    let broker = collectors.probe.finish();
    let observations: Vec<_> = collected
        .iter()
        .filter(|c| c.result.is_final)
        .map(|c| c.observation())
        .collect();
    let latency = LatencyReport::of(&observations);
    Report::new(Measured {
        configuration: profile.clone(),
        events: EventCounts {
            produced: ledger.sent(),
            processed: ledger.processed(),
            ..EventCounts::default()
        },
        latency: &latency,
        broker: &broker,
        producers: Vec::new(),
        elapsed_s: 0.0,
        verification: Verification::not_verified(
            "interrupted before the run completed: not verified".to_owned(),
            collected.len() as u64,
        ),
    })
}
