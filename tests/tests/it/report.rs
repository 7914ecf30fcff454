//! A short full run — 2 producers × 2,000 events/s × 12 s, 2 job processes × 2 workers, 4 partitions —
//! ends with exit 0, exact verification, every report field present, `windows.csv`, a readable
//! `latency.svg`, and a `report.html` that a real browser opens from the file with no network and finds
//! the report's numbers in — its tables, and the timeline its own script draws; `harness report DIR`
//! makes the same page again, and serves it with `--serve`.

use std::process::Stdio;

use adstream_harness::services::ownership::owned_command;
use adstream_tests::browser::{dump_dom, dump_dom_of_url, screenshot, screenshots, text_of};
use adstream_tests::{TestBroker, bin, lines_until, run_json};
use serde_json::Value;

fn number(v: &Value, path: &[&str]) -> f64 {
    let mut at = v;
    for key in path {
        at = at
            .get(key)
            .unwrap_or_else(|| panic!("report lacks {}", path.join(".")));
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{} is not a number: {at}", path.join(".")))
}

#[test]
fn a_short_run_reports_everything_and_verifies_exact() {
    let t = TestBroker::with_topics(4);
    let out = std::env::temp_dir().join(format!("adstream-report-{}", std::process::id()));
    let run = t
        .harness_run()
        .args(["--processes", "2"])
        .args([
            "--workers",
            "2",
            "--producers",
            "2",
            "--rate",
            "2000",
            "--duration",
            "12",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("verification EXACT"), "{stderr}");

    let report = run_json(&out, "report.json");
    assert_eq!(report["configuration"]["job"]["processes"], 2);
    assert_eq!(report["configuration"]["kafka"]["partitions"], 4);
    let produced = number(&report, &["events", "produced"]);
    assert!(
        produced > 40_000.0 && produced < 56_000.0,
        "about 48,000 poisson events: {produced}"
    );
    assert_eq!(number(&report, &["events", "processed"]), produced);
    assert_eq!(number(&report, &["events", "rejected"]), 0.0);
    assert_eq!(number(&report, &["events", "late"]), 0.0);
    for section in ["latency_ms", "broker_delay_ms", "event_time_latency_ms"] {
        let [avg, p50, p90, p99, max] =
            ["avg", "p50", "p90", "p99", "max"].map(|k| number(&report, &[section, k]));
        assert!(
            p50 <= p90 && p90 <= p99 && p99 <= max && avg <= max,
            "{section}: {}",
            report[section]
        );
        assert!(max > 0.0, "{section} measured nothing");
    }
    // The job's own share per window: last emission − when the window's last source closed it.
    assert_eq!(
        number(&report, &["job_added_ms", "count"]),
        2.0,
        "{}",
        report["job_added_ms"]
    );
    let windows = report["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2, "12 s of 10 s windows");
    let events: f64 = windows.iter().map(|w| number(w, &["events"])).sum();
    assert_eq!(events, produced);
    for w in windows {
        assert_eq!(number(w, &["campaigns"]), 10.0);
        for key in [
            "window_id",
            "max_latency_ms",
            "avg_latency_ms",
            "broker_delay_p90_ms",
        ] {
            number(w, &[key]);
        }
    }
    let producers = report["producers"].as_array().unwrap();
    assert_eq!(producers.len(), 2);
    for p in producers {
        for key in [
            "achieved_rate",
            "schedule_lag_max_ms",
            "schedule_lag_p99_ms",
        ] {
            number(p, &[key]);
        }
    }
    assert!(number(&report, &["throughput"]) > 0.0);
    // CPU per part; the test's broker was not started by this run, so its CPU is not visible to it.
    for part in ["job", "producers", "harness"] {
        assert!(
            number(&report, &["cpu_s", part]) > 0.0,
            "{}",
            report["cpu_s"]
        );
    }
    assert!(report["cpu_s"]["broker"].is_null(), "{}", report["cpu_s"]);
    assert!(stderr.contains("CPU (s)     job "), "{stderr}");
    assert_eq!(report["verification"]["exact"], true);
    assert_eq!(number(&report, &["verification", "windows_checked"]), 2.0);
    assert_eq!(
        report["verification"]["mismatches"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let csv = std::fs::read_to_string(out.join("windows.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header and two windows: {csv}");
    assert!(csv.starts_with("window_id,campaigns,events,max_latency_ms,"));
    let svg = std::fs::read_to_string(out.join("latency.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for text in [
        "Latency per window",
        "latency (ms)",
        "end to end, max",
        "broker delivery, p90",
        "p99",
    ] {
        assert!(svg.contains(text), "the plot lacks {text:?}");
    }

    // The page, as a person's browser shows it, offline.
    let page = out.join("report.html");
    let dom = dump_dom(&page);
    let shown = |id: &str| text_of(&dom, id).unwrap_or_else(|| panic!("no #{id} on the page"));
    assert_eq!(shown("verification"), "EXACT");
    assert_eq!(
        shown("events-processed"),
        report["events"]["processed"].to_string()
    );
    assert_eq!(
        shown("windows"),
        report["verification"]["windows_checked"].to_string()
    );
    assert_eq!(
        shown("latency-p90"),
        format!("{:.1}", number(&report, &["latency_ms", "p90"]))
    );
    assert!(
        dom.contains("Latency per window"),
        "the plot is on the page"
    );
    // Events (heading and figures), latency (heading and four rows), the timeline's figures
    // (heading and row) and its windows (heading), windows (heading and two).
    assert_eq!(dom.matches("<tr>").count(), 2 + 5 + 2 + 1 + 3);
    // The timeline, drawn by the page's own script: the report's figures, a row per window, charts.
    assert_eq!(
        shown("live-settled-processed"),
        report["events"]["processed"].to_string()
    );
    assert_eq!(
        shown("live-settled-p90").parse::<f64>().unwrap(),
        number(&report, &["latency_ms", "p90"])
    );
    for w in windows {
        let row = format!("<tr id=\"window-{}\">", w["window_id"]);
        assert!(dom.contains(&row), "{row}");
    }
    for chart in ["Events per second", "Consumer lag", "CPU by process"] {
        assert!(dom.contains(chart), "the page lacks the chart {chart:?}");
    }
    screenshot(&page, &screenshots().join("report-page.png"), 1200, 1800);
    // `harness report` makes the same page from the same files.
    let first = std::fs::read_to_string(&page).unwrap();
    std::fs::remove_file(&page).unwrap();
    let again = std::process::Command::new(bin("harness"))
        .arg("report")
        .arg(&out)
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    assert_eq!(std::fs::read_to_string(&page).unwrap(), first);
    // … and serves it, until stopped.
    let mut serving = owned_command(&bin("harness"))
        .arg("report")
        .arg(&out)
        .args(["--serve", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (said, _) = lines_until(serving.stderr.take().unwrap(), |l| {
        l.starts_with("report page: ")
    });
    let url = said
        .last()
        .and_then(|l| l.strip_prefix("report page: "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no address: {said:?}"))
        .to_owned();
    let served = dump_dom_of_url(&url, 500);
    let _ = serving.kill();
    let _ = serving.wait();
    assert_eq!(text_of(&served, "verification").as_deref(), Some("EXACT"));
    assert_eq!(
        text_of(&served, "live-settled-processed"),
        Some(report["events"]["processed"].to_string())
    );
    std::fs::remove_dir_all(out).unwrap();
}
