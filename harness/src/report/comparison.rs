//! The pages that compare runs: a sweep's `sweep.html` (every cell: its configuration, throughput
//! and latency over its repeats, exactness, the sweep's plot, a link to each run's `report.html`) and
//! a capacity search's `capacity.html` (every rate tried, with the evidence that judged it). Like
//! `report.html` they are one self-contained file: CSS and SVG inline, nothing fetched; their links
//! are relative, to the runs' pages beside them. Each cell's row has an `id` a test (or a person's
//! script) can find it by.

use std::fmt::Write as _;

use serde_json::Value;

use crate::report::grid::{Row, Spread};
use crate::report::page::{STYLE, shown};

/// A number as shown: NaN (no run completed) as a dash.
fn figure(v: f64, decimals: usize) -> String {
    if v.is_nan() {
        "—".to_owned()
    } else {
        format!("{v:.decimals$}")
    }
}

/// A median with its range over the repeats, when there is one.
fn spread(s: &Spread, decimals: usize) -> String {
    if s.min == s.max || s.min.is_nan() {
        figure(s.median, decimals)
    } else {
        format!(
            "{} ({}–{})",
            figure(s.median, decimals),
            figure(s.min, decimals),
            figure(s.max, decimals)
        )
    }
}

/// Where a page's own SVG starts (plotters writes an XML declaration first, which HTML does not take).
fn inline_svg(svg: &str) -> &str {
    &svg[svg.find("<svg").unwrap_or(svg.len())..]
}

/// `sweep.html`: every cell of `rows` (`producers` per cell, `repeat` runs each), with `svg` (the
/// sweep's `sweep.svg`).
pub fn sweep_page(rows: &[Row], producers: u32, repeat: u32, svg: &str) -> String {
    let mut p = String::new();
    let exact = rows.iter().filter(|r| r.exact).count();
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>adstream sweep</title><style>{STYLE}</style></head><body>\n\
         <h1>adstream sweep</h1>\n<p>{} cells × {repeat} run(s), {producers} producer(s) each; \
         <span id=\"cells-exact\">{exact}</span> of <span id=\"cells\">{}</span> cells exact. \
         Figures are medians over the runs, with their range.</p>\n\
         <table id=\"cells-table\"><tr><th>partitions</th><th>workers</th><th>processes</th>\
         <th>rate per producer</th><th>offered in all</th><th>generator</th><th>events</th>\
         <th>events/s</th><th>p50 (ms)</th><th>p90 (ms)</th><th>p99 (ms)</th><th>exact</th>\
         <th>runs</th></tr>\n",
        rows.len(),
        rows.len()
    );
    for r in rows {
        let c = &r.cell;
        let name = c.dir_name();
        let [_, p50, p90, p99, _] = &r.latency;
        let links: Vec<String> = (0..r.repeats)
            .map(|i| format!("<a href=\"{name}/run-{i}/report.html\">{}</a>", i + 1))
            .collect();
        let _ = writeln!(
            p,
            "<tr id=\"cell-{name}\"><td>{}</td><td>{}</td><td>{}</td><td>{}/s</td><td>{}/s</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"p90\">{}</td><td>{}</td>\
             <td class=\"{}\">{}</td><td>{}</td></tr>",
            c.partitions,
            c.workers,
            c.processes,
            c.rate,
            c.rate * u64::from(producers),
            c.generator,
            spread(&r.events, 0),
            spread(&r.throughput, 0),
            spread(p50, 1),
            spread(p90, 1),
            spread(p99, 1),
            if r.exact { "ok" } else { "bad" },
            if r.exact { "yes" } else { "NO" },
            links.join(" "),
        );
    }
    p.push_str("</table>\n");
    if !svg.is_empty() {
        let _ = writeln!(p, "<div class=\"plot\">{}</div>", inline_svg(svg));
    }
    p.push_str("</body></html>\n");
    p
}

/// `capacity.html`: every run of `capacity` (a search's `capacity.json`), in the order made.
pub fn capacity_page(capacity: &Value) -> String {
    let mut p = String::new();
    let rate = |v: &Value| v["rate"].as_u64();
    let verdict = match (rate(&capacity["sustained"]), rate(&capacity["failed"])) {
        (Some(ok), Some(not)) => format!(
            "capacity <b id=\"capacity\">{ok}</b> events/s: sustained; {not} events/s, the next \
             rate tried above it, was not"
        ),
        (Some(ok), None) => format!(
            "capacity at least <b id=\"capacity\">{ok}</b> events/s: every rate tried was sustained"
        ),
        (None, Some(not)) => format!(
            "capacity below <b id=\"capacity\">{not}</b> events/s: the first rate tried was not \
             sustained"
        ),
        (None, None) => "no run was made".to_owned(),
    };
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>adstream capacity</title><style>{STYLE}</style></head><body>\n\
         <h1>adstream capacity search</h1>\n<p>{verdict}</p>\n\
         <table id=\"runs-table\"><tr><th>rate (events/s)</th><th>achieved</th>\
         <th>producers' lag p99 (ms)</th><th>p90 (ms)</th><th>first third (ms)</th>\
         <th>last third (ms)</th><th>exact</th><th>sustained</th><th>why not</th><th>run</th></tr>\n"
    );
    for run in capacity["runs"].as_array().into_iter().flatten() {
        let failures: Vec<String> = run["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .map(shown)
            .collect();
        let r = shown(&run["rate"]);
        let _ = writeln!(
            p,
            "<tr id=\"rate-{r}\"><td>{r}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"{}\">{}</td><td>{}</td>\
             <td><a href=\"rate-{r}/report.html\">report</a></td></tr>",
            shown(&run["achieved_rate"]),
            shown(&run["lag_p99_ms"]),
            shown(&run["p90_ms"]),
            shown(&run["first_third_ms"]),
            shown(&run["last_third_ms"]),
            shown(&run["exact"]),
            if failures.is_empty() { "ok" } else { "bad" },
            if failures.is_empty() { "yes" } else { "no" },
            failures.join("; "),
        );
    }
    p.push_str("</table>\n</body></html>\n");
    p
}
