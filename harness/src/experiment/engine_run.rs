//! The end of a run of another engine (ARCHITECTURE.md, "Any engine"): its answers — the last record
//! per (window, campaign) — judged against the recount taken when the producers ended, its latency
//! (of the record that first carried each final answer, and of each last record), the CPU and peak
//! memory of its whole process tree, and the same files and pages as adstream's own runs.

use std::cell::RefCell;
use std::path::Path;

use adstream_profile::profile::Profile;

use crate::experiment::drive::{Driven, EngineEnd};
use crate::experiment::engine_job::EngineJob;
use crate::experiment::error::RunError;
use crate::experiment::ledger::Ledger;
use crate::experiment::live_feed::LiveFeed;
use crate::measure::collectors::RunCollectors;
use crate::measure::cpu_meter::CpuMeter;
use crate::report::engine::{EngineFigures, answer_observations, last_record_latency};
use crate::report::latency::LatencyReport;
use crate::report::model::{CpuUse, Measured, Report, RunSummary};
use crate::report::plot;

/// Everything a finished engine run hands over to be judged and reported.
pub struct EngineFinished<'a> {
    /// The engine's job.
    pub engine: &'a EngineJob,
    /// What the producers said.
    pub ledger: Ledger,
    /// The results and the broker probe.
    pub collectors: RunCollectors,
    /// How the run went.
    pub driven: Driven,
    /// How the engine's part ended.
    pub end: EngineEnd,
    /// The harness's and broker's CPU.
    pub cpu: CpuMeter,
}

/// Judges a finished engine run and writes its `summary.json`, `report.json`, `windows.csv` and
/// `latency.svg` into `out`; the live feed gets the report's figures (the caller writes the pages).
pub fn finish_engine(
    out: &Path,
    profile: &Profile,
    finished: EngineFinished<'_>,
    live: &RefCell<LiveFeed<'_>>,
) -> Result<(RunSummary, Report), RunError> {
    {
        let EngineFinished {
            engine,
            ledger,
            collectors,
            driven,
            end,
            mut cpu,
        } = finished;
        let (producers, _) = ledger.summaries();
        let mut summary = RunSummary::of(producers, Vec::new(), 0);
        if summary.producers.len() != profile.producers.count as usize {
            return Err(RunError::MissingSummaries {
                producers: summary.producers.len(),
                expected_producers: profile.producers.count,
                job: 0,
                expected_job: 0,
            });
        }
        let answers = collectors.results.answers();
        let seen = collectors.results.live_shared();
        let collected = collectors.results.finish(u64::MAX);
        let answers = answers.lock().expect("answers lock").clone();
        let mut verification = answers.verdict(&end.recount);
        if let Some(problem) = end.once.problem() {
            verification.fail_first(problem);
        }
        if !end.complete {
            verification.fail_first(
                "the events topic did not show every producer's end marker: the recount is partial"
                    .to_owned(),
            );
        }
        let records: Vec<_> = collected.iter().map(|c| c.observation()).collect();
        let (first_final, last) = answer_observations(&records);
        summary.results = records.len() as u64;
        summary.processed = first_final.iter().map(|o| o.count).sum();
        summary.windows = first_final
            .iter()
            .map(|o| o.window_id)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        summary
            .write(out)
            .map_err(RunError::io("write summary.json"))?;
        let broker = collectors.probe.finish();
        live.borrow_mut().last_sample(&ledger, &seen, &broker, true);
        let latency = LatencyReport::of(&first_final);
        // The run lasts from its schedule's start to the last record the job wrote (its Kafka
        // timestamp): what came after — the recount, the quiet the harness waited for — is not its.
        let schedule_ms = profile
            .producers
            .base_time_ms
            .unwrap_or(driven.started_unix_ms);
        let run_s = collected
            .iter()
            .map(|c| c.record_ms)
            .max()
            .map_or(driven.elapsed_s, |ms| {
                (ms - schedule_ms as i64).max(0) as f64 / 1_000.0
            });
        let during = cpu.lap();
        let mut report = Report::new(Measured {
            configuration: profile.clone(),
            events: summary.event_counts(),
            latency: &latency,
            broker: &broker,
            producers: summary.producer_figures(),
            elapsed_s: run_s,
            verification,
        });
        report.cpu_s = CpuUse {
            job: end.tree.cpu_s,
            producers: summary.cpu_of_children().producers,
            broker: during.broker,
            harness: during.harness,
            verification: cpu.lap(),
        };
        let first_ms = collected.iter().map(|c| c.record_ms).min();
        report.engine = Some(EngineFigures {
            name: engine.name.clone(),
            command: engine.command.clone(),
            ready_after_s: driven.ready_after_s,
            first_result_after_s: first_ms.map(|ms| (ms - schedule_ms as i64) as f64 / 1_000.0),
            run_s,
            peak_memory_mib: end.tree.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            records: records.len() as u64,
            last_record_latency_ms: last_record_latency(&last),
        });
        report
            .write(out)
            .map_err(RunError::io("write report.json and windows.csv"))?;
        let svg = out.join("latency.svg");
        plot::latency_svg(&report, &latency.end_to_end, live.borrow().timeline(), &svg).map_err(
            |e| RunError::Plot {
                file: "latency.svg",
                reason: e.to_string(),
            },
        )?;
        live.borrow_mut().settle(&report);
        Ok((summary, report))
    }
}
