//! The `producer` binary as a user meets it: dry runs, configuration mistakes, an absent broker.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use adstream_protocol::Event;

fn producer(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_producer"))
        .args(args)
        .output()
        .expect("run producer");
    (output, started.elapsed())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn dry_run(seed: &str) -> Vec<Event> {
    let (output, _) = producer(&[
        "--dry-run",
        "--unpaced",
        "--base-time-ms",
        "1700000000000",
        "--rate",
        "400",
        "--duration",
        "3",
        "--generator",
        "mmpp",
        "--window",
        "1",
        "--seed",
        seed,
        "--id",
        "1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut event: Event = serde_json::from_str(line).expect("an event per line");
            assert!(event.produce_time > 1_700_000_000_000);
            event.produce_time = 0;
            event
        })
        .collect()
}

#[test]
fn a_dry_run_writes_seeded_events_as_json_lines() {
    let a = dry_run("11");
    let b = dry_run("11");
    let c = dry_run("12");
    assert!(a.len() > 300, "about 1200 events expected, got {}", a.len());
    assert_eq!(a, b, "same seed, same events apart from produce_time");
    assert_ne!(a, c);
    let base = 1_700_000_000_000_000_000u64;
    for e in &a {
        assert!(e.event_time_ns >= base && e.event_time_ns < base + 3_000_000_000);
        assert_eq!(e.window_id, (e.event_time_ns - base) / 1_000_000_000);
        assert!((1..=10).contains(&e.campaign_id));
    }
}

#[test]
fn the_summary_is_one_line_on_stderr() {
    let (output, _) = producer(&[
        "--dry-run",
        "--unpaced",
        "--rate",
        "100",
        "--duration",
        "2",
        "--generator",
        "uniform",
    ]);
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 200);
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("producer 0: sent 200 events in "), "{err}");
    assert!(err.contains("delivered 200, failed 0, unpaced"), "{err}");
}

/// Asserts exit code 2 and one line of stderr that contains every `needle`.
fn assert_config_error(args: &[&str], needles: &[&str]) {
    let (output, elapsed) = producer(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    }
    assert!(elapsed < Duration::from_secs(10));
}

#[test]
fn configuration_mistakes_are_one_line_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("adstream-producer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unknown = dir.join("unknown.toml");
    std::fs::write(&unknown, "[producers]\nrat = 5\n").unwrap();
    let wrong_type = dir.join("type.toml");
    std::fs::write(&wrong_type, "[kafka]\npartitions = \"four\"\n").unwrap();
    let zero = dir.join("zero.toml");
    std::fs::write(&zero, "[producers]\nrate = 0\n").unwrap();

    assert_config_error(
        &["--config", unknown.to_str().unwrap()],
        &["`producers.rat`", "unknown key"],
    );
    assert_config_error(
        &["--config", wrong_type.to_str().unwrap()],
        &["`kafka.partitions`", "invalid type"],
    );
    assert_config_error(
        &["--config", zero.to_str().unwrap()],
        &["`producers.rate`", "at least 1"],
    );
    assert_config_error(&["--rate", "0"], &["`producers.rate` (--rate)"]);
    assert_config_error(&["--generator", "zipf"], &["--generator", "zipf"]);
    assert_config_error(
        &["--bootstrap", "nowhere"],
        &["`kafka.bootstrap`", "HOST:PORT"],
    );
    assert_config_error(
        &["--config", "/nonexistent.toml"],
        &["cannot read config file /nonexistent.toml"],
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unreachable_broker_is_one_line_and_a_failure_within_10s() {
    // Nothing listens on a port we just bound and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bootstrap = format!("127.0.0.1:{port}");
    let (output, elapsed) =
        producer(&["--bootstrap", &bootstrap, "--duration", "1", "--rate", "10"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach a Kafka broker at {bootstrap}"
        )),
        "{err}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
