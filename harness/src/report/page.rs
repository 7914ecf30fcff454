//! The run's pages. `report.html`: a run's report as one self-contained page — the key figures, the
//! verification, the latency plot (the run's `latency.svg`, inlined), the live page's charts over the
//! whole run (its `timeline.json` and our chart script, inlined), the per-window table, the faults,
//! the revisions and the configuration — with nothing fetched: it opens from the file with no network.
//! It is made from the run directory's files, so `harness report DIR` makes it again. The live page:
//! the same charts, filled from the timeline the harness serves. Each key figure carries an `id` a
//! test (or a person's script) can find it by.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// What went wrong making a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A file of the run directory could not be read or written.
    #[error("{file}: {source}")]
    File {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// `report.json` is not a run's report.
    #[error("{0}: not a run's report.json ({1})")]
    NotAReport(String, String),
}

/// Writes `report.html` in the run directory `dir` from its `report.json`, `latency.svg` and
/// `timeline.json`.
pub fn write_report_page(dir: &Path) -> Result<(), PageError> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|source| PageError::File {
            file: dir.join(name).display().to_string(),
            source,
        })
    };
    let json = read("report.json")?;
    let report: Value = serde_json::from_str(&json).map_err(|e| {
        PageError::NotAReport(dir.join("report.json").display().to_string(), e.to_string())
    })?;
    if !report["verification"].is_object() || !report["latency_ms"].is_object() {
        return Err(PageError::NotAReport(
            dir.join("report.json").display().to_string(),
            "no verification or latency_ms".into(),
        ));
    }
    let svg = read("latency.svg").unwrap_or_default();
    // Runs before the timeline existed have none: their page has no "Over time" section.
    let timeline = read("timeline.json").ok();
    let page = report_page(&report, &svg, timeline.as_deref());
    let path = dir.join("report.html");
    std::fs::write(&path, page).map_err(|source| PageError::File {
        file: path.display().to_string(),
        source,
    })
}

/// `text` with HTML's special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JSON number or string as shown: integers plainly, other numbers with one decimal.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        Value::Number(n) => format!("{:.1}", n.as_f64().unwrap_or_default()),
        Value::String(s) => escape(s),
        Value::Bool(b) => b.to_string(),
        Value::Null => "—".to_owned(),
        other => escape(&other.to_string()),
    }
}

/// The chart script of the live page and of `report.html`'s timeline (ours; no library).
const TIMELINE_JS: &str = include_str!("timeline.js");

/// The panels the chart script fills, on the live page and in `report.html`.
const TIMELINE_PANELS: &str = r#"<table class="figures"><tr><th>phase</th><th>time</th><th>sent</th>
<th>processed</th><th>windows</th><th>lag (records)</th><th>event time behind (ms)</th>
<th>checkpoints</th><th>restarts</th><th>p50 (ms)</th><th>p90 (ms)</th><th>p99 (ms)</th></tr>
<tr><td id="live-phase"></td><td id="live-elapsed"></td><td id="live-sent"></td>
<td id="live-processed"></td><td id="live-windows-count"></td><td id="live-lag"></td>
<td id="live-event-time-lag"></td><td id="live-checkpoints"></td><td id="live-restarts"></td>
<td id="live-p50"></td><td id="live-p90"></td><td id="live-p99"></td></tr></table>
<p id="live-settled" hidden>The run's report: <span id="live-settled-processed"></span> events
processed, <span id="live-settled-windows"></span> windows, end-to-end p90
<span id="live-settled-p90"></span> ms — <b id="live-settled-verdict"></b></p>
<div class="charts"><div id="chart-rate"></div><div id="chart-windows"></div>
<div id="chart-lag"></div><div id="chart-event-time"></div><div id="chart-distribution"></div>
<div id="chart-cpu"></div><div id="chart-checkpoints"></div></div>
<h2>Faults and restarts</h2><ul id="live-marks"></ul>
<h2>Windows as their results arrived</h2><table><thead><tr><th>window</th><th>at (s)</th>
<th>campaigns</th><th>end to end, max (ms)</th><th>broker p90 (ms)</th><th>job's share (ms)</th>
</tr></thead><tbody id="live-windows"></tbody></table>
"#;

/// The live page: the panels, filled from `timeline.json` once a second.
pub fn live_page() -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>adstream — live</title><style>{STYLE}{CHART_STYLE}</style></head><body>\n\
         <h1>adstream — <span id=\"live-title\">run</span></h1>\n\
         <p class=\"connection\">page: <span id=\"live-connection\">connecting</span></p>\n\
         {TIMELINE_PANELS}<h2>Configuration</h2>\n<pre id=\"live-configuration\"></pre>\n\
         <script>{TIMELINE_JS}</script></body></html>\n"
    )
}

/// The timeline section of `report.html`: the live page's panels, drawn once from `timeline` (the
/// run's `timeline.json`) carried in the page.
fn timeline_section(p: &mut String, timeline: &str) {
    // A JSON text inside a script element must not close it.
    let inline = timeline.replace("</", "<\\/");
    let _ = write!(
        p,
        "<h2>Over time</h2>\n{TIMELINE_PANELS}<script>window.ADSTREAM_TIMELINE = {inline};</script>\
         <script>{TIMELINE_JS}</script>\n"
    );
}

/// The page of `report` (a run's `report.json`), with `svg` (its `latency.svg`) inline and the
/// charts of `timeline` (its `timeline.json`), when there is one.
pub fn report_page(report: &Value, svg: &str, timeline: Option<&str>) -> String {
    let mut p = String::new();
    let v = &report["verification"];
    let exact = v["exact"].as_bool().unwrap_or(false);
    let _ = write!(
        p,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>adstream run report</title><style>{STYLE}{CHART_STYLE}</style></head><body>\n\
         <h1>adstream run report</h1>\n<p class=\"{}\">verification <b id=\"verification\">{}</b>: \
         <span id=\"windows\">{}</span> windows, <span id=\"results-read\">{}</span> result records \
         checked against a recount of <span id=\"events-recounted\">{}</span> events</p>\n",
        if exact { "ok" } else { "bad" },
        if exact { "EXACT" } else { "NOT EXACT" },
        shown(&v["windows_checked"]),
        shown(&v["results_read"]),
        shown(&v["events"]),
    );
    if let Some(e) = report.get("engine").filter(|e| e.is_object()) {
        let _ = writeln!(
            p,
            "<p id=\"engine\">job <b>{}</b> (<code>{}</code>): ready after {} s, first result {} s \
             into the producers' schedule, {} result records, peak memory {} MiB (its whole process \
             tree); its last records' latency p90 {} ms</p>",
            shown(&e["name"]),
            shown(&e["command"]),
            shown(&e["ready_after_s"]),
            shown(&e["first_result_after_s"]),
            shown(&e["records"]),
            shown(&e["peak_memory_mib"]),
            shown(&e["last_record_latency_ms"]["p90"]),
        );
    }
    if let Some(mismatches) = v["mismatches"].as_array().filter(|m| !m.is_empty()) {
        p.push_str("<ul class=\"bad\">");
        for m in mismatches {
            let _ = write!(p, "<li>{}</li>", shown(m));
        }
        p.push_str("</ul>\n");
    }
    key_figures(&mut p, report);
    if !svg.is_empty() {
        // plotters' SVG starts with its own XML declaration, which HTML does not take.
        let start = svg.find("<svg").unwrap_or(0);
        let _ = write!(
            p,
            "<h2>Latency</h2>\n<div class=\"plot\">{}</div>\n",
            &svg[start..]
        );
    }
    if let Some(timeline) = timeline {
        timeline_section(&mut p, timeline);
    }
    windows_table(&mut p, report);
    faults_table(&mut p, report);
    let _ = write!(
        p,
        "<h2>Configuration</h2>\n<pre id=\"configuration\">{}</pre>\n</body></html>\n",
        escape(&serde_json::to_string_pretty(&report["configuration"]).unwrap_or_default())
    );
    p
}

/// The events, latency, revisions and CPU figures.
fn key_figures(p: &mut String, report: &Value) {
    let e = &report["events"];
    let _ = write!(
        p,
        "<h2>Events</h2>\n<table><tr><th>produced</th><th>processed</th><th>rejected</th>\
         <th>late</th><th>events/s</th></tr><tr><td id=\"events-produced\">{}</td>\
         <td id=\"events-processed\">{}</td><td id=\"events-rejected\">{}</td>\
         <td id=\"events-late\">{}</td><td>{:.0}</td></tr></table>\n",
        shown(&e["produced"]),
        shown(&e["processed"]),
        shown(&e["rejected"]),
        shown(&e["late"]),
        report["throughput"].as_f64().unwrap_or_default()
    );
    p.push_str(
        "<h2>Latency (ms)</h2>\n<table><tr><th></th><th>avg</th><th>p50</th><th>p90</th>\
         <th>p99</th><th>max</th></tr>\n",
    );
    let mut rows = vec![
        ("end to end", "latency", &report["latency_ms"]),
        ("broker delivery", "broker", &report["broker_delay_ms"]),
        (
            "after window end",
            "after-end",
            &report["event_time_latency_ms"],
        ),
        ("job's own share", "job-share", &report["job_added_ms"]),
    ];
    if report["revisions"].is_object() {
        rows.push((
            "freshness (revisions)",
            "freshness",
            &report["revisions"]["freshness_ms"],
        ));
    }
    for (name, id, l) in rows {
        let _ = write!(p, "<tr><th>{name}</th>");
        for q in ["avg", "p50", "p90", "p99", "max"] {
            let _ = write!(p, "<td id=\"{id}-{q}\">{}</td>", shown(&l[q]));
        }
        p.push_str("</tr>\n");
    }
    p.push_str("</table>\n");
    if let Some(r) = report["revisions"].as_object() {
        let _ = writeln!(
            p,
            "<p>revisions: <span id=\"revisions-records\">{}</span> records, {} per window and \
             campaign on average (at most {}), {} for late events</p>",
            shown(&r["records"]),
            shown(&r["per_result_mean"]),
            shown(&r["per_result_max"]),
            shown(&r["late"]),
        );
    }
    let c = &report["cpu_s"];
    let _ = writeln!(
        p,
        "<p>CPU (s): job <span id=\"cpu-job\">{}</span>, producers {}, broker {}, harness {}</p>",
        shown(&c["job"]),
        shown(&c["producers"]),
        shown(&c["broker"]),
        shown(&c["harness"]),
    );
}

/// One row per window.
fn windows_table(p: &mut String, report: &Value) {
    let Some(windows) = report["windows"].as_array() else {
        return;
    };
    p.push_str(
        "<h2>Windows</h2>\n<table id=\"windows-table\"><tr><th>window</th><th>campaigns</th>\
         <th>events</th><th>max latency (ms)</th><th>avg latency (ms)</th><th>broker p90 (ms)</th>\
         <th>job's share (ms)</th><th>spanned a fault</th></tr>\n",
    );
    for w in windows {
        let _ = writeln!(
            p,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            shown(&w["window_id"]),
            shown(&w["campaigns"]),
            shown(&w["events"]),
            shown(&w["max_latency_ms"]),
            shown(&w["avg_latency_ms"]),
            shown(&w["broker_delay_p90_ms"]),
            shown(&w["job_added_ms"]),
            if w["disturbed"].as_bool().unwrap_or(false) {
                "yes"
            } else {
                ""
            },
        );
    }
    p.push_str("</table>\n");
}

/// One row per fault, when there were any.
fn faults_table(p: &mut String, report: &Value) {
    let Some(faults) = report["faults"].as_array().filter(|f| !f.is_empty()) else {
        return;
    };
    p.push_str(
        "<h2>Faults</h2>\n<table id=\"faults-table\"><tr><th>target</th><th>what</th>\
         <th>at (s)</th><th>detected (s)</th><th>restarted (s)</th><th>caught up (s)</th>\
         <th>records read again</th></tr>\n",
    );
    for f in faults {
        let _ = writeln!(
            p,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            shown(&f["target"]),
            shown(&f["cause"]),
            shown(&f["failed_at_s"]),
            shown(&f["detected_at_s"]),
            shown(&f["restarted_at_s"]),
            shown(&f["caught_up_at_s"]),
            shown(&f["events_reread"]),
        );
    }
    p.push_str("</table>\n");
}

/// The page's style: plain, readable, printable.
pub(crate) const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .6em;\
text-align:right}th{background:#f4f4f4}.ok b{color:#070}.bad,.bad b{color:#b00}\
pre{background:#f8f8f8;padding:1em;overflow:auto}.plot svg{max-width:100%;height:auto}";

/// The charts' style: the chart script draws plain SVG and leaves its look to these classes.
const CHART_STYLE: &str = ".charts{display:flex;flex-wrap:wrap;gap:.5em}\
.charts>div{flex:1 1 520px;max-width:680px}.charts svg{width:100%;height:auto;border:1px solid #eee;background:#fff}.title{font-size:13px;font-weight:bold}\
.tick,.legend{font-size:11px}.axis{font-size:11px;fill:#555}.grid{stroke:#eee}\
.frame{fill:none;stroke:#999}.mark{stroke:#b00;stroke-dasharray:3 3;stroke-width:1.5}\
.mark.recovered{stroke:#080}.mark.restart{stroke:#e80;stroke-dasharray:6 2}\
.ref{stroke:#777;stroke-dasharray:8 4;stroke-width:1.2}.figures td{min-width:4em}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_states_the_report_s_figures_escaped_and_needs_nothing_from_outside() {
        let report = serde_json::json!({
            "verification": {"exact": true, "windows_checked": 6, "results_read": 60, "events": 1200,
                             "mismatches": []},
            "events": {"produced": 1200, "processed": 1200, "rejected": 0, "late": 0},
            "throughput": 600.0,
            "latency_ms": {"avg": 11.5, "p50": 11.0, "p90": 13.0, "p99": 14.0, "max": 14.0},
            "windows": [{"window_id": 0, "campaigns": 10, "events": 200, "max_latency_ms": 14,
                         "avg_latency_ms": 11.2, "broker_delay_p90_ms": 9.0, "job_added_ms": 1,
                         "disturbed": false}],
            "cpu_s": {"job": 1.5, "producers": 1.0, "broker": null, "harness": 0.5},
            "configuration": {"kafka": {"bootstrap": "<b>&"}}
        });
        let timeline = r#"{"title":"</script><b>"}"#;
        let page = report_page(
            &report,
            "<?xml version=\"1.0\"?><svg id=\"plot\"></svg>",
            Some(timeline),
        );
        for needle in [
            "<b id=\"verification\">EXACT</b>",
            "<span id=\"windows\">6</span>",
            "<td id=\"events-processed\">1200</td>",
            "<td id=\"latency-p90\">13.0</td>",
            "<div class=\"plot\"><svg id=\"plot\"></svg></div>",
            "&lt;b&gt;&amp;",
        ] {
            assert!(page.contains(needle), "{needle}: {page}");
        }
        assert!(!page.contains("<?xml"));
        assert!(page.contains(r#"ADSTREAM_TIMELINE = {"title":"<\/script><b>"}"#));
        for outside in ["src=", "href=", "<link", "@import", "url("] {
            assert!(!page.contains(outside), "{outside}");
        }
    }
}
