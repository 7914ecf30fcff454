//! Events from producers that are not ours (ARCHITECTURE.md, "Windows and watermarks"): the seed
//! project's kind of Python producer — kafka-python, unpaced, a batch of events per logical second
//! from `int(time.time())`, no headers — into a job in bounded mode that is not told the base time.
//! Every (window, campaign) result is written once the input goes quiet, equal to the recount, with
//! the producer's own window bounds; a record that contradicts the base the others imply goes to
//! the dead-letter topic; and `harness run` measures such producers end to end.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use adstream_kafka::settings::producer_config;
use adstream_protocol::messages::ChildMessage;
use adstream_protocol::validity::EventRules;
use adstream_protocol::wire::{Event, HEADER_REASON, HEADER_SOURCE_PARTITION, WindowResult};
use adstream_tests::python::{SeedProducer, run_seed_pair};
use adstream_tests::{
    ReadRecord, TestBroker, bin, job_summary_of, lines_until, read_topic, recount_with_late,
    rules_of_run, run_json,
};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;

/// Window size of these tests, seconds.
const WINDOW_S: u64 = 2;
/// Silence after which the job closes every window, ms.
const IDLE_CLOSE_MS: u64 = 2_000;

/// A `dataflow` in bounded mode without a base time that exits once its input is quiet, started once
/// its workers read their partitions.
fn start_job(t: &TestBroker) -> Child {
    let mut job = Command::new(bin("dataflow"))
        .args(["--bootstrap", &t.kafka.bootstrap, "--partitions", "4"])
        .args(["--workers", "2", "--mode", "bounded", "--producers", "0"])
        .args(["--window", &WINDOW_S.to_string()])
        .args([
            "--idle-close-ms",
            &IDLE_CLOSE_MS.to_string(),
            "--exit-when-idle",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the job");
    let mut ready = 0;
    let mut lines = BufReader::new(job.stdout.as_mut().unwrap()).lines();
    while ready < 2 {
        let line = lines.next().expect("the job's messages").unwrap();
        if matches!(ChildMessage::parse(&line), Ok(ChildMessage::Ready(_))) {
            ready += 1;
        }
    }
    job
}

/// Every record of the events topic once it holds `n`.
fn events(t: &TestBroker, n: usize) -> Vec<ReadRecord> {
    read_topic(
        &t.kafka.bootstrap,
        &t.kafka.events_topic,
        4,
        Duration::from_secs(60),
        |rs| rs.len() >= n,
    )
}

/// The results topic once it holds `n` records.
fn results(t: &TestBroker, n: usize) -> Vec<WindowResult> {
    read_topic(
        &t.kafka.bootstrap,
        &t.kafka.results_topic,
        4,
        Duration::from_secs(30),
        |rs| rs.len() >= n,
    )
    .iter()
    .map(|r| serde_json::from_slice(&r.value).expect("result JSON"))
    .collect()
}

/// Writes `value` into partition 0 of the events topic, without headers.
fn send_to_partition_0(t: &TestBroker, value: &[u8]) {
    let producer: BaseProducer = producer_config(&t.kafka.connection()).create().unwrap();
    producer
        .send(
            BaseRecord::<(), [u8]>::to(&t.kafka.events_topic)
                .partition(0)
                .payload(value),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
}

#[test]
fn a_seed_producer_needs_no_base_time_and_every_window_closes_when_it_stops() {
    let t = TestBroker::with_topics(4);
    let rules = EventRules::inferring_base(WINDOW_S * 1_000_000_000);
    let producer = SeedProducer {
        seconds: 9,
        per_second: 500,
        window_s: WINDOW_S,
        base: None,
        seed: 7,
    };
    let said = {
        let bootstrap = t.kafka.bootstrap.clone();
        let topic = t.kafka.events_topic.clone();
        std::thread::spawn(move || {
            producer
                .command(&bootstrap, &topic)
                .stderr(Stdio::inherit())
                .output()
                .expect("run the Python producer")
        })
    };
    // The job starts once the input has (its silence counts from its start), mid-run; then, as
    // partition 0 holds events, a record stating a window 7 later than the time it carries, which
    // contradicts the base the events before it imply.
    let first = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.events_topic,
        4,
        Duration::from_secs(60),
        |rs| rs.iter().any(|r| r.partition == 0),
    );
    let job = start_job(&t);
    let job_ready_ms = adstream_protocol::clock::unix_ms();
    let mut bad: Event = serde_json::from_slice(
        &first
            .iter()
            .find(|r| r.partition == 0)
            .expect("an event in partition 0")
            .value,
    )
    .unwrap();
    bad.window_id += 7;
    let bad = serde_json::to_vec(&bad).unwrap();
    send_to_partition_0(&t, &bad);

    // Once window 0 has its results, an event for it (a copy of one the producer sent, consistent
    // with the base) is late: dead-lettered, counted as late, and left out of every count.
    results(&t, 1);
    let late = first
        .iter()
        .filter(|r| r.partition == 0)
        .find(|r| serde_json::from_slice::<Event>(&r.value).is_ok_and(|e| e.window_id == 0))
        .expect("an event of window 0 in partition 0")
        .value
        .clone();
    send_to_partition_0(&t, &late);
    let injected_ms = adstream_protocol::clock::unix_ms();
    let Output { status, stdout, .. } = said.join().unwrap();
    assert!(status.success(), "the Python producer failed");
    let printed: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(printed["acked"], 4_500, "{printed}");
    let base_ms = printed["base"].as_u64().unwrap() * 1_000;

    // The job ends on its own once the input is quiet, every window written.
    let job_out = job.wait_with_output().unwrap();
    assert!(job_out.status.success(), "{:?}", job_out.status);
    let summary = job_summary_of(&job_out.stdout).expect("the job's summary");
    assert_eq!(
        (
            summary.counts.processed,
            summary.counts.rejected,
            summary.counts.late
        ),
        (4_500, 1, 1)
    );
    let dead = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.dlq_topic(),
        4,
        Duration::from_secs(30),
        |rs| rs.len() >= 2,
    );
    assert_eq!(dead.len(), 2);

    let expected = recount_with_late(&events(&t, 4_502), rules, &dead);
    // The bare consumer's baseline reads such a topic too: to its end, as there are no end markers.
    let drained = Command::new(bin("harness"))
        .args([
            "drain",
            "--bootstrap",
            &t.kafka.bootstrap,
            "--partitions",
            "4",
        ])
        .args(["--producers", "0", "--mode", "bounded"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run harness drain");
    assert!(drained.status.success(), "{:?}", drained.status);
    let drained: Value = serde_json::from_slice(&drained.stdout).unwrap();
    assert_eq!(
        (drained["records"].as_u64(), drained["events"].as_u64()),
        (Some(4_502), Some(4_502))
    );
    assert_eq!(
        (expected.events(), expected.late()),
        (4_500, 1),
        "the recount rejects the same record and leaves out the one declared late"
    );
    let written = results(&t, expected.tallies().len());
    let v = expected.compare(&written);
    assert!(v.exact, "{:?}", v.mismatches);
    assert_eq!(
        v.windows_checked, 5,
        "logical seconds 0..9 in windows of 2 s"
    );
    // Quiet from the last event produced, the job's start or the last record injected, whichever
    // came last.
    let quiet_from = written
        .iter()
        .map(|r| r.max_produce_time)
        .max()
        .unwrap()
        .max(job_ready_ms)
        .max(injected_ms);
    for r in &written {
        // The producer's own windows: its base, inferred, is its whole second.
        let start = base_ms + r.window_id * WINDOW_S * 1_000;
        assert_eq!(
            (r.window_start_ms, r.window_end_ms),
            (start, start + WINDOW_S * 1_000)
        );
        assert!(
            r.emitted_at_ms <= quiet_from + IDLE_CLOSE_MS + 1_000,
            "window {} written {} ms after the input went quiet",
            r.window_id,
            r.emitted_at_ms - quiet_from
        );
    }

    let reason = |r: &ReadRecord| r.header(HEADER_REASON).unwrap();
    let letter = |value: &[u8]| {
        dead.iter()
            .find(|d| d.value == value)
            .expect("dead-lettered")
    };
    let (contradicting, late_letter) = (letter(&bad), letter(&late));
    assert!(
        reason(contradicting).starts_with("inconsistent window: window_id")
            && reason(contradicting).contains("but the partition's earlier events put it in"),
        "{}",
        reason(contradicting)
    );
    assert!(
        reason(late_letter).starts_with("late: window 0 already closed"),
        "{}",
        reason(late_letter)
    );
    for letter in [contradicting, late_letter] {
        assert_eq!(letter.header(HEADER_SOURCE_PARTITION).as_deref(), Some("0"));
    }
}

#[test]
fn harness_run_measures_producers_it_does_not_start() {
    let t = TestBroker::with_topics(4);
    let out = std::env::temp_dir().join(format!("adstream-external-{}", std::process::id()));
    let mut run = t
        .harness_run()
        .args(["--workers", "2", "--producers", "0", "--mode", "bounded"])
        .args(["--window", &WINDOW_S.to_string()])
        .args(["--idle-close-ms", &IDLE_CLOSE_MS.to_string()])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start harness");
    let (mut said, lines) = lines_until(run.stderr.take().unwrap(), |line| {
        line.starts_with("waiting for events in `events`")
    });
    // Two producers of the seed's kind, sharing their base as the seed's two processes do.
    run_seed_pair(&t.kafka, 6, 500, WINDOW_S);
    said.extend(lines.map_while(Result::ok));
    let status = run.wait().unwrap();
    let said = said.join("\n");
    assert!(status.success(), "{said}");
    assert!(said.contains("verification EXACT"), "{said}");

    let report = run_json(&out, "report.json");
    // Two unpaced producers run seconds of event time apart, so with the default out-of-orderness
    // bound some events of the slower one may come after their window closed: late, dead-lettered,
    // and left out of the comparison. Every event is accounted for, in a result or declared late.
    let v = &report["verification"];
    assert_eq!(v["exact"], true, "{report}");
    let late = report["events"]["late"].as_u64().unwrap();
    assert_eq!(v["late_excluded"], late, "{report}");
    assert_eq!(v["events"].as_u64().unwrap() + late, 6_000, "{report}");
    assert_eq!(report["events"]["processed"], v["events"], "{report}");
    assert_eq!(report["events"]["rejected"], 0, "{report}");
    assert_eq!(report["events"]["produced"], 0, "{report}");
    let latency = &report["latency_ms"];
    assert_eq!(
        latency["count"], report["verification"]["results_read"],
        "{report}"
    );
    assert!(latency["p90"].as_f64().unwrap() > 0.0, "{report}");
    // The recount of the test agrees, under the run's rules: the base inferred, not given.
    let rules = rules_of_run(&out);
    assert_eq!(rules.windows(), None);
    let dead = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.dlq_topic(),
        4,
        Duration::from_secs(30),
        |rs| rs.len() as u64 >= late,
    );
    let expected = recount_with_late(&events(&t, 6_000), rules, &dead);
    assert_eq!(expected.late(), late);
    let v = expected.compare(&results(&t, expected.tallies().len()));
    assert!(v.exact, "{:?}", v.mismatches);
    let _ = std::fs::remove_dir_all(&out);
}
