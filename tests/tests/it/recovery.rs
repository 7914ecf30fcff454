//! A job that fails mid-run recovers and the results stay exactly once (ARCHITECTURE.md, "Fault
//! tolerance"): `harness run` kills job processes at chosen times (`--kill`), restarts the whole
//! job each time while the producers keep producing, and the results topic still holds one record
//! per (window, campaign), each equal to the independent recount.

use std::time::Duration;

use adstream_tests::{
    TestBroker, read_event_records, recount, rules_of_run, run_json, verify_results,
};

#[test]
fn two_kills_of_a_two_by_two_job_recover_with_exactly_one_right_result_per_window() {
    let t = TestBroker::with_topics(4);
    let out = std::env::temp_dir().join(format!("adstream-recovery-{}", std::process::id()));
    let run = t
        .harness_run()
        .args(["--processes", "2", "--workers", "2", "--producers", "2"])
        .args(["--generator", "mmpp", "--rate", "3000", "--duration", "40"])
        .args(["--kill", "job:1@12", "--kill", "job:0@27"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run harness");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");

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

    // Every record of the results topic, not the last per key: a duplicate would be a mismatch.
    let records = read_event_records(&t.kafka, Duration::from_secs(60), 2);
    let expected = recount(&records, rules_of_run(&out));
    assert_eq!(report["events"]["processed"], expected.events(), "{report}");
    let v = verify_results(&t.kafka, &expected, Duration::from_secs(30));
    assert!(v.exact, "{:?}", v.mismatches);
    assert_eq!(v.results_read, v.results_expected);
    std::fs::remove_dir_all(out).unwrap();
}
