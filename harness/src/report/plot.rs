//! `latency.svg`: per-window latency across the run (end to end, max and mean, beside the broker's own
//! delivery delay) above the distribution of end-to-end latency over result records.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::report::latency::LatencyHistogram;
use crate::report::model::{Report, WindowFigures};

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

/// Draws the report's latency plot into `path`.
pub fn latency_svg(report: &Report, distribution: &LatencyHistogram, path: &Path) -> PlotResult {
    register_font();
    let root = SVGBackend::new(path, (1000, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(420);
    per_window(report, &top)?;
    histogram(report, distribution, &bottom)?;
    root.present()?;
    Ok(())
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
    let mut chart = ChartBuilder::on(area)
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
    for (name, color, value) in series {
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|w| (w.latency.window_id, value(w))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |point| line_key(point, color));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn histogram(
    report: &Report,
    distribution: &LatencyHistogram,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
) -> PlotResult {
    let buckets = distribution.buckets(40);
    let x_max = buckets.last().map_or(1.0, |b| b.0) * 1.05;
    // Head-room above the tallest bar for the legend.
    let y_max = buckets.iter().map(|b| b.1).max().unwrap_or(1) as f64 * 1.35;
    let p = &report.latency_ms;
    let mut chart = ChartBuilder::on(area)
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
    chart
        .draw_series(buckets.iter().map(|&(upper, n)| {
            Rectangle::new(
                [(upper - width, 0.0), (upper, n as f64)],
                BLUE.mix(0.6).filled(),
            )
        }))?
        .label("results per latency bucket")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], BLUE.mix(0.6).filled()));
    for (value, name, color) in [(p.p90, "p90", RED), (p.p99, "p99", BLACK)] {
        chart
            .draw_series(LineSeries::new(
                [(value, 0.0), (value, y_max)],
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |point| line_key(point, color));
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// The legend key of a line series.
fn line_key((x, y): (i32, i32), color: RGBColor) -> PathElement<(i32, i32)> {
    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// Draws a chart's legend at `position`, on a light box.
fn draw_legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> PlotResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Draws `sweep.svg`: throughput and end-to-end p90 (medians over repeats) against partitions, one
/// line per series of the sweep (workers × processes, rate and shape).
pub fn sweep_svg(rows: &[crate::report::grid::Row], path: &Path) -> PlotResult {
    register_font();
    let root = SVGBackend::new(path, (1000, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(400);
    let mut series: Vec<String> = rows.iter().map(|r| r.cell.series()).collect();
    series.sort();
    series.dedup();
    let panels: [(&str, &str, RowValue); 2] = [
        (
            "Throughput against partitions",
            "events processed per second",
            |r| r.throughput.median,
        ),
        (
            "End-to-end p90 latency against partitions",
            "p90 latency (ms)",
            |r| r.latency[2].median,
        ),
    ];
    for ((caption, y_desc, value), area) in panels.into_iter().zip([&top, &bottom]) {
        let x_max = rows.iter().map(|r| r.cell.partitions).max().unwrap_or(1) + 1;
        let y_max = rows
            .iter()
            .map(value)
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max)
            * 1.4;
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0u32..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc("partitions")
            .y_desc(y_desc)
            .draw()?;
        for (i, name) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(u32, f64)> = rows
                .iter()
                .filter(|r| &r.cell.series() == name)
                .map(|r| (r.cell.partitions, value(r)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    root.present()?;
    Ok(())
}
