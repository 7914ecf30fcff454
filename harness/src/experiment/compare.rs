//! `harness compare` (ARCHITECTURE.md, "Any engine"): one workload on several engines in turn, each
//! `repeat` times on fresh topics in its own directory (`<engine>/run-<i>`), then one row per engine
//! — the table, `compare.csv`, `compare.svg` and `compare.html`. A run that fails is a row's failure,
//! said in one line; an interrupt ends the comparison.

use adstream_profile::profile::{Engine, Profile};

use crate::experiment::error::RunError;
use crate::experiment::single_run::Experiment;
use crate::experiment::sweep::write;
use crate::report::engines_compared::{
    EngineRow, EngineSample, compare_csv, compare_page, compare_svg,
};

/// A comparison: the workload, the engines, how often each runs, and where.
#[derive(Debug, Clone)]
pub struct Comparison<'a> {
    /// The workload (its `job.engine` is set per engine).
    pub base: &'a Profile,
    /// The engines, in the order they run.
    pub engines: Vec<Engine>,
    /// Runs per engine.
    pub repeat: u32,
    /// How runs are made; its `out` is the comparison's directory.
    pub experiment: Experiment<'a>,
}

impl Comparison<'_> {
    /// Runs every engine, writing `compare.csv` after each (an interrupted comparison keeps what it
    /// measured), then `compare.svg` and `compare.html`; the rows.
    pub fn run(&self) -> Result<Vec<EngineRow>, RunError> {
        let out = self.experiment.out;
        let mut rows = Vec::new();
        for engine in &self.engines {
            let mut profile = self.base.clone();
            profile.job.engine = Some(*engine);
            profile.job.command = None;
            let mut samples = Vec::new();
            for repeat in 0..self.repeat {
                let dir = out.join(engine.to_string()).join(format!("run-{repeat}"));
                let experiment = Experiment {
                    out: &dir,
                    ..self.experiment
                };
                let sample = match experiment.run_fresh(&profile) {
                    Ok(outcome) => EngineSample::of(&outcome.report),
                    Err(error) if error.is_interrupted() => return Err(error),
                    Err(error) => EngineSample::Failed(error.to_string()),
                };
                eprintln!(
                    "{engine} run {}/{}: {}",
                    repeat + 1,
                    self.repeat,
                    said(&sample)
                );
                samples.push(sample);
            }
            rows.push(EngineRow::of(&engine.to_string(), &samples));
            write(out, "compare.csv", &compare_csv(&rows))?;
        }
        let svg = out.join("compare.svg");
        compare_svg(&rows, &svg).map_err(|e| RunError::Plot {
            file: "compare.svg",
            reason: e.to_string(),
        })?;
        let svg = std::fs::read_to_string(&svg).unwrap_or_default();
        write(
            out,
            "compare.html",
            &compare_page(&rows, &self.workload(), &svg),
        )?;
        Ok(rows)
    }

    /// The workload in words.
    pub fn workload(&self) -> String {
        let p = &self.base.producers;
        format!(
            "{} producers × {} events/s × {} s ({}, seed {}), {} partitions, {} s windows; {} run(s) \
             per engine on fresh topics",
            p.count,
            p.rate,
            p.duration,
            p.generator,
            p.seed,
            self.base.kafka.partitions,
            self.base.window.size,
            self.repeat
        )
    }
}

/// A sample in one line.
fn said(sample: &EngineSample) -> String {
    match sample {
        EngineSample::Ran { exact, latency, .. } => format!(
            "{}, p90 {:.1} ms",
            if *exact { "exact" } else { "NOT EXACT" },
            latency[1]
        ),
        EngineSample::Failed(why) => format!("failed: {why}"),
    }
}
