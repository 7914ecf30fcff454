//! `harness sweep` (ARCHITECTURE.md, "Scaling and remote processes"): every cell of a grid run
//! `repeat` times on fresh topics, each in its own directory, then one row per cell — the table,
//! `sweep.csv`, `sweep.svg` and `sweep.html`.

use std::path::Path;

use adstream_profile::profile::Profile;

use crate::experiment::error::RunError;
use crate::experiment::single_run::Experiment;
use crate::report::comparison::sweep_page;
use crate::report::grid::{Cell, Grid, Row, Sample, csv};
use crate::report::sweep_plot;

/// A sweep: the grid over a base profile, how often each cell runs, and where.
#[derive(Debug, Clone)]
pub struct Sweep<'a> {
    /// Everything not varied by the grid.
    pub base: &'a Profile,
    /// The grid.
    pub grid: Grid,
    /// Runs per cell.
    pub repeat: u32,
    /// How runs are made; its `out` is the sweep's directory.
    pub experiment: Experiment<'a>,
}

impl Sweep<'_> {
    /// The profile of one cell.
    fn profile_of(&self, cell: &Cell) -> Profile {
        let mut profile = self.base.clone();
        profile.kafka.partitions = cell.partitions;
        profile.job.workers = cell.workers;
        profile.job.processes = cell.processes;
        profile.job.hostfile = None;
        profile.producers.rate = cell.rate;
        profile.producers.generator = cell.generator;
        profile
    }

    /// Runs every cell, writing `sweep.csv` after each (an interrupted sweep keeps what it measured)
    /// and `sweep.svg` at the end; the rows. A run that fails counts as a sample that is not exact;
    /// an interrupt ends the sweep.
    pub fn run(&self) -> Result<Vec<Row>, RunError> {
        let out = self.experiment.out;
        let cells = self.grid.cells();
        let mut rows = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let mut samples = Vec::new();
            for repeat in 0..self.repeat {
                let dir = out.join(cell.dir_name()).join(format!("run-{repeat}"));
                let experiment = Experiment {
                    out: &dir,
                    ..self.experiment
                };
                let sample = match experiment.run_fresh(&self.profile_of(cell)) {
                    Ok(outcome) => Sample::of(&outcome.summary, &outcome.report),
                    Err(error) if error.is_interrupted() => return Err(error),
                    Err(error) => {
                        eprintln!("  run failed: {error}");
                        Sample::failed()
                    }
                };
                eprintln!(
                    "cell {}/{} run {}/{}: {} partitions, {} worker(s) × {} process(es), {}/s {}: {:.0} events/s, p90 {:.1} ms, {}",
                    i + 1,
                    cells.len(),
                    repeat + 1,
                    self.repeat,
                    cell.partitions,
                    cell.workers,
                    cell.processes,
                    cell.rate,
                    cell.generator,
                    sample.throughput,
                    sample.latency[2],
                    if sample.exact { "exact" } else { "NOT EXACT" }
                );
                samples.push(sample);
            }
            rows.push(Row::of(*cell, &samples));
            write(out, "sweep.csv", &csv(&rows))?;
        }
        let svg = out.join("sweep.svg");
        sweep_plot::sweep_svg(&rows, self.base.producers.count, &svg).map_err(|e| {
            RunError::Plot {
                file: "sweep.svg",
                reason: e.to_string(),
            }
        })?;
        let svg = std::fs::read_to_string(&svg).unwrap_or_default();
        let page = sweep_page(&rows, self.base.producers.count, self.repeat, &svg);
        write(out, "sweep.html", &page)?;
        Ok(rows)
    }
}

/// Writes `text` to the file `name` in `dir` (a sweep's or a comparison's pages and tables).
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> Result<(), RunError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(RunError::io(format!("write {}", path.display())))
}
