//! `harness compare`'s figures: one workload on several engines, each run `repeat` times, one row per
//! engine — exact or not, end-to-end latency percentiles, events per second kept up with, CPU cores and
//! peak memory of its process tree, time to its first result — as `compare.csv`, a table, the bars of
//! `compare.svg` and `compare.html` (self-contained, linking every run's `report.html`). Plain data: the
//! experiment layer fills it.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::report::grid::Spread;
use crate::report::model::Report;
use crate::report::page::{STYLE, escape};
use crate::report::plot::{PlotResult, register_font};

/// What one run of an engine measured, or why it did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineSample {
    /// The run completed and was verified.
    Ran {
        /// Its verdict.
        exact: bool,
        /// End-to-end latency p50, p90 and p99, ms.
        latency: [f64; 3],
        /// Events processed per second of the run.
        throughput: f64,
        /// CPU cores its process tree used on average.
        cores: f64,
        /// Its process tree's peak memory, MiB.
        memory_mib: f64,
        /// Seconds from the producers' schedule's start to its first result.
        first_result_s: f64,
    },
    /// The run failed: the one line that said why.
    Failed(String),
}

impl EngineSample {
    /// The figures of a completed run of another engine.
    pub fn of(report: &Report) -> Self {
        let l = &report.latency_ms;
        let engine = report.engine.as_ref();
        let run_s = engine.map_or(0.0, |e| e.run_s);
        Self::Ran {
            exact: report.verification.exact,
            latency: [l.p50, l.p90, l.p99],
            throughput: report.throughput,
            cores: if run_s > 0.0 {
                report.cpu_s.job / run_s
            } else {
                f64::NAN
            },
            memory_mib: engine.map_or(f64::NAN, |e| e.peak_memory_mib),
            first_result_s: engine
                .and_then(|e| e.first_result_after_s)
                .unwrap_or(f64::NAN),
        }
    }

    fn figure(&self, pick: impl Fn(&[f64; 7]) -> f64) -> f64 {
        match self {
            EngineSample::Ran {
                latency,
                throughput,
                cores,
                memory_mib,
                first_result_s,
                ..
            } => pick(&[
                latency[0],
                latency[1],
                latency[2],
                *throughput,
                *cores,
                *memory_mib,
                *first_result_s,
            ]),
            EngineSample::Failed(_) => f64::NAN,
        }
    }
}

/// One engine over its runs: each figure's median and range.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineRow {
    /// The engine.
    pub engine: String,
    /// Runs made.
    pub runs: usize,
    /// Every run completed and was exact.
    pub exact: bool,
    /// p50, p90, p99, events/s, cores, memory (MiB), first result (s).
    pub figures: [Spread; 7],
    /// Why runs failed, one line each.
    pub failures: Vec<String>,
}

/// The columns of a row's figures: name in the CSV and table, decimals shown.
const FIGURES: [(&str, usize); 7] = [
    ("p50_ms", 1),
    ("p90_ms", 1),
    ("p99_ms", 1),
    ("events_per_s", 0),
    ("cores", 2),
    ("peak_memory_mib", 0),
    ("first_result_s", 1),
];

impl EngineRow {
    /// Aggregates an engine's samples.
    pub fn of(engine: &str, samples: &[EngineSample]) -> Self {
        Self {
            engine: engine.to_owned(),
            runs: samples.len(),
            exact: !samples.is_empty()
                && samples
                    .iter()
                    .all(|s| matches!(s, EngineSample::Ran { exact: true, .. })),
            figures: std::array::from_fn(|i| {
                Spread::of(samples.iter().map(|s| s.figure(|f| f[i])))
            }),
            failures: samples
                .iter()
                .filter_map(|s| match s {
                    EngineSample::Failed(why) => Some(why.clone()),
                    EngineSample::Ran { exact: false, .. } => Some("NOT EXACT".to_owned()),
                    EngineSample::Ran { .. } => None,
                })
                .collect(),
        }
    }

    fn verdict(&self) -> &'static str {
        match (self.exact, self.failures.len() == self.runs) {
            (true, _) => "exact",
            (false, true) if self.failures.iter().all(|f| f != "NOT EXACT") => "failed",
            _ => "NOT EXACT",
        }
    }
}

fn shown(s: &Spread, decimals: usize) -> String {
    let one = |v: f64| {
        if v.is_nan() {
            "-".to_owned()
        } else {
            format!("{v:.decimals$}")
        }
    };
    if s.min == s.max || s.min.is_nan() {
        one(s.median)
    } else {
        format!("{} ({}–{})", one(s.median), one(s.min), one(s.max))
    }
}

/// `compare.csv`: one row per engine, each figure as its median with `_min` and `_max`.
pub fn compare_csv(rows: &[EngineRow]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["engine".to_owned(), "runs".to_owned(), "verdict".to_owned()];
    for (name, _) in FIGURES {
        header.extend([
            name.to_owned(),
            format!("{name}_min"),
            format!("{name}_max"),
        ]);
    }
    header.push("failures".to_owned());
    let _ = out.write_record(&header);
    for r in rows {
        let mut record = vec![r.engine.clone(), r.runs.to_string(), r.verdict().to_owned()];
        for s in &r.figures {
            record.extend([s.median, s.min, s.max].map(|v| {
                if v.is_nan() {
                    String::new()
                } else {
                    format!("{v:.3}")
                }
            }));
        }
        record.push(r.failures.join("; "));
        let _ = out.write_record(&record);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The table `harness compare` prints.
pub fn compare_table(rows: &[EngineRow]) -> String {
    let mut t = format!(
        "{:<10} {:<9} {:>14} {:>14} {:>14} {:>10} {:>6} {:>8} {:>7}\n",
        "engine",
        "verdict",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "events/s",
        "cores",
        "mem MiB",
        "first s"
    );
    for r in rows {
        let f = &r.figures;
        let _ = writeln!(
            t,
            "{:<10} {:<9} {:>14} {:>14} {:>14} {:>10} {:>6} {:>8} {:>7}",
            r.engine,
            r.verdict(),
            shown(&f[0], 1),
            shown(&f[1], 1),
            shown(&f[2], 1),
            shown(&f[3], 0),
            shown(&f[4], 2),
            shown(&f[5], 0),
            shown(&f[6], 1),
        );
        for why in r.failures.iter().filter(|f| *f != "NOT EXACT") {
            let _ = writeln!(t, "           {why}");
        }
    }
    t
}

/// `compare.html`: the workload, one row per engine with links to its runs' pages, and `svg`.
pub fn compare_page(rows: &[EngineRow], workload: &str, svg: &str) -> String {
    let mut p = String::new();
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>adstream compare</title><style>{STYLE}</style></head><body>\n\
         <h1>adstream: engines compared</h1>\n<p id=\"workload\">{}</p>\n<p>Figures are medians over \
         the runs, with their range. Latency: each result record's Kafka timestamp − its \
         <code>max_produce_time</code>; cores and memory: the engine's whole process tree.</p>\n\
         <table id=\"engines-table\"><tr><th>engine</th><th>verdict</th><th>p50 (ms)</th>\
         <th>p90 (ms)</th><th>p99 (ms)</th><th>events/s</th><th>cores</th><th>peak memory (MiB)</th>\
         <th>first result (s)</th><th>runs</th></tr>\n",
        escape(workload)
    );
    for r in rows {
        let links: Vec<String> = (0..r.runs)
            .map(|i| {
                format!(
                    "<a href=\"{}/run-{i}/report.html\">{}</a>",
                    escape(&r.engine),
                    i + 1
                )
            })
            .collect();
        let cells: Vec<String> = r
            .figures
            .iter()
            .zip(FIGURES)
            .map(|(s, (_, decimals))| format!("<td>{}</td>", shown(s, decimals)))
            .collect();
        let _ = writeln!(
            p,
            "<tr id=\"engine-{0}\"><td>{0}</td><td class=\"{1}\">{2}</td>{3}<td>{4}</td></tr>",
            escape(&r.engine),
            if r.exact { "ok" } else { "bad" },
            r.verdict(),
            cells.join(""),
            links.join(" "),
        );
        for why in r.failures.iter().filter(|f| *f != "NOT EXACT") {
            let _ = writeln!(
                p,
                "<tr class=\"bad\"><td></td><td colspan=\"9\">{}</td></tr>",
                escape(why)
            );
        }
    }
    p.push_str("</table>\n");
    if let Some(start) = svg.find("<svg") {
        let _ = writeln!(p, "<div class=\"plot\">{}</div>", &svg[start..]);
    }
    p.push_str("</body></html>\n");
    p
}

/// `compare.svg`: each engine's p50, p90 and p99 latency as bars, on a logarithmic axis (engines
/// differ by orders of magnitude).
pub fn compare_svg(rows: &[EngineRow], path: &Path) -> PlotResult {
    register_font();
    let root = SVGBackend::new(path, (900, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let highest = rows
        .iter()
        .flat_map(|r| r.figures[..3].iter().map(|s| s.median))
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption("end-to-end latency by engine (ms)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (0..rows.len() * 4).into_segmented(),
            (0.5_f64..highest * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        // A label for every segment, so that each engine's (the middle of its three bars) is drawn.
        .x_labels(rows.len() * 4 + 1)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) if i % 4 == 1 => rows
                .get(i / 4)
                .map_or_else(String::new, |r| r.engine.clone()),
            _ => String::new(),
        })
        .y_desc("ms")
        .draw()?;
    let colours = [
        RGBColor(120, 170, 220),
        RGBColor(40, 110, 180),
        RGBColor(10, 50, 110),
    ];
    for (k, (name, colour)) in ["p50", "p90", "p99"].iter().zip(colours).enumerate() {
        let bars = rows.iter().enumerate().filter_map(|(i, r)| {
            let v = r.figures[k].median;
            v.is_finite().then(|| {
                let x = i * 4 + k;
                Rectangle::new(
                    [
                        (SegmentValue::Exact(x), v.max(0.5)),
                        (SegmentValue::Exact(x + 1), 0.5),
                    ],
                    colour.filled(),
                )
            })
        });
        chart
            .draw_series(bars)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(exact: bool, p90: f64) -> EngineSample {
        EngineSample::Ran {
            exact,
            latency: [p90 / 2.0, p90, p90 * 2.0],
            throughput: 4000.0,
            cores: 0.5,
            memory_mib: 100.0,
            first_result_s: 11.0,
        }
    }

    #[test]
    fn rows_say_exact_not_exact_or_why_they_failed() {
        let rows = [
            EngineRow::of("adstream", &[ran(true, 10.0), ran(true, 14.0)]),
            EngineRow::of("slow", &[ran(false, 3000.0)]),
            EngineRow::of(
                "broken",
                &[EngineSample::Failed("the job exited".to_owned())],
            ),
        ];
        assert_eq!(
            rows.iter().map(EngineRow::verdict).collect::<Vec<_>>(),
            ["exact", "NOT EXACT", "failed"]
        );
        assert_eq!(rows[0].figures[1].median, 12.0);
        let table = compare_table(&rows);
        assert!(table.contains("12.0 (10.0–14.0)"), "{table}");
        assert!(table.contains("the job exited"), "{table}");
        let csv = compare_csv(&rows);
        assert_eq!(csv.lines().count(), 4, "{csv}");
        assert!(
            csv.lines().nth(3).unwrap().ends_with(",the job exited"),
            "{csv}"
        );
        let page = compare_page(&rows, "2 producers", "");
        assert!(page.contains("<tr id=\"engine-broken\">"), "{page}");
        assert!(
            page.contains("href=\"adstream/run-1/report.html\""),
            "{page}"
        );
    }
}
