//! A run's fault schedule (`--fault`): a job process, a producer and the broker each stopped (SIGSTOP)
//! for a while and continued, and a job process cut off its peers (iptables, inside the run's own
//! network namespace) for a while, all shorter than the liveness limit. Nothing has to be restarted: the run
//! rides them out, stays exact, and the report lists each fault with when it was injected, when its
//! target was continued and when the run had caught up.

use adstream_tests::netns::run_in_own_namespace;
use adstream_tests::run_json;

#[test]
fn stops_shorter_than_the_limit_are_ridden_out_exact_and_each_is_reported() {
    let out = std::env::temp_dir().join(format!("adstream-fault-schedule-{}", std::process::id()));
    let run = run_in_own_namespace(
        &out,
        "--processes 2 --producers 2 --partitions 4 --generator uniform --rate 500 --duration 19 \
         --fault stop:job:1@3+3 --fault stop:producer:0@7+2 --fault stop:broker@10+2 \
         --fault cut:job:0@13+2",
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
    for fault in [
        "stop:job:1@3+3",
        "stop:producer:0@7+2",
        "stop:broker@10+2",
        "cut:job:0@13+2",
    ] {
        assert!(err.contains(&format!("injecting {fault}")), "{err}");
    }
    let report = run_json(&out, "report.json");
    assert_eq!(report["events"]["produced"], 19_000, "{report}");
    assert_eq!(report["events"]["processed"], 19_000, "{report}");
    let faults = report["faults"].as_array().expect("faults");
    let expected = [
        ("job 1", "stopped (SIGSTOP) for 3.0 s", 3.0, 6.0),
        ("producer 0", "stopped (SIGSTOP) for 2.0 s", 7.0, 9.0),
        ("broker", "stopped (SIGSTOP) for 2.0 s", 10.0, 12.0),
        (
            "job 0",
            "cut off (its packets dropped) for 2.0 s",
            13.0,
            15.0,
        ),
    ];
    assert_eq!(faults.len(), expected.len(), "{report}");
    for (fault, (target, cause, at, until)) in faults.iter().zip(expected) {
        assert_eq!(fault["target"], target, "{fault}");
        assert_eq!(fault["cause"], cause, "{fault}");
        assert_eq!(fault["injected"], true, "{fault}");
        assert!(fault["failed_at_s"].as_f64().unwrap() >= at, "{fault}");
        assert!(fault["resumed_at_s"].as_f64().unwrap() >= until, "{fault}");
        assert!(
            fault["detected_at_s"].is_null(),
            "nothing had to be done: {fault}"
        );
        assert!(
            fault["restarted_at_s"].is_null(),
            "nothing restarted: {fault}"
        );
        let caught_up = fault["caught_up_at_s"].as_f64().expect("caught up");
        assert!(
            caught_up >= fault["resumed_at_s"].as_f64().unwrap(),
            "{fault}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// A job process cut off its peers for good (`--fault cut:job:1@3`; process 1 reaches process 0's
/// port from a port of its own, so the cut is of its links, not of its hostfile port): found silent,
/// the job restarted on fresh ports, one record for the cut and the restart, exact.
#[test]
fn a_job_process_cut_for_good_is_found_and_the_job_restarted_exact() {
    let out = std::env::temp_dir().join(format!("adstream-fault-cut-{}", std::process::id()));
    let run = run_in_own_namespace(
        &out,
        "--processes 2 --producers 2 --generator uniform --rate 500 --duration 12 \
         --liveness-timeout-ms 3000 --fault cut:job:1@3",
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
    let report = run_json(&out, "report.json");
    assert_eq!(report["events"]["processed"], 12_000, "{report}");
    let faults = report["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{report}");
    let fault = &faults[0];
    assert_eq!(fault["target"], "job 1", "{fault}");
    let cause = fault["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("cut off (its packets dropped) for good; then silent for "),
        "{fault}"
    );
    let silent = fault["detected_at_s"].as_f64().unwrap() - fault["failed_at_s"].as_f64().unwrap();
    assert!(silent >= 2.999, "{fault}");
    assert!(fault["restarted_at_s"].as_f64().is_some(), "{fault}");
    assert!(fault["caught_up_at_s"].as_f64().is_some(), "{fault}");
    std::fs::remove_dir_all(&out).unwrap();
}
