//! The `harness` binary as a user meets it: an absent broker and configuration mistakes. Its topic
//! commands on a real broker are tested in `tests/tests/topics.rs`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use adstream_harness::services::broker::free_port;

fn harness(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .output()
        .expect("run harness");
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_unreachable_broker_is_one_line_and_a_failure_within_10s() {
    let bootstrap = format!("127.0.0.1:{}", free_port().unwrap());
    for action in ["list", "create", "clear"] {
        let (out, elapsed) = harness(&["topics", action, "--bootstrap", &bootstrap]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "error: cannot reach a Kafka broker at {bootstrap}"
            )),
            "{err}"
        );
        assert!(
            elapsed < Duration::from_secs(10),
            "{action} took {elapsed:?}"
        );
    }
}

#[test]
fn configuration_mistakes_exit_2_with_one_line() {
    for (args, needle) in [
        (
            &["topics", "list", "--partitions", "0"][..],
            "`kafka.partitions` (--partitions) must be at least 1",
        ),
        (
            &["run", "--window", "0"][..],
            "`window.size` (--window) must be at least 1",
        ),
        (
            &["run", "--rate", "fast"][..],
            "invalid value 'fast' for '--rate",
        ),
        (&["topics", "shred"][..], "invalid value 'shred'"),
        (
            &["run", "--kill", "job1@3"][..],
            "expected job:I@SECONDS, producer:I@SECONDS or broker@SECONDS (e.g. job:1@12.5), got \"job1@3\"",
        ),
        (
            &["run", "--kill", "job:2@3", "--processes", "2"][..],
            "kill:job:2@3: the job has 2 process(es), numbered from 0",
        ),
        (
            &["run", "--fault", "stop:job:1@3+x"][..],
            "expected kill|stop|cut:TARGET@SECONDS[+SECONDS] with TARGET job:I, producer:I or \
             broker (e.g. stop:job:1@10+15), got \"stop:job:1@3+x\"",
        ),
        (
            &["run", "--kill", "producer:2@3", "--producers", "2"][..],
            "kill:producer:2@3: the run has 2 producer(s), numbered from 0",
        ),
        (
            &["run", "--producers", "0"][..],
            "`producers.count` (--producers) must be at least 1 in exact mode",
        ),
        (
            &["capacity", "--producers", "0", "--mode", "bounded"][..],
            "`producers.count` (--producers) must be at least 1 for a capacity search",
        ),
        (
            &["verify", "--kafka-property", "acks=0"][..],
            "`acks = 0` is refused",
        ),
    ] {
        let (out, elapsed) = harness(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(elapsed < Duration::from_secs(10));
    }
}
