//! One experiment (ARCHITECTURE.md, "A run"): fresh topics, the job's processes (with a generated
//! loopback hostfile when there are several), a wait for every worker's readiness, the producers
//! with a shared base time, the job's exit, then verification and the report. `harness run` is one;
//! a sweep's cell and a capacity search's step are others.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use adstream_metrics::Endpoint;
use adstream_profile::profile::{OutputMode, Profile};
use adstream_protocol::clock::unix_ms;

use crate::experiment::drive::{Driven, Follow, drive};
use crate::experiment::engine_job::EngineJob;
use crate::experiment::engine_run::{EngineFinished, finish_engine};
use crate::experiment::error::RunError;
use crate::experiment::faults::{FaultPlan, FaultRecord, Faults};
use crate::experiment::harness_metrics::{HarnessMetrics, Phase, place_children, scrape_targets};
use crate::experiment::interrupt::{Interrupt, partial_report};
use crate::experiment::launch::{Programs, job_processes, local_hostfile};
use crate::experiment::ledger::Ledger;
use crate::experiment::live_feed::{LiveFeed, Shown, run_title};
use crate::experiment::supervisor::sibling_binary;
use crate::measure::broker_probe::BrokerProbe;
use crate::measure::collectors::{Collected, ResultFormat, ResultsCollector, RunCollectors};
use crate::measure::cpu_meter::{CpuMeter, cpu_use};
use crate::measure::verify::{EventsEnd, VerifyPlan, verify};
use crate::report::files::write_private;
use crate::report::latency::LatencyReport;
use crate::report::model::{Measured, Report, RevisionFigures, RunSummary};
use crate::report::page::write_report_page;
use crate::report::plot;
use crate::services::broker::LocalBroker;
use crate::services::live_server::LiveServer;
use crate::services::topics::Topics;

/// How far ahead of the job's start the shared base time is set, so the producers start on schedule.
const BASE_LEAD: Duration = Duration::from_secs(2);
/// How long verification may take to read the topics back.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);

/// Where and how experiments run.
#[derive(Debug, Clone, Copy)]
pub struct Experiment<'a> {
    /// The run's directory: profile, hostfile, summary, report, plots.
    pub out: &'a Path,
    /// Show the children's stderr as it comes.
    pub echo: bool,
    /// Ctrl-C and friends.
    pub interrupt: &'a Interrupt,
    /// The local broker when the harness started it: watched during the run (restarted when it
    /// exits and keeps its data), and measured for the report's CPU figures.
    pub broker: Option<&'a RefCell<LocalBroker>>,
    /// Faults to inject during the run (`--kill`, `--fault`).
    pub faults: &'a [FaultPlan],
    /// The live page, when there is one.
    pub ui: Option<&'a LiveServer>,
}

/// What a completed run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The children's summaries.
    pub summary: RunSummary,
    /// The report (its `configuration` is the effective profile).
    pub report: Report,
    /// The harness's metrics endpoint, still serving the run's final values until dropped.
    pub metrics: Option<Endpoint>,
}

impl Experiment<'_> {
    /// Clears the topics (to the profile's partition count) and runs the experiment of `profile`.
    pub fn run_fresh(&self, profile: &Profile) -> Result<Outcome, RunError> {
        std::fs::create_dir_all(self.out)
            .map_err(RunError::io(format!("create {}", self.out.display())))?;
        Topics::connect(&profile.kafka)?.clear()?;
        self.run(profile)
    }

    /// Runs the experiment of `profile` (its topics must exist and be empty), writing `profile.toml`,
    /// `summary.json`, `report.json`, `windows.csv` and `latency.svg` into the run's directory. When
    /// interrupted, every child is stopped, a partial report written and the error is
    /// [`RunError::Interrupted`].
    pub fn run(&self, profile: &Profile) -> Result<Outcome, RunError> {
        let cpu = CpuMeter::start(self.broker.map(|b| b.borrow().pid()));
        let dataflow = sibling_binary("dataflow")?;
        let producer = sibling_binary("producer")?;
        let own_hostfile = profile.job.processes > 1 && profile.job.hostfile.is_none();
        let engine = EngineJob::command_of(profile, &dataflow)?;
        let (profile, lead) = match engine {
            Some(_) => {
                let settled = EngineJob::settle(profile);
                let lead = EngineJob::start_allowance(&settled);
                (settled, lead)
            }
            None => (profile.clone(), BASE_LEAD),
        };
        let (profile, profile_path) = self.effective_profile(&profile, lead)?;
        let engine = engine.map(|e| e.with_env(&profile, self.out)).transpose()?;
        let metrics = HarnessMetrics::default();
        let endpoint = metrics.serve(&profile)?;
        for (name, url) in scrape_targets(&profile)? {
            eprintln!("metrics: {name} at {url}");
        }
        let format = match engine {
            Some(_) => ResultFormat::Engine(profile.event_rules().and_then(|r| r.windows())),
            None => ResultFormat::Ours,
        };
        let collectors = RunCollectors {
            results: ResultsCollector::start(&profile.kafka, format)?,
            probe: BrokerProbe::start(&profile)?,
        };
        let title = run_title(self.out);
        let live = RefCell::new(LiveFeed::new(self.ui, &title, &profile));
        let shown = Shown {
            metrics: metrics.clone(),
            live: &live,
        };
        let programs = Programs {
            profile: &profile,
            profile_path: &profile_path,
            dataflow: &dataflow,
            producer: &producer,
            own_hostfile,
            engine: engine.as_ref(),
        };
        let faults = Faults::new(self.faults, profile.job.max_restarts);
        let mut follow = Follow::new(
            &programs,
            self.echo,
            self.interrupt,
            faults,
            shown,
            self.broker,
        )?;
        let outcome = match drive(&mut follow, &collectors) {
            Ok(mut driven) => {
                let (ledger, faults) = follow.conclude()?;
                metrics.phase(Phase::Verifying);
                live.borrow_mut().phase(Phase::Verifying);
                match (&engine, driven.engine.take()) {
                    (Some(engine), Some(end)) => {
                        let finished = EngineFinished {
                            engine,
                            ledger,
                            collectors,
                            driven,
                            end,
                            cpu,
                        };
                        finish_engine(self.out, &profile, finished, &live).and_then(
                            |(summary, report)| {
                                self.write_pages(&live.borrow())?;
                                Ok(Outcome {
                                    summary,
                                    report,
                                    metrics: None,
                                })
                            },
                        )
                    }
                    _ => {
                        let finished = Finished {
                            ledger,
                            faults,
                            collectors,
                            driven,
                        };
                        self.finish(&profile, finished, cpu, &live)
                    }
                }
            }
            Err(error) if error.is_interrupted() => {
                // Stop every child first: the collectors end once their topics go quiet.
                let ledger = follow.stop();
                partial_report(&profile, &ledger, collectors)
                    .write(self.out)
                    .map_err(RunError::io(format!(
                        "write the partial report in {}",
                        self.out.display()
                    )))?;
                // What the run showed until then, on its page too.
                self.write_pages(&live.borrow())?;
                Err(RunError::Interrupted(self.out.display().to_string()))
            }
            Err(error) => {
                follow.stop();
                Err(error)
            }
        };
        let phase = match &outcome {
            Ok(o) if o.summary.counted_all() && o.report.verification.exact => Phase::Done,
            _ => Phase::Failed,
        };
        metrics.phase(phase);
        live.borrow_mut().phase(phase);
        outcome.map(|o| Outcome {
            metrics: endpoint,
            ..o
        })
    }

    /// The profile the run's children read, with its hostfile and base time, written to the run's
    /// directory; the caller's profile is left as it was.
    fn effective_profile(
        &self,
        profile: &Profile,
        lead: Duration,
    ) -> Result<(Profile, PathBuf), RunError> {
        let mut profile = profile.clone();
        if profile.job.processes > 1 && profile.job.hostfile.is_none() {
            profile.job.hostfile = Some(local_hostfile(self.out, profile.job.processes)?);
        }
        place_children(&mut profile)?;
        let base_ms = unix_ms() + lead.as_millis() as u64;
        if profile.producers.count > 0 {
            profile.producers.base_time_ms = Some(base_ms);
        } else {
            // Others' producers: their base time is inferred from their events (unless the profile
            // gives it), and the job ends once their input is quiet.
            profile.job.exit_when_idle = true;
        }
        // The job's identity names its checkpoints: unique to this run, so no other run's are used.
        if profile.job.id.is_none() {
            let name = self
                .out
                .file_name()
                .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
            profile.job.id = Some(format!("{name}-{base_ms}"));
        }
        // Checkpoints go to the run's directory when every job process runs here; a job across hosts
        // needs a directory they share (job.checkpoint_dir), else it restarts from the beginning.
        let all_local = job_processes(&profile.job)?.iter().all(|l| l.is_local());
        if profile.job.checkpoint_dir.is_none() && all_local {
            let dir = std::path::absolute(self.out.join("checkpoints"))
                .map_err(RunError::io("resolve the run's directory"))?;
            profile.job.checkpoint_dir = Some(dir);
        }
        let path = std::path::absolute(self.out.join("profile.toml"))
            .map_err(RunError::io("resolve the run's directory"))?;
        let text = toml::to_string(&profile).expect("profiles serialise");
        write_private(&path, text.as_bytes())
            .map_err(RunError::io(format!("write {}", path.display())))?;
        Ok((profile, path))
    }

    /// Collects the summaries, verifies and writes the report of a completed run.
    fn finish(
        &self,
        profile: &Profile,
        finished: Finished,
        mut cpu: CpuMeter,
        live: &RefCell<LiveFeed<'_>>,
    ) -> Result<Outcome, RunError> {
        let Finished {
            ledger,
            faults,
            collectors,
            driven,
        } = finished;
        let (producers, job) = ledger.summaries();
        let mut summary = RunSummary::of(producers, job, driven.remote_processes);
        let local = profile.job.processes - summary.remote_processes;
        if summary.producers.len() != profile.producers.count as usize
            || summary.job.len() != local as usize
        {
            return Err(RunError::MissingSummaries {
                producers: summary.producers.len(),
                expected_producers: profile.producers.count,
                job: summary.job.len(),
                expected_job: local,
            });
        }
        // The remote processes' result counts are not known here, nor, after a restart, how many
        // results the failed job had written: read until the topic goes quiet.
        let expected = if summary.remote_processes == 0 && faults.is_empty() {
            summary.results
        } else {
            u64::MAX
        };
        let seen = collectors.results.live_shared();
        let collected = collectors.results.finish(expected);
        // Latency is that of the final results; every revision is verified and its freshness told.
        let finals: Vec<&Collected> = collected.iter().filter(|c| c.result.is_final).collect();
        if !faults.is_empty() {
            // The last incarnation of the job counted only the results it wrote itself.
            summary.results = finals.len() as u64;
            summary.windows = finals
                .iter()
                .map(|c| c.result.window_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64;
        }
        let revisions = (profile.job.output == OutputMode::Update).then(|| {
            let all: Vec<_> = collected.iter().map(|c| (&c.result, c.record_ms)).collect();
            RevisionFigures::of(&all, summary.late_revisions)
        });
        summary
            .write(self.out)
            .map_err(RunError::io("write summary.json"))?;
        let broker = collectors.probe.finish();
        live.borrow_mut()
            .last_sample(&ledger, &seen, &broker, profile.producers.count > 0);
        let observations: Vec<_> = finals.iter().map(|c| c.observation()).collect();
        let latency = LatencyReport::of(&observations);
        let results: Vec<_> = collected.into_iter().map(|c| c.result).collect();
        let end = match profile.producers.count {
            // Others' producers: what the job read, or, with remote processes whose offsets are not
            // known here, the topic as it ends now.
            0 if summary.remote_processes == 0 => EventsEnd::ReadTo(summary.read_to.clone()),
            0 => EventsEnd::Quiet,
            producers => EventsEnd::EndMarkers(producers),
        };
        let plan = VerifyPlan {
            kafka: &profile.kafka,
            end,
            rules: profile
                .event_rules()
                .expect("a run has a base time or infers it"),
            timeout: VERIFY_TIMEOUT,
        };
        // The run is over (every result collected): what follows is its checking.
        let during = cpu.lap();
        let verification = verify(&plan, Some(results))?;
        let verifying = cpu.lap();
        let mut report = Report::new(Measured {
            configuration: profile.clone(),
            events: summary.event_counts(),
            latency: &latency,
            broker: &broker,
            producers: summary.producer_figures(),
            elapsed_s: driven.elapsed_s,
            verification,
        });
        report.add_job_share(&observations, &summary.closed_at_ms);
        report.add_faults(faults, driven.started_unix_ms, &observations);
        report.cpu_s = cpu_use(&summary, during, verifying);
        report.revisions = revisions;
        report
            .write(self.out)
            .map_err(RunError::io("write report.json and windows.csv"))?;
        let svg = self.out.join("latency.svg");
        plot::latency_svg(&report, &latency.end_to_end, live.borrow().timeline(), &svg).map_err(
            |e| RunError::Plot {
                file: "latency.svg",
                reason: e.to_string(),
            },
        )?;
        live.borrow_mut().settle(&report);
        self.write_pages(&live.borrow())?;
        Ok(Outcome {
            summary,
            report,
            metrics: None,
        })
    }

    /// Writes the run's `timeline.json` and, from it and the report already written, `report.html`.
    fn write_pages(&self, live: &LiveFeed<'_>) -> Result<(), RunError> {
        live.write(self.out)
            .map_err(RunError::io("write timeline.json"))?;
        write_report_page(self.out).map_err(|e| RunError::Plot {
            file: "report.html",
            reason: e.to_string(),
        })
    }
}

/// What following a run to its end handed over.
struct Finished {
    ledger: Ledger,
    faults: Vec<FaultRecord>,
    collectors: RunCollectors,
    driven: Driven,
}
