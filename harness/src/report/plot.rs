//! `latency.svg`: events per second over the run (sent and processed, against the offered rate, with
//! the faults and restarts marked), per-window latency across the run (end to end, max and mean,
//! beside the broker's own delivery delay) and the distribution of end-to-end latency over result
//! records.

use std::path::Path;
use std::sync::Once;

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::report::latency::LatencyHistogram;
use crate::report::model::{Report, WindowFigures};
use crate::report::timeline::Timeline;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // The embedded DejaVu Sans is a valid TrueType font; registering it cannot fail.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// One figure of a window's row.
type WindowValue = fn(&WindowFigures) -> f64;

/// One figure of a sweep's row.
type RowValue = fn(&crate::report::grid::Row) -> f64;

/// Draws the report's latency plot, with the run's `timeline`, into `path`.
pub fn latency_svg(
    report: &Report,
    distribution: &LatencyHistogram,
    timeline: &Timeline,
    path: &Path,
) -> PlotResult {
    register_font();
    let root = SVGBackend::new(path, (1000, 1180)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, rest) = root.split_vertically(380);
    let (middle, bottom) = rest.split_vertically(420);
    throughput(timeline, &top)?;
    per_window(report, &middle)?;
    histogram(report, distribution, &bottom)?;
    root.present()?;
    Ok(())
}

/// Events per second sent and processed over the run, the offered rate dashed, each fault and
/// restart a vertical mark.
fn throughput(timeline: &Timeline, area: &Area<'_>) -> PlotResult {
    let seconds = |t_ms: u64| t_ms as f64 / 1_000.0;
    let sent: Vec<(f64, f64)> = timeline
        .samples
        .iter()
        .filter_map(|s| Some((seconds(s.t_ms), s.sent_per_s?)))
        .collect();
    let processed: Vec<(f64, f64)> = timeline
        .samples
        .iter()
        .map(|s| (seconds(s.t_ms), s.processed_per_s))
        .collect();
    let x_max = timeline
        .samples
        .last()
        .map_or(1.0, |s| seconds(s.t_ms))
        .max(1.0);
    let offered = timeline.offered_rate.unwrap_or(0.0);
    let y_max = sent
        .iter()
        .chain(&processed)
        .map(|p| p.1)
        .fold(offered.max(1.0), f64::max)
        * 1.1;
    let (area, side) = area.split_horizontally(760);
    let mut chart = ChartBuilder::on(&area)
        .caption("Events per second over the run", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the producers started")
        .y_desc("events/s")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    let mut keys = Vec::new();
    if let Some(rate) = timeline.offered_rate {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, rate), (x_max, rate)],
            8,
            5,
            BLACK.mix(0.5).stroke_width(1),
        ))?;
        keys.push((format!("offered {rate:.0}/s"), Key::Dashed(BLACK.mix(0.5))));
    }
    for mark in &timeline.marks {
        let x = seconds(mark.t_ms);
        let color = match mark.kind.as_str() {
            "restart" => RGBColor(230, 130, 0),
            "recovered" => RGBColor(0, 130, 0),
            _ => RED,
        };
        chart.draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, y_max)],
            4,
            4,
            color.stroke_width(2),
        ))?;
    }
    if !sent.is_empty() {
        chart.draw_series(LineSeries::new(sent, BLUE.stroke_width(2)))?;
        keys.push(("sent".to_owned(), Key::Line(BLUE.to_rgba())));
    }
    chart.draw_series(DashedLineSeries::new(processed, 6, 3, RED.stroke_width(2)))?;
    keys.push(("processed".to_owned(), Key::Dashed(RED.to_rgba())));
    if !timeline.marks.is_empty() {
        keys.push((
            "faults (red), ends (green), restarts (orange)".to_owned(),
            Key::Dashed(RED.to_rgba()),
        ));
    }
    draw_keys(&side, &keys)
}

fn per_window(
    report: &Report,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
) -> PlotResult {
    let rows = &report.windows;
    let x_max = rows.last().map_or(1, |w| w.latency.window_id.max(1));
    let y_max = rows
        .iter()
        .map(|w| (w.latency.max_latency_ms as f64).max(w.broker_delay_p90_ms))
        .fold(1.0, f64::max)
        * 1.1;
    let size = report.configuration.window.size;
    let (area, side) = area.split_horizontally(760);
    let mut chart = ChartBuilder::on(&area)
        .caption("Latency per window", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0u64..x_max, 0f64..y_max)?;
    let x_labels = (x_max + 1).min(20) as usize;
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .x_desc(format!("window ({size} s each)"))
        .y_desc("latency (ms)")
        .draw()?;
    let series: [(&str, RGBColor, WindowValue); 3] = [
        ("end to end, max", RED, |w| w.latency.max_latency_ms as f64),
        ("end to end, mean", BLUE, |w| w.latency.avg_latency_ms),
        ("broker delivery, p90", GREEN, |w| w.broker_delay_p90_ms),
    ];
    for (_, color, value) in series {
        chart.draw_series(LineSeries::new(
            rows.iter().map(|w| (w.latency.window_id, value(w))),
            color.stroke_width(2),
        ))?;
    }
    draw_keys(
        &side,
        &series.map(|(name, color, _)| (name.to_owned(), Key::Line(color.to_rgba()))),
    )
}

fn histogram(
    report: &Report,
    distribution: &LatencyHistogram,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
) -> PlotResult {
    let buckets = distribution.buckets(40);
    let x_max = buckets.last().map_or(1.0, |b| b.0) * 1.05;
    let y_max = buckets.iter().map(|b| b.1).max().unwrap_or(1) as f64 * 1.1;
    let p = &report.latency_ms;
    let (area, side) = area.split_horizontally(760);
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!(
                "End-to-end latency over {} results: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
                p.count, p.p50, p.p90, p.p99
            ),
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("results")
        .draw()?;
    let width = buckets.first().map_or(1.0, |b| b.0);
    chart.draw_series(buckets.iter().map(|&(upper, n)| {
        Rectangle::new(
            [(upper - width, 0.0), (upper, n as f64)],
            BLUE.mix(0.6).filled(),
        )
    }))?;
    // p99 first, solid; p90 over it, dashed: when they are equal both stay visible.
    chart.draw_series(LineSeries::new(
        [(p.p99, 0.0), (p.p99, y_max)],
        BLACK.stroke_width(2),
    ))?;
    chart.draw_series(DashedLineSeries::new(
        [(p.p90, 0.0), (p.p90, y_max)],
        8,
        5,
        RED.stroke_width(2),
    ))?;
    draw_keys(
        &side,
        &[
            (
                "results per latency bucket".to_owned(),
                Key::Bar(BLUE.mix(0.6)),
            ),
            ("p90".to_owned(), Key::Dashed(RED.to_rgba())),
            ("p99".to_owned(), Key::Line(BLACK.to_rgba())),
        ],
    )
}

/// A legend entry's mark.
#[derive(Debug, Clone, Copy)]
enum Key {
    Line(RGBAColor),
    Dashed(RGBAColor),
    Bar(RGBAColor),
    Marker(RGBAColor, usize),
}

/// Draws the legend of a chart in `side`, the strip beside it: off the data, one entry per line.
fn draw_keys(side: &Area<'_>, keys: &[(String, Key)]) -> PlotResult {
    for (i, (label, key)) in keys.iter().enumerate() {
        let y = 60 + 22 * i as i32;
        match *key {
            Key::Line(c) => {
                side.draw(&PathElement::new(vec![(8, y), (36, y)], c.stroke_width(2)))?
            }
            Key::Dashed(c) => side.draw(&DashedPathElement::new(
                vec![(8, y), (36, y)],
                6,
                4,
                c.stroke_width(2),
            ))?,
            Key::Bar(c) => side.draw(&Rectangle::new([(8, y - 5), (36, y + 5)], c.filled()))?,
            Key::Marker(c, shape) => {
                side.draw(&PathElement::new(vec![(8, y), (36, y)], c.stroke_width(2)))?;
                draw_marker(side, (22, y), c, shape)?;
            }
        }
        side.draw(&Text::new(label.clone(), (42, y - 7), ("sans-serif", 13)))?;
    }
    Ok(())
}

/// Series `shape`'s marker at `at` (pixels): each series of a sweep has its own.
fn draw_marker(side: &Area<'_>, at: (i32, i32), c: RGBAColor, shape: usize) -> PlotResult {
    let style = c.stroke_width(2);
    match shape % 4 {
        0 => side.draw(&Circle::new(at, 5, style))?,
        1 => side.draw(&TriangleMarker::new(at, 7, style))?,
        2 => side.draw(&Cross::new(at, 6, style))?,
        _ => side.draw(&Circle::new(at, 3, c.filled()))?,
    }
    Ok(())
}

/// Draws `sweep.svg`: throughput and end-to-end p90 (medians over repeats) against partitions, one
/// line per series of the sweep (workers × processes, offered rate and shape), for runs of `producers`
/// producers each. Partitions sit at the measured values, evenly spaced; the latency axis is
/// logarithmic, so one slow cell does not flatten the others; each series has its own marker, so
/// series that coincide stay visible; the throughput panel has a dashed line at each offered load.
pub fn sweep_svg(rows: &[crate::report::grid::Row], producers: u32, path: &Path) -> PlotResult {
    register_font();
    let root = SVGBackend::new(path, (1000, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(450);
    let mut partitions: Vec<u32> = rows.iter().map(|r| r.cell.partitions).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut series: Vec<(String, crate::report::grid::Cell)> = rows
        .iter()
        .map(|r| (series_name(&r.cell, producers), r.cell))
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series.dedup_by(|a, b| a.0 == b.0);
    let sweep = Sweep {
        rows,
        producers,
        partitions: &partitions,
        series: &series,
    };
    sweep.throughput_panel(&top)?;
    sweep.latency_panel(&bottom)?;
    root.present()?;
    Ok(())
}

/// A series' name: its job's shape, the total offered rate and the traffic shape.
fn series_name(cell: &crate::report::grid::Cell, producers: u32) -> String {
    format!(
        "{} worker(s) × {} process(es), {}/s offered, {}",
        cell.workers,
        cell.processes,
        cell.rate * u64::from(producers),
        cell.generator
    )
}

/// What the sweep plot draws from.
struct Sweep<'a> {
    rows: &'a [crate::report::grid::Row],
    producers: u32,
    partitions: &'a [u32],
    series: &'a [(String, crate::report::grid::Cell)],
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

impl Sweep<'_> {
    /// The points of series `name`: (index of its partitions among the measured ones, value).
    fn points(&self, name: &str, value: RowValue) -> Vec<(u32, f64)> {
        self.rows
            .iter()
            .filter(|r| series_name(&r.cell, self.producers) == name)
            .filter_map(|r| {
                let at = self
                    .partitions
                    .iter()
                    .position(|p| *p == r.cell.partitions)?;
                Some((at as u32, value(r)))
            })
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .collect()
    }

    /// Draws each series' line and its own markers on `chart`, and labels it.
    fn draw_series<'a, CT>(
        &self,
        chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
        value: RowValue,
    ) -> PlotResult
    where
        CT: plotters::coord::CoordTranslate<From = (u32, f64)>,
    {
        for (i, (name, _)) in self.series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points = self.points(name, value);
            chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
            // A marker of its own per series: coinciding lines stay told apart.
            let style = color.stroke_width(2);
            match i % 4 {
                0 => chart.draw_series(points.iter().map(|p| Circle::new(*p, 5, style)))?,
                1 => chart.draw_series(points.iter().map(|p| TriangleMarker::new(*p, 7, style)))?,
                2 => chart.draw_series(points.iter().map(|p| Cross::new(*p, 6, style)))?,
                _ => {
                    chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?
                }
            };
        }
        Ok(())
    }

    /// The legend of the series, and `extra` entries first.
    fn keys(&self, extra: Vec<(String, Key)>) -> Vec<(String, Key)> {
        extra
            .into_iter()
            .chain(
                self.series.iter().enumerate().map(|(i, (name, _))| {
                    (name.clone(), Key::Marker(Palette99::pick(i).to_rgba(), i))
                }),
            )
            .collect()
    }

    fn throughput_panel(&self, area: &Area<'_>) -> PlotResult {
        let offered: Vec<f64> = {
            let mut o: Vec<u64> = self
                .series
                .iter()
                .map(|(_, c)| c.rate * u64::from(self.producers))
                .collect();
            o.sort_unstable();
            o.dedup();
            o.into_iter().map(|r| r as f64).collect()
        };
        let y_max = self
            .rows
            .iter()
            .map(|r| r.throughput.median)
            .chain(offered.iter().copied())
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max)
            * 1.15;
        let n = self.partitions.len() as u32;
        let (area, side) = area.split_horizontally(640);
        let mut chart = ChartBuilder::on(&area)
            .caption("Throughput against partitions", ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0u32..n.saturating_sub(1).max(1), 0f64..y_max)?;
        let labels = self.partitions;
        chart
            .configure_mesh()
            .x_desc("partitions")
            .y_desc("events processed per second")
            .x_labels(n as usize)
            .x_label_formatter(&|i| {
                labels
                    .get(*i as usize)
                    .map_or(String::new(), u32::to_string)
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        for load in &offered {
            chart.draw_series(DashedLineSeries::new(
                [(0, *load), (n.saturating_sub(1), *load)],
                8,
                6,
                BLACK.stroke_width(1),
            ))?;
        }
        self.draw_series(&mut chart, |r| r.throughput.median)?;
        let offered_keys = offered
            .iter()
            .map(|load| (format!("offered {load:.0}/s"), Key::Dashed(BLACK.to_rgba())))
            .collect();
        draw_keys(&side, &self.keys(offered_keys))
    }

    fn latency_panel(&self, area: &Area<'_>) -> PlotResult {
        let values: Vec<f64> = self
            .rows
            .iter()
            .map(|r| r.latency[2].median)
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let y_min = values
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
            * 0.8;
        let y_max = values.iter().copied().fold(1.0, f64::max) * 1.5;
        let n = self.partitions.len() as u32;
        let (area, side) = area.split_horizontally(640);
        let mut chart = ChartBuilder::on(&area)
            .caption(
                "End-to-end p90 latency against partitions (log scale)",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0u32..n.saturating_sub(1).max(1), (y_min..y_max).log_scale())?;
        let labels = self.partitions;
        chart
            .configure_mesh()
            .x_desc("partitions")
            .y_desc("p90 latency (ms)")
            .x_labels(n as usize)
            .x_label_formatter(&|i| {
                labels
                    .get(*i as usize)
                    .map_or(String::new(), u32::to_string)
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        self.draw_series(&mut chart, |r| r.latency[2].median)?;
        draw_keys(&side, &self.keys(Vec::new()))
    }
}
