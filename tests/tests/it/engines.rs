//! Another engine's job measured through the engine contract (ARCHITECTURE.md, "Any engine"): a
//! student's kind of kafka-python job (`tests/python/engine_job.py`) run by `harness run --job` is
//! judged EXACT with its latency and its process tree's figures in the report; the same job made
//! wrong is NOT EXACT naming the (window, campaign) and the difference; a job that fails at start, or
//! never says it reads, ends the run in one line with exit 1 and leaves no process behind; and
//! adstream's own job through the same contract (`--engine adstream`) is EXACT too.

use std::path::PathBuf;
use std::process::Output;

use adstream_tests::python::python;
use adstream_tests::{TestBroker, pgrep, run_json};

/// The test job's command, with `flags`, tagged with `name` so that its processes can be found.
fn job(name: &str, flags: &str) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/engine_job.py");
    format!(
        "{} {} {flags} --tag {}",
        python().display(),
        script.display(),
        tag(name)
    )
}

fn tag(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// A light run's flags: 2 producers × exactly 300 events/s for 5 s in 2-second windows.
const LIGHT: [&str; 12] = [
    "--producers",
    "2",
    "--rate",
    "300",
    "--generator",
    "uniform",
    "--duration",
    "5",
    "--window",
    "2",
    "--ui",
    "off",
];

/// `harness run` of the test job with `flags` and `extra` arguments, its files in a fresh directory.
fn run_job(t: &TestBroker, name: &str, flags: &str, extra: &[&str]) -> (PathBuf, Output) {
    let out = std::env::temp_dir().join(format!("adstream-engine-{name}-{}", std::process::id()));
    let output = t
        .harness_run()
        .args(LIGHT)
        .args(["--job", &job(name, flags), "--job-start-allowance", "2"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run harness");
    (out, output)
}

/// The last line of a run that must have failed with exit 1 (its one-line reason).
fn failure_line(run: &Output) -> String {
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    err.lines().last().unwrap_or_default().to_owned()
}

/// The processes of the test job `name` still running.
fn jobs_left(name: &str) -> Vec<u32> {
    pgrep(&["-f", &format!("engine_job.py .*--tag {}", tag(name))])
}

#[test]
fn a_foreign_job_is_judged_exact_with_its_latency_and_costs() {
    let t = TestBroker::with_topics(2);
    let (out, run) = run_job(&t, "exact", "", &[]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
    let report = run_json(&out, "report.json");
    let v = &report["verification"];
    assert_eq!(v["exact"], true);
    assert_eq!(v["mismatch_count"], 0);
    // Every event the producers delivered is in the recount the answers matched.
    assert_eq!(v["events"], report["events"]["produced"], "{report:#}");
    assert_eq!(v["events"].as_u64(), Some(2 * 300 * 5));
    // One answer per (window, campaign): 3 windows × 10 campaigns.
    assert_eq!(v["results_expected"].as_u64(), Some(30));
    assert_eq!(v["results_read"].as_u64(), Some(30));
    assert!(
        report["latency_ms"]["p90"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    let engine = &report["engine"];
    assert_eq!(engine["name"], "job");
    assert_eq!(engine["records"].as_u64(), Some(30));
    assert!(
        engine["peak_memory_mib"].as_f64().unwrap() > 1.0,
        "{engine}"
    );
    assert!(report["cpu_s"]["job"].as_f64().unwrap() > 0.0, "{report:#}");
    assert!(out.join("report.html").is_file());
    assert_eq!(jobs_left("exact"), Vec::<u32>::new());
}

#[test]
fn a_wrong_job_is_not_exact_and_says_where() {
    let t = TestBroker::with_topics(2);
    let (out, run) = run_job(&t, "dropping", "--drop-every 1000 --twice 1/3", &[]);
    let last = failure_line(&run);
    assert!(
        last.starts_with("error: verification failed: NOT EXACT"),
        "{last}"
    );
    let report = run_json(&out, "report.json");
    let mismatches = report["verification"]["mismatches"].to_string();
    // 3,000 events: every 1,000th left out is an event short somewhere, named with the figures.
    assert!(mismatches.contains(", recount count "), "{mismatches}");
    assert!(
        report["verification"]["mismatch_count"].as_u64().unwrap() >= 2,
        "{mismatches}"
    );
    // Window 1, campaign 3 answered last with one event too many.
    assert!(
        mismatches.contains("window 1 campaign 3: result count "),
        "{mismatches}"
    );
    let counted: u64 = report["verification"]["events"].as_u64().unwrap();
    assert_eq!(counted, 3_000);
    assert_eq!(jobs_left("dropping"), Vec::<u32>::new());
}

#[test]
fn a_job_that_fails_at_start_is_one_line_and_leaves_nothing() {
    let t = TestBroker::with_topics(2);
    let (_, run) = run_job(&t, "fails", "--fail-at-start", &[]);
    let last = failure_line(&run);
    assert!(
        last.starts_with("error: the job `") && last.contains("engine_job.py --fail-at-start"),
        "{last}"
    );
    assert!(last.contains("exit status: 3"), "{last}");
    assert!(last.contains("cannot start: the fault asked for"), "{last}");
    assert_eq!(jobs_left("fails"), Vec::<u32>::new());
}

#[test]
fn a_job_that_never_says_it_reads_times_out_in_one_line() {
    let t = TestBroker::with_topics(2);
    let (_, run) = run_job(&t, "silent", "--never-ready", &["--job-ready-timeout", "3"]);
    let last = failure_line(&run);
    assert!(
        last.starts_with("error: the job wrote no line containing `ready` within 3s"),
        "{last}"
    );
    assert_eq!(jobs_left("silent"), Vec::<u32>::new());
}

#[test]
fn our_own_job_through_the_contract_is_exact() {
    let t = TestBroker::with_topics(2);
    let (out, err) = t.run_exact(
        "engine-adstream",
        &[&LIGHT[..], &["--engine", "adstream"]].concat(),
    );
    let report = run_json(&out, "report.json");
    assert_eq!(report["engine"]["name"], "adstream", "{err}");
    assert_eq!(report["verification"]["events"].as_u64(), Some(3_000));
    assert_eq!(report["verification"]["results_read"].as_u64(), Some(30));
}

/// One reference engine at a time: each takes most of this 2-core machine.
static REFERENCE_ENGINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A reference engine at 2 × 2,000 events/s for 30 s on 2 partitions: the verdict is EXACT, every
/// delivered event is in the recount the answers matched, and the report has its latency.
fn reference_engine_is_exact(engine: &str) {
    let _alone = REFERENCE_ENGINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let t = TestBroker::with_topics(2);
    let (out, err) = t.run_exact(
        &format!("engine-{engine}"),
        &[
            "--producers",
            "2",
            "--rate",
            "2000",
            "--duration",
            "30",
            "--ui",
            "off",
            "--engine",
            engine,
        ],
    );
    let report = run_json(&out, "report.json");
    assert_eq!(report["engine"]["name"], engine, "{err}");
    let v = &report["verification"];
    assert_eq!(v["events"], report["events"]["produced"], "{report:#}");
    // 30 s of 10 s windows, every campaign in each.
    assert_eq!(v["results_expected"].as_u64(), Some(30), "{report:#}");
    assert!(
        report["latency_ms"]["p90"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    assert_eq!(
        report["latency_ms"]["count"].as_u64(),
        Some(30),
        "{report:#}"
    );
    assert!(report["cpu_s"]["job"].as_f64().unwrap() > 0.0, "{report:#}");
}

#[test]
fn spark_the_seeds_sparkjob_is_exact() {
    reference_engine_is_exact("spark");
}

#[test]
fn pathway_is_exact() {
    reference_engine_is_exact("pathway");
}

#[test]
fn bytewax_is_exact() {
    reference_engine_is_exact("bytewax");
}

#[test]
fn compare_runs_one_workload_on_each_engine_and_its_page_opens() {
    let _alone = REFERENCE_ENGINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let t = TestBroker::with_topics(2);
    let out = std::env::temp_dir().join(format!("adstream-compare-{}", std::process::id()));
    let run = std::process::Command::new(adstream_tests::bin("harness"))
        .args(["compare", "--bootstrap", &t.kafka.bootstrap])
        .args(["--engines", "adstream,bytewax", "--repeat", "1"])
        .args([
            "--producers",
            "2",
            "--rate",
            "300",
            "--generator",
            "uniform",
        ])
        .args(["--duration", "5", "--window", "2", "--ui", "off"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run harness compare");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    let table = String::from_utf8_lossy(&run.stdout);
    for engine in ["adstream", "bytewax"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(engine))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(row.contains(" exact "), "{table}");
        assert!(out.join(engine).join("run-0/report.html").is_file());
    }
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let _browser = adstream_tests::runs::driving_a_browser();
    let dom = adstream_tests::browser::dump_dom(&out.join("compare.html"));
    for engine in ["adstream", "bytewax"] {
        let row = dom
            .split(&format!("<tr id=\"engine-{engine}\">"))
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_else(|| panic!("no row of {engine}: {dom}"));
        assert!(row.contains("<td class=\"ok\">exact</td>"), "{row}");
        assert!(
            row.contains(&format!("href=\"{engine}/run-0/report.html\"")),
            "{row}"
        );
    }
    assert!(dom.contains("<svg"), "the plot is inline");
}
