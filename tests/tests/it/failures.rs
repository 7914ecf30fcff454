//! `harness run` when something goes wrong: a producer or a job process dies mid-run, or there is no
//! broker. Each ends with a non-zero exit, a message naming what happened, and no child left running.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adstream_protocol::wire::HEADER_PRODUCER;
use adstream_tests::{TestBroker, bin, pgrep, read_topic};

/// Pids of processes whose command line mentions `needle`.
fn pids_with(needle: &str) -> Vec<u32> {
    pgrep(&["-f", needle])
}

fn start_run(t: &TestBroker, out: &Path) -> Child {
    t.harness_run()
        .args(["--processes", "2"])
        .args(["--rate", "500", "--duration", "60", "--window", "1"])
        // A failed job or producer is restarted by default (recovery.rs); here it must stop the run.
        .args(["--max-restarts", "0"])
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start harness")
}

/// Kills the first process matching `victim` (the harness itself for "harness") once the producers run,
/// with `signal`, then checks how the run ends.
fn kill_mid_run(
    name: &str,
    victim: &str,
    signal: &str,
    expected: &str,
) -> std::process::ExitStatus {
    let t = TestBroker::with_topics(2);
    let out = std::env::temp_dir().join(format!("adstream-kill-{name}-{}", std::process::id()));
    let mut run = start_run(&t, &out);
    let profile = out.join("profile.toml");
    let needle = format!("{victim} --config {}", profile.display());
    // The harness prints `run: …` before it starts any child; then wait for the victim to exist.
    let mut lines = BufReader::new(run.stderr.take().unwrap()).lines();
    lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("run: "))
        .expect("run line");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        if victim == "harness" {
            break run.id();
        }
        if let Some(pid) = pids_with(&needle).first() {
            break *pid;
        }
        assert!(Instant::now() < deadline, "{victim} never started");
        std::thread::yield_now();
    };
    // Let the producers start sending (the job reports readiness before they start).
    let producers = format!("producer --config {}", profile.display());
    while pids_with(&producers).is_empty() {
        assert!(Instant::now() < deadline, "producers never started");
        std::thread::yield_now();
    }
    if victim == "harness" {
        // Interrupt mid-run, once events flow.
        read_topic(
            &t.kafka.bootstrap,
            &t.kafka.events_topic,
            2,
            Duration::from_secs(60),
            |rs| rs.iter().any(|r| r.header(HEADER_PRODUCER).is_some()),
        );
    }
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();

    let said: Vec<String> = lines.map_while(Result::ok).collect();
    let status = run.wait().unwrap();
    let said = said.join("\n");
    assert!(!status.success(), "{status:?}: {said}");
    assert!(!said.is_empty(), "{status:?}: the harness said nothing");
    assert!(said.contains(expected), "{said}");
    let left = pids_with(&out.display().to_string());
    assert!(left.is_empty(), "children left running: {left:?}");
    if victim == "harness" {
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("report.json")).expect("a partial report"),
        )
        .unwrap();
        assert_eq!(report["verification"]["exact"], false);
        assert_eq!(
            report["verification"]["mismatches"][0],
            "interrupted before the run completed: not verified"
        );
        assert!(
            report["events"]["produced"].is_u64() && report["latency_ms"]["p90"].is_f64(),
            "{report}"
        );
    }
    std::fs::remove_dir_all(out).unwrap();
    status
}

/// With no restarts allowed, a producer that dies ends the run.
#[test]
fn a_producer_killed_mid_run_stops_the_run() {
    let status = kill_mid_run(
        "producer",
        "producer",
        "-9",
        "error: producer 0 exited with signal: 9",
    );
    assert_eq!(status.code(), Some(1));
}

/// With no restarts allowed, a job process that dies ends the run.
#[test]
fn a_job_process_killed_mid_run_stops_the_run() {
    let status = kill_mid_run(
        "job",
        "dataflow",
        "-9",
        "error: job 0 exited with signal: 9",
    );
    assert_eq!(status.code(), Some(1));
}

#[test]
fn ctrl_c_stops_every_child_and_writes_a_partial_report() {
    let status = kill_mid_run(
        "interrupt",
        "harness",
        "-INT",
        "error: interrupted: every child process was stopped",
    );
    assert_eq!(status.code(), Some(130));
}

#[test]
fn an_unreachable_broker_is_one_line_within_10s() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bootstrap = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let out = Command::new(bin("harness"))
        .args(["run", "--bootstrap", &bootstrap])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach a Kafka broker at {bootstrap}"
        )),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The job's messages reach the harness with a field renamed (the real `dataflow`, its stdout passed
/// through `sed`): the harness must stop the run naming the field, never read it as a silent 0.
#[test]
fn a_child_line_with_a_renamed_field_fails_the_run_naming_it() {
    let t = TestBroker::with_topics(2);
    let dir = std::env::temp_dir().join(format!("adstream-renamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The harness finds its children next to itself: a copy of it beside the real producer and a job
    // whose every `processed` field is renamed `processd`.
    let harness = dir.join("harness");
    std::fs::copy(bin("harness"), &harness).unwrap();
    std::os::unix::fs::symlink(bin("producer"), dir.join("producer")).unwrap();
    let job = dir.join("dataflow");
    std::fs::write(
        &job,
        format!(
            "#!/bin/bash\nexec {} \"$@\" > >(exec sed -u 's/\"processed\":/\"processd\":/')\n",
            bin("dataflow").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&job, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = dir.join("out");
    let run = Command::new(&harness)
        .args([
            "run",
            "--bootstrap",
            &t.kafka.bootstrap,
            "--partitions",
            "2",
        ])
        .args(["--rate", "500", "--duration", "30", "--window", "1"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "error: job 0 wrote a line the harness cannot read: unknown field `processd`"
        ),
        "{err}"
    );
    assert!(
        pids_with(&out.display().to_string()).is_empty(),
        "children left running"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
