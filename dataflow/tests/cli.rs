//! The `dataflow` binary as a user meets it when something is wrong: one line, a non-zero exit, fast.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn dataflow(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_dataflow"))
        .args(args)
        .output()
        .expect("run dataflow");
    (output, started.elapsed())
}

fn assert_one_line_failure(args: &[&str], code: i32, needle: &str) {
    let (output, elapsed) = dataflow(args);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(output.stdout.is_empty(), "no readiness line on failure");
}

#[test]
fn an_unreachable_broker_is_one_line_within_10s() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bootstrap = format!("127.0.0.1:{port}");
    assert_one_line_failure(
        &["--bootstrap", &bootstrap, "--base-time-ms", "1"],
        1,
        &format!("cannot reach a Kafka broker at {bootstrap}"),
    );
}

#[test]
fn configuration_mistakes_are_one_line_with_exit_2() {
    assert_one_line_failure(&[], 2, "exact mode needs the run's base time");
    assert_one_line_failure(
        &["--base-time-ms", "1", "--processes", "2"],
        2,
        "--processes 2 needs --hostfile",
    );
    assert_one_line_failure(
        &["--base-time-ms", "1", "--workers", "0"],
        2,
        "`job.workers` (--workers)",
    );
    assert_one_line_failure(
        &["--base-time-ms", "1", "--process", "1"],
        2,
        "`job.process` (--process)",
    );
    assert_one_line_failure(&["--mode", "guess"], 2, "invalid value 'guess'");
    assert_one_line_failure(
        &["--base-time-ms", "1", "--hostfile", "/nonexistent"],
        2,
        "cannot read hostfile",
    );
}
