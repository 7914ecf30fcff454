//! `harness sweep` (ARCHITECTURE.md, "Scaling and remote processes"): the grid of cells (partitions
//! × workers × processes × rate × generator), each run `--repeat` times, and what is made of them —
//! one row per cell with the median over repeats and its min–max, the table on stdout and
//! `sweep.csv`.

use std::fmt::Write as _;

use adstream_profile::Generator;
use serde::Serialize;

use crate::report::model::{Report, RunSummary};

/// One point of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Partitions of the events topic.
    pub partitions: u32,
    /// Workers per job process.
    pub workers: u32,
    /// Job processes.
    pub processes: u32,
    /// Events per second per producer.
    pub rate: u64,
    /// Traffic shape.
    pub generator: Generator,
}

impl Cell {
    /// The name of the cell's directory: `p4-w2-n1-r20000-poisson`.
    pub fn dir_name(&self) -> String {
        format!(
            "p{}-w{}-n{}-r{}-{}",
            self.partitions, self.workers, self.processes, self.rate, self.generator
        )
    }

    /// The plot's series this cell belongs to: everything but the partition count.
    pub fn series(&self) -> String {
        format!(
            "{} worker(s) × {} process(es), {}/s {}",
            self.workers, self.processes, self.rate, self.generator
        )
    }
}

/// The values of each axis of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// Partition counts.
    pub partitions: Vec<u32>,
    /// Workers per process.
    pub workers: Vec<u32>,
    /// Process counts.
    pub processes: Vec<u32>,
    /// Rates per producer.
    pub rates: Vec<u64>,
    /// Traffic shapes.
    pub generators: Vec<Generator>,
}

impl Grid {
    /// Every cell, partitions varying fastest so each plot line is run in one stretch.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for &generator in &self.generators {
            for &rate in &self.rates {
                for &processes in &self.processes {
                    for &workers in &self.workers {
                        for &partitions in &self.partitions {
                            cells.push(Cell {
                                partitions,
                                workers,
                                processes,
                                rate,
                                generator,
                            });
                        }
                    }
                }
            }
        }
        cells
    }
}

/// What one run of a cell measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Events processed.
    pub events: u64,
    /// Events processed per second.
    pub throughput: f64,
    /// End-to-end latency, ms: avg, p50, p90, p99, max.
    pub latency: [f64; 5],
    /// Whether verification was exact (a failed run counts as not exact).
    pub exact: bool,
}

impl Sample {
    /// The figures of a run.
    pub fn of(summary: &RunSummary, report: &Report) -> Self {
        let l = &report.latency_ms;
        Self {
            events: report.events.processed,
            throughput: report.throughput,
            latency: [l.avg, l.p50, l.p90, l.p99, l.max],
            exact: report.verification.exact && summary.counted_all(),
        }
    }

    /// A run that did not complete.
    pub fn failed() -> Self {
        Self {
            events: 0,
            throughput: 0.0,
            latency: [f64::NAN; 5],
            exact: false,
        }
    }
}

/// The median of some values with their range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Median (the mean of the middle two for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, ignoring NaN (failed runs); all NaN when none is left.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Self {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Self {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }
}

/// One row of `sweep.csv`: a cell over its repeats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The cell.
    pub cell: Cell,
    /// Runs made.
    pub repeats: usize,
    /// Events per run (median).
    pub events: Spread,
    /// Events processed per second.
    pub throughput: Spread,
    /// End-to-end latency, ms: avg, p50, p90, p99, max.
    pub latency: [Spread; 5],
    /// Every run of the cell was exact.
    pub exact: bool,
}

impl Row {
    /// Aggregates a cell's samples.
    pub fn of(cell: Cell, samples: &[Sample]) -> Self {
        Self {
            cell,
            repeats: samples.len(),
            events: Spread::of(samples.iter().map(|s| s.events as f64)),
            throughput: Spread::of(samples.iter().map(|s| s.throughput)),
            latency: std::array::from_fn(|i| Spread::of(samples.iter().map(|s| s.latency[i]))),
            exact: !samples.is_empty() && samples.iter().all(|s| s.exact),
        }
    }
}

const LATENCY_NAMES: [&str; 5] = ["avg", "p50", "p90", "p99", "max"];

/// `sweep.csv`: one row per cell; each figure as its median with `_min` and `_max` over the repeats.
pub fn csv(rows: &[Row]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "partitions",
        "workers",
        "processes",
        "rate",
        "generator",
        "repeats",
        "events",
    ]
    .map(str::to_owned)
    .to_vec();
    for name in std::iter::once("throughput".to_owned())
        .chain(LATENCY_NAMES.map(|n| format!("latency_{n}_ms")))
    {
        header.extend([format!("{name}_min"), format!("{name}_max")]);
        header.insert(header.len() - 2, name);
    }
    header.push("exact".to_owned());
    write_record(&mut out, &header);
    for r in rows {
        let c = &r.cell;
        let mut record = vec![
            c.partitions.to_string(),
            c.workers.to_string(),
            c.processes.to_string(),
            c.rate.to_string(),
            c.generator.to_string(),
            r.repeats.to_string(),
            number(r.events.median, 0),
        ];
        for s in std::iter::once(&r.throughput).chain(&r.latency) {
            record.extend([number(s.median, 1), number(s.min, 1), number(s.max, 1)]);
        }
        record.push(r.exact.to_string());
        write_record(&mut out, &record);
    }
    String::from_utf8(out.into_inner().expect("writing to memory")).expect("CSV of UTF-8 fields")
}

/// Writes one record into an in-memory CSV (which cannot fail).
fn write_record(out: &mut csv::Writer<Vec<u8>>, record: &[String]) {
    out.write_record(record).expect("writing to memory");
}

/// The table printed at the end of a sweep.
pub fn table(rows: &[Row]) -> String {
    let mut t = format!(
        "{:>10} {:>7} {:>9} {:>8} {:>8} {:>9} {:>20} {:>8} {:>20} {:>8}  {}\n",
        "partitions",
        "workers",
        "processes",
        "rate",
        "runs",
        "events",
        "events/s (min-max)",
        "p50 ms",
        "p90 ms (min-max)",
        "p99 ms",
        "exact"
    );
    for r in rows {
        let c = &r.cell;
        let [_, p50, p90, p99, _] = &r.latency;
        let _ = writeln!(
            t,
            "{:>10} {:>7} {:>9} {:>8} {:>8} {:>9} {:>20} {:>8} {:>20} {:>8}  {}",
            c.partitions,
            c.workers,
            c.processes,
            c.rate,
            r.repeats,
            number(r.events.median, 0),
            format!(
                "{} ({}-{})",
                number(r.throughput.median, 0),
                number(r.throughput.min, 0),
                number(r.throughput.max, 0)
            ),
            number(p50.median, 1),
            format!(
                "{} ({}-{})",
                number(p90.median, 1),
                number(p90.min, 1),
                number(p90.max, 1)
            ),
            number(p99.median, 1),
            if r.exact { "yes" } else { "NOT EXACT" }
        );
    }
    t
}

/// A figure with `decimals`, or `n/a` for a run that measured nothing.
fn number(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{x:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(throughput: f64, p90: f64, exact: bool) -> Sample {
        Sample {
            events: 1000,
            throughput,
            latency: [p90 / 2.0, p90 / 2.0, p90, p90 + 1.0, p90 + 2.0],
            exact,
        }
    }

    #[test]
    fn the_grid_has_every_combination_partitions_fastest() {
        let grid = Grid {
            partitions: vec![1, 2],
            workers: vec![1, 2],
            processes: vec![1],
            rates: vec![100, 200],
            generators: vec![Generator::Poisson],
        };
        let cells = grid.cells();
        assert_eq!(cells.len(), 8);
        let p: Vec<u32> = cells.iter().map(|c| c.partitions).collect();
        assert_eq!(p, [1, 2, 1, 2, 1, 2, 1, 2]);
        let w: Vec<u32> = cells.iter().map(|c| c.workers).collect();
        assert_eq!(w, [1, 1, 2, 2, 1, 1, 2, 2]);
        assert_eq!(cells[4].rate, 200);
        assert_eq!(cells[3].dir_name(), "p2-w2-n1-r100-poisson");
    }

    #[test]
    fn spreads_are_medians_with_ranges_and_skip_failed_runs() {
        let s = Spread::of([3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Spread::of([4.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 10.0));
        let s = Spread::of([f64::NAN, 5.0]);
        assert_eq!((s.median, s.min, s.max), (5.0, 5.0, 5.0));
        assert!(Spread::of([f64::NAN]).median.is_nan());
    }

    #[test]
    fn a_cell_is_exact_only_if_every_repeat_was() {
        let cell = Grid {
            partitions: vec![2],
            workers: vec![1],
            processes: vec![1],
            rates: vec![100],
            generators: vec![Generator::Uniform],
        }
        .cells()[0];
        let good = Row::of(
            cell,
            &[sample(100.0, 10.0, true), sample(300.0, 30.0, true)],
        );
        assert!(good.exact);
        assert_eq!(good.throughput.median, 200.0);
        assert_eq!(good.latency[2].max, 30.0);
        let bad = Row::of(cell, &[sample(100.0, 10.0, true), Sample::failed()]);
        assert!(!bad.exact);
        assert_eq!(bad.latency[2].median, 10.0);
        assert!(!Row::of(cell, &[]).exact);

        let csv = csv(&[good, bad.clone()]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("partitions,workers,processes,rate,generator,repeats,events,")
        );
        assert!(lines[0].contains(",latency_p90_ms,latency_p90_ms_min,latency_p90_ms_max,"));
        assert!(lines[0].ends_with(",exact"));
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
        assert!(lines[1].starts_with("2,1,1,100,uniform,2,1000,200.0,100.0,300.0,"));
        assert!(lines[1].ends_with(",true"));
        assert!(lines[2].ends_with(",false"));
        let table = table(&[bad]);
        assert!(table.contains("NOT EXACT"), "{table}");
    }
}
