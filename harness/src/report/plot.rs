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

pub(super) fn register_font() {
    FONT.call_once(|| {
        // The embedded DejaVu Sans is a valid TrueType font; registering it cannot fail.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

pub(super) type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// A part of a drawing.
pub(super) type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// One figure of a window's row.
type WindowValue = fn(&WindowFigures) -> f64;

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
pub(super) enum Key {
    Line(RGBAColor),
    Dashed(RGBAColor),
    Bar(RGBAColor),
    Marker(RGBAColor, usize),
}

/// Draws the legend of a chart in `side`, the strip beside it: off the data, one entry per line.
pub(super) fn draw_keys(side: &Area<'_>, keys: &[(String, Key)]) -> PlotResult {
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
