//! `sweep.svg`: throughput and end-to-end p90 against partitions, one line per series of a sweep.

use std::path::Path;

use plotters::prelude::*;

use crate::report::grid::{Cell, Row};
use crate::report::plot::{Area, Key, PlotResult, draw_keys, register_font};

/// One figure of a sweep's row.
type RowValue = fn(&Row) -> f64;

/// Draws `sweep.svg`: throughput and end-to-end p90 (medians over repeats) against partitions, one
/// line per series of the sweep (workers × processes, offered rate and shape), for runs of `producers`
/// producers each. Partitions sit at the measured values, evenly spaced; the latency axis is
/// logarithmic, so one slow cell does not flatten the others; each series has its own marker, so
/// series that coincide stay visible; the throughput panel has a dashed line at each offered load.
pub fn sweep_svg(rows: &[Row], producers: u32, path: &Path) -> PlotResult {
    register_font();
    let root = SVGBackend::new(path, (1000, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(450);
    let mut partitions: Vec<u32> = rows.iter().map(|r| r.cell.partitions).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut series: Vec<(String, Cell)> = rows
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
fn series_name(cell: &Cell, producers: u32) -> String {
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
    rows: &'a [Row],
    producers: u32,
    partitions: &'a [u32],
    series: &'a [(String, Cell)],
}

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
