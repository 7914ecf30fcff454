//! A broker that goes away (ARCHITECTURE.md, "Fault tolerance"): the broker `harness run` started, with
//! SQLite storage, SIGKILLed mid-run is started again on its address with its data and the run stays
//! exact; with memory storage the run fails at once, saying its events are gone; someone else's broker
//! that goes away fails the run after the liveness limit, not after the clients' minute-long timeouts.
//!
//! The runs with a broker of the harness's own run in a network namespace of their own, where the
//! default broker address is free whatever this machine runs on it.

use std::process::{Command, Stdio};
use std::time::Duration;

use adstream_tests::netns::run_in_own_namespace;
use adstream_tests::{TestBroker, lines_until, pgrep, read_topic, run_json};

#[test]
fn a_crashed_broker_with_sqlite_storage_comes_back_with_its_data_and_the_run_stays_exact() {
    let out = std::env::temp_dir().join(format!("adstream-broker-kill-{}", std::process::id()));
    let run = run_in_own_namespace(
        &out,
        "--broker-storage sqlite --producers 2 --generator uniform --rate 200 --duration 15 \
         --kill broker@5",
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("starting the local broker on 127.0.0.1:9092 (sqlite storage)"),
        "{err}"
    );
    assert!(
        err.contains(
            "the broker exited with signal: 9 (SIGKILL) (injected): restarting it on \
             127.0.0.1:9092 with its data"
        ),
        "{err}"
    );
    // The harness's verification: every event once, every result equal to the recount.
    assert!(err.contains("verification EXACT"), "{err}");
    let report = run_json(&out, "report.json");
    assert_eq!(report["events"]["produced"], 6_000, "{report}");
    assert_eq!(report["events"]["processed"], 6_000, "{report}");
    let faults = report["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{report}");
    let fault = &faults[0];
    assert_eq!(fault["target"], "broker", "{fault}");
    assert_eq!(fault["injected"], true, "{fault}");
    assert!(fault["failed_at_s"].as_f64().unwrap() >= 5.0, "{fault}");
    assert!(fault["caught_up_at_s"].as_f64().is_some(), "{fault}");
    assert!(out.join("broker").join("tansu.db").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_crashed_broker_with_memory_storage_fails_the_run_at_once_saying_the_events_are_gone() {
    let out = std::env::temp_dir().join(format!("adstream-broker-lost-{}", std::process::id()));
    let run = run_in_own_namespace(
        &out,
        "--producers 2 --rate 200 --duration 30 --kill broker@3",
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert_eq!(
        err.lines().last(),
        Some(
            "error: the local broker at 127.0.0.1:9092 exited with signal: 9 (SIGKILL); its \
             storage is memory, so every event it held is gone and the run cannot be exact (run \
             with --broker-storage sqlite to keep them)"
        ),
        "{err}"
    );
    let profile = out.join("profile.toml");
    assert!(pgrep(&["-f", &profile.display().to_string()]).is_empty());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_broker_the_harness_does_not_own_that_goes_away_fails_the_run_within_the_limit() {
    let t = TestBroker::with_topics(2);
    let out = std::env::temp_dir().join(format!("adstream-broker-gone-{}", std::process::id()));
    let mut run = t
        .harness_run()
        .args(["--producers", "2", "--rate", "500", "--duration", "60"])
        .args(["--liveness-timeout-ms", "3000"])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run harness");
    // The topics are fresh once the run says what it runs; once events flow, the broker dies.
    let (_, rest) = lines_until(run.stderr.take().unwrap(), |l| l.starts_with("run: "));
    let said = std::thread::spawn(move || rest.map_while(Result::ok).collect::<Vec<_>>());
    read_topic(
        &t.kafka.bootstrap,
        &t.kafka.events_topic,
        2,
        Duration::from_secs(60),
        |r| r.len() >= 500,
    );
    let killed = Command::new("kill")
        .args(["-KILL", &t.broker.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = run.wait().unwrap();
    let err = said.join().unwrap().join("\n");
    assert_eq!(status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "error: the broker at {} has not answered for ",
            t.kafka.bootstrap
        )) && last.ends_with(" s: gone, hung or cut off"),
        "{err}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}
