//! The harness's own metrics during a run (ARCHITECTURE.md, "Metrics") — its phase, the job's
//! restarts, and the progress it shows — and where every process of a run serves metrics: `harness
//! run --metrics-listen HOST:PORT` serves the harness at `PORT`, and, unless the profile places
//! them, the job's processes at `PORT + 1 …` and the producers after them.

use adstream_metrics::Endpoint;
use adstream_metrics::prometheus_client::metrics::counter::Counter;
use adstream_metrics::prometheus_client::metrics::family::Family;
use adstream_metrics::prometheus_client::metrics::gauge::Gauge;
use adstream_metrics::prometheus_client::registry::Registry;
use adstream_profile::address::{HostPort, is_unspecified};
use adstream_profile::hostfile::HostLine;
use adstream_profile::profile::Profile;
use adstream_profile::served::Served;

use crate::experiment::error::RunError;
use crate::experiment::launch::job_processes;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the first event of producers the harness does not start.
    WaitingForEvents,
    /// Starting the job and waiting for its workers.
    Starting,
    /// The producers are running.
    Producing,
    /// The producers are done; the job finishes its windows.
    Draining,
    /// Reading the topics back and recounting.
    Verifying,
    /// The run completed.
    Done,
    /// The run failed or was interrupted.
    Failed,
}

impl Phase {
    const ALL: [Phase; 7] = [
        Phase::WaitingForEvents,
        Phase::Starting,
        Phase::Producing,
        Phase::Draining,
        Phase::Verifying,
        Phase::Done,
        Phase::Failed,
    ];

    /// Its label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::WaitingForEvents => "waiting_for_events",
            Phase::Starting => "starting",
            Phase::Producing => "producing",
            Phase::Draining => "draining",
            Phase::Verifying => "verifying",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }
}

/// The harness's metrics; clones share their values.
#[derive(Debug, Clone, Default)]
pub struct HarnessMetrics {
    phase: Family<Vec<(&'static str, &'static str)>, Gauge>,
    restarts: Counter,
    sent: Gauge,
    processed: Gauge,
    windows: Gauge,
}

impl HarnessMetrics {
    /// The run is now in `phase` (a state set: 1 for it, 0 for the others).
    pub fn phase(&self, now: Phase) {
        for phase in Phase::ALL {
            self.phase
                .get_or_create(&vec![("phase", phase.as_str())])
                .set(i64::from(phase == now));
        }
    }

    /// The job was restarted after a failure.
    pub fn restarted(&self) {
        self.restarts.inc();
    }

    /// What the live display shows: events the producers sent, events the job counted, windows with
    /// results.
    pub fn progress(&self, sent: u64, processed: u64, windows: u64) {
        let gauge = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.sent, sent);
        gauge(&self.processed, processed);
        gauge(&self.windows, windows);
    }

    fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        registry.register(
            "adstream_harness_phase",
            "The run's phase: 1 for the current one",
            self.phase.clone(),
        );
        registry.register(
            "adstream_harness_job_restarts",
            "Restarts of the job after a failure",
            self.restarts.clone(),
        );
        registry.register(
            "adstream_harness_events_sent",
            "Events the producers report sent",
            self.sent.clone(),
        );
        registry.register(
            "adstream_harness_events_processed",
            "Events the job's processes report counted",
            self.processed.clone(),
        );
        registry.register(
            "adstream_harness_windows_with_results",
            "Windows with results in the results topic",
            self.windows.clone(),
        );
        registry
    }

    /// Serves these metrics at the profile's `metrics.harness`, if it names an address.
    pub fn serve(&self, profile: &Profile) -> Result<Option<Endpoint>, RunError> {
        let Some(address) = profile.metrics.address(Served::Harness, 0) else {
            return Ok(None);
        };
        self.phase(Phase::Starting);
        Ok(Some(Endpoint::serve(
            &address.to_string(),
            self.registry(),
        )?))
    }
}

/// Places the job's processes and the producers after the harness's port when the profile serves
/// the harness's metrics but leaves theirs unset: the job's processes at `PORT + 1 …`, the
/// producers after them. With job processes on other hosts they bind every interface, since they
/// cannot bind this machine's address.
pub fn place_children(profile: &mut Profile) -> Result<(), RunError> {
    let Some(harness) = profile.metrics.address(Served::Harness, 0) else {
        return Ok(());
    };
    let lines = job_processes(&profile.job)?;
    let host = if lines.iter().all(HostLine::is_local) {
        harness.host
    } else {
        "0.0.0.0".to_owned()
    };
    let after = |offset: u32| {
        let at = profile.metrics.address(Served::Harness, offset)?;
        Some(format!("{host}:{}", at.port))
    };
    let job = after(1);
    let producers = after(1 + profile.job.processes);
    let m = &mut profile.metrics;
    if m.job.is_none() {
        m.job = job;
    }
    if m.producers.is_none() {
        m.producers = producers;
    }
    profile.validate().map_err(RunError::Config)
}

/// The URL a scraper reads for each process of the run that serves metrics, with a name for it.
pub fn scrape_targets(profile: &Profile) -> Result<Vec<(String, String)>, RunError> {
    let m = &profile.metrics;
    let url = |at: HostPort, host: &str| {
        let host = if is_unspecified(&at.host) {
            host
        } else {
            &at.host
        };
        format!("http://{host}:{}/metrics", at.port)
    };
    let mut targets = Vec::new();
    if let Some(at) = m.address(Served::Harness, 0) {
        targets.push(("harness".to_owned(), url(at, "127.0.0.1")));
    }
    for line in job_processes(&profile.job)? {
        if let Some(at) = m.address(Served::Job, line.process) {
            let host = if line.is_local() {
                "127.0.0.1"
            } else {
                &line.address.host
            };
            targets.push((format!("job process {}", line.process), url(at, host)));
        }
    }
    for id in 0..profile.producers.count {
        if let Some(at) = m.address(Served::Producers, id) {
            targets.push((format!("producer {id}"), url(at, "127.0.0.1")));
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_follow_the_harness_port_unless_placed() {
        let mut profile = Profile::default();
        profile.producers.count = 2;
        profile.metrics.harness = Some("127.0.0.1:9400".to_owned());
        place_children(&mut profile).unwrap();
        assert_eq!(profile.metrics.job.as_deref(), Some("127.0.0.1:9401"));
        assert_eq!(profile.metrics.producers.as_deref(), Some("127.0.0.1:9402"));
        let targets: Vec<String> = scrape_targets(&profile)
            .unwrap()
            .into_iter()
            .map(|(name, url)| format!("{name} {url}"))
            .collect();
        assert_eq!(
            targets,
            [
                "harness http://127.0.0.1:9400/metrics",
                "job process 0 http://127.0.0.1:9401/metrics",
                "producer 0 http://127.0.0.1:9402/metrics",
                "producer 1 http://127.0.0.1:9403/metrics",
            ]
        );
        let mut placed = Profile::default();
        placed.metrics.harness = Some("0.0.0.0:9400".to_owned());
        placed.metrics.job = Some("0.0.0.0:9500".to_owned());
        place_children(&mut placed).unwrap();
        assert_eq!(placed.metrics.job.as_deref(), Some("0.0.0.0:9500"));
        let urls: Vec<String> = scrape_targets(&placed)
            .unwrap()
            .into_iter()
            .map(|(_, url)| url)
            .collect();
        assert_eq!(urls[1], "http://127.0.0.1:9500/metrics");
    }

    #[test]
    fn the_phase_is_a_state_set() {
        let metrics = HarnessMetrics::default();
        metrics.phase(Phase::Producing);
        metrics.phase(Phase::Draining);
        let mut text = String::new();
        adstream_metrics::prometheus_client::encoding::text::encode(&mut text, &metrics.registry())
            .unwrap();
        assert!(
            text.contains("adstream_harness_phase{phase=\"draining\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("adstream_harness_phase{phase=\"producing\"} 0\n"),
            "{text}"
        );
    }
}
