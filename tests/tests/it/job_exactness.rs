//! The whole pipeline on the real local broker: `harness run` with 2 job processes × 2 workers from a
//! generated loopback hostfile, 4 partitions, 2 producers. Every (window, campaign) result must equal an
//! independent recount of the events topic, with nothing missing, extra or duplicated — also after the
//! job's processes run again over the same topics.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use adstream_protocol::exactness::Recount;

use adstream_tests::{
    TestBroker, bin, job_summary_of, read_event_records, recount, rules_of_run, run_json,
    verify_results,
};

fn exact_run(generator: &str) {
    let t = TestBroker::with_topics(4);
    let out =
        std::env::temp_dir().join(format!("adstream-exact-{generator}-{}", std::process::id()));
    let run = t
        .harness_run()
        .args(["--processes", "2", "--workers", "2", "--producers", "2"])
        .args([
            "--generator",
            generator,
            "--rate",
            "2000",
            "--duration",
            "4",
            "--window",
            "1",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run harness");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "harness run failed: {stderr}");
    let hostfile = std::fs::read_to_string(out.join("hostfile")).expect("generated hostfile");
    assert_eq!(
        hostfile
            .lines()
            .filter(|l| l.starts_with("127.0.0.1:"))
            .count(),
        2
    );

    let summary = run_json(&out, "summary.json");
    let records = read_event_records(&t.kafka, Duration::from_secs(60), 2);
    let expected = recount(&records, rules_of_run(&out));
    let produced = expected.events();
    assert_eq!(summary["produced"], produced, "{summary}");
    assert_eq!(summary["processed"], produced, "{summary}");
    assert_eq!(summary["rejected"], 0);
    assert_eq!(summary["late"], 0);
    assert_eq!(
        summary["results"],
        expected.tallies().len() as u64,
        "one result per (window, campaign) with events"
    );
    assert_eq!(
        summary["job"].as_array().unwrap().len(),
        2,
        "two job processes reported"
    );

    let v = verify_results(&t.kafka, &expected, Duration::from_secs(30));
    assert!(v.exact, "{:?}", v.mismatches);
    if generator == "uniform" {
        a_job_run_again_writes_no_result_twice(&t, &out, &expected);
    }
    std::fs::remove_dir_all(out).unwrap();
}

/// The job's processes started again over the same topics, as a restarted job would be: they read
/// every event again and recompute every window, but every result is already in the results topic, so
/// they write none, and the topic still holds exactly one result per (window, campaign).
fn a_job_run_again_writes_no_result_twice(t: &TestBroker, out: &Path, expected: &Recount) {
    let profile = out.join("profile.toml");
    let processes: Vec<_> = (0..2)
        .map(|process| {
            Command::new(bin("dataflow"))
                .arg("--config")
                .arg(&profile)
                .args(["--process", &process.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start dataflow")
        })
        .collect();
    for child in processes {
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{err}");
        let summary = job_summary_of(&output.stdout).expect("a job summary");
        assert_eq!(summary.counts.results, 0, "{err}");
        assert!(summary.counts.processed > 0);
    }
    let v = verify_results(&t.kafka, expected, Duration::from_secs(30));
    assert!(v.exact, "{:?}", v.mismatches);
}

#[test]
fn uniform_traffic_on_two_processes_of_two_workers_is_exact() {
    exact_run("uniform");
}

#[test]
fn bursty_mmpp_traffic_on_two_processes_of_two_workers_is_exact() {
    exact_run("mmpp");
}
