//! A job that fails mid-run recovers and the results stay exactly once (ARCHITECTURE.md, "Fault
//! tolerance"): `harness run` kills job processes at chosen times (`--kill`), restarts the whole
//! job each time while the producers keep producing, and the results topic still holds one record
//! per (window, campaign), each equal to the independent recount.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adstream_protocol::wire::{HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ};
use adstream_tests::{
    TestBroker, pgrep, read_event_records, read_topic, recount, rules_of_run, run_json,
    verify_results,
};

/// Every event is in the events topic once, the run's report counts every event, and the results topic — every record of it, not the last per
/// key: a duplicate would be a mismatch — equals the independent recount; then the run's files go.
fn results_are_exact(t: &TestBroker, out: &Path, report: &serde_json::Value) {
    let records = read_event_records(&t.kafka, Duration::from_secs(60), 2);
    let mut once = std::collections::HashSet::new();
    for r in records.iter().filter(|r| r.header(HEADER_KIND).is_none()) {
        let id = (r.header(HEADER_PRODUCER), r.header(HEADER_SEQ));
        assert!(
            once.insert(id.clone()),
            "event {id:?} is in the events topic twice"
        );
    }
    let expected = recount(&records, rules_of_run(out));
    assert_eq!(report["events"]["processed"], expected.events(), "{report}");
    let v = verify_results(&t.kafka, &expected, Duration::from_secs(30));
    assert!(v.exact, "{:?}", v.mismatches);
    assert_eq!(v.results_read, v.results_expected);
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn two_kills_of_a_two_by_two_job_recover_with_exactly_one_right_result_per_window() {
    let t = TestBroker::with_topics(4);
    let (out, _) = t.run_exact(
        "recovery",
        &[
            "--processes",
            "2",
            "--workers",
            "2",
            "--producers",
            "2",
            "--generator",
            "mmpp",
            "--rate",
            "3000",
            "--duration",
            "40",
            "--kill",
            "job:1@12",
            "--kill",
            "job:0@27",
        ],
    );

    let report = run_json(&out, "report.json");
    let faults = report["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 2, "{report}");
    for (fault, (target, at)) in faults.iter().zip([("job 1", 12.0), ("job 0", 27.0)]) {
        assert_eq!(fault["target"], target, "{fault}");
        assert_eq!(fault["injected"], true);
        let failed = fault["failed_at_s"].as_f64().unwrap();
        assert!(failed >= at, "{fault}");
        let caught_up = fault["caught_up_at_s"].as_f64().expect("caught up");
        assert!(
            caught_up >= fault["restarted_at_s"].as_f64().unwrap(),
            "{fault}"
        );
        assert!(fault["events_reread"].as_u64().unwrap() > 0, "{fault}");
    }
    assert!(
        report["windows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["disturbed"] == true),
        "the windows the kills fell in are marked"
    );
    assert!(report["latency_disturbed_ms"]["count"].as_u64().unwrap() > 0);

    results_are_exact(&t, &out, &report);
}

/// A job process that hangs (SIGSTOP, never continued) sends the harness nothing: after the liveness
/// limit the harness kills it and restarts the job, and the results stay exactly once. The report
/// says the fault was detected, after at least the limit of silence.
#[test]
fn a_hung_job_process_is_detected_and_the_job_restarted_with_exact_results() {
    let t = TestBroker::with_topics(2);
    let out = std::env::temp_dir().join(format!("adstream-hung-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let stderr = std::fs::File::create(out.join("stderr.txt")).unwrap();
    let mut run = t
        .harness_run()
        .args(["--processes", "2", "--producers", "2"])
        .args(["--rate", "2000", "--duration", "20"])
        .args(["--liveness-timeout-ms", "3000"])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("run harness");
    let profile = out.join("profile.toml");
    let victim = format!("dataflow --config {} --process 1", profile.display());
    let producers = format!("producer --config {}", profile.display());
    // Once the producers send, events flow through both job processes.
    let deadline = Instant::now() + Duration::from_secs(60);
    while pgrep(&["-f", &producers]).is_empty() {
        assert!(Instant::now() < deadline, "producers never started");
        std::thread::yield_now();
    }
    read_topic(
        &t.kafka.bootstrap,
        &t.kafka.events_topic,
        2,
        Duration::from_secs(60),
        |r| r.len() >= 1_000,
    );
    let pid = *pgrep(&["-f", &victim]).first().expect("job process 1");
    let stopped = Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());

    let status = run.wait().unwrap();
    let err = std::fs::read_to_string(out.join("stderr.txt")).unwrap();
    assert!(status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
    // Found by the harness (job 1 silent) or by job 0 (its peer silent): either way job 1 is named.
    assert!(
        err.contains("job 1 sent ") && err.contains("(dead, hung or cut off)"),
        "{err}"
    );
    let report = run_json(&out, "report.json");
    let faults = report["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{report}");
    let fault = &faults[0];
    assert_eq!(fault["target"], "job 1", "{fault}");
    assert_eq!(fault["injected"], false, "{fault}");
    assert!(
        fault["cause"].as_str().unwrap().starts_with("silent for"),
        "{fault}"
    );
    let silent = fault["detected_at_s"].as_f64().unwrap() - fault["failed_at_s"].as_f64().unwrap();
    assert!(silent >= 2.999, "{fault}");
    assert!(fault["caught_up_at_s"].as_f64().is_some(), "{fault}");

    results_are_exact(&t, &out, &report);
}

/// A producer killed mid-run is restarted by the harness and resumes where its stored events end: the
/// run goes on, every event is in the topic once, the results are exact, and the report lists the
/// fault with the producer back on its schedule.
#[test]
fn a_killed_producer_is_restarted_and_resumes_with_every_event_once() {
    let t = TestBroker::with_topics(2);
    let (out, err) = t.run_exact(
        "producer-kill",
        &[
            "--producers",
            "2",
            "--generator",
            "uniform",
            "--rate",
            "2000",
            "--duration",
            "12",
            "--kill",
            "producer:0@4",
        ],
    );
    assert!(
        err.contains("producer 0 exited with signal: 9 (SIGKILL) (injected): restarting it"),
        "{err}"
    );
    let report = run_json(&out, "report.json");
    let faults = report["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{report}");
    let fault = &faults[0];
    assert_eq!(fault["target"], "producer 0", "{fault}");
    assert_eq!(fault["injected"], true, "{fault}");
    assert!(fault["failed_at_s"].as_f64().unwrap() >= 4.0, "{fault}");
    let caught_up = fault["caught_up_at_s"].as_f64().expect("caught up");
    assert!(
        caught_up >= fault["restarted_at_s"].as_f64().unwrap(),
        "{fault}"
    );
    assert_eq!(report["events"]["produced"], 48_000, "{report}");

    results_are_exact(&t, &out, &report);
}
