//! Bad input mid-run: invalid UTF-8, broken JSON, a missing field, a wrong type, campaign 999 and a
//! ~900 KB record are written into the events topic while the job runs. The run completes, the results
//! stay exact for the valid events, and all six records are in the dead-letter topic, unchanged, with
//! their reasons. And records that are well-formed events but break the run's validity rules (a
//! `window_id` that does not match its time, campaign 11) are rejected by the job and left out of every
//! recount alike, so the run is still exact.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use adstream_kafka::settings::producer_config;
use adstream_protocol::wire::{HEADER_PRODUCER, HEADER_REASON};
use adstream_tests::{
    TestBroker, lines_until, read_event_records, read_topic, recount, rules_of_run, run_json,
    verify_results,
};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::Value;

const VALID: &str = r#"{"user_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01","page_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02","ad_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03","ad_type":"video","event_type":"click","event_time_ns":1700000000000000000,"window_id":3,"ip_address":"10.0.0.1","campaign_id":4,"produce_time":1700000000000}"#;

fn bad_records() -> Vec<(Vec<u8>, &'static str)> {
    vec![
        (b"\xff\xfe\xfd not text".to_vec(), "invalid UTF-8"),
        (br#"{"user_id": "6f1c"#.to_vec(), "invalid JSON"),
        (
            VALID.replace(r#""ad_type":"video","#, "").into_bytes(),
            "missing field",
        ),
        (
            VALID
                .replace(r#""campaign_id":4"#, r#""campaign_id":"4""#)
                .into_bytes(),
            "wrong type",
        ),
        (
            VALID
                .replace(r#""campaign_id":4"#, r#""campaign_id":999"#)
                .into_bytes(),
            "unknown campaign: 999",
        ),
        (vec![b'x'; 900 * 1024], "oversized record"),
    ]
}

/// A `harness run` of 2 producers × 1000 events/s × 6 s into 4 partitions, 1 s windows, with records
/// written into its events topic by the test mid-run.
struct InjectedRun {
    t: TestBroker,
    out: PathBuf,
    run: Child,
    said: Vec<String>,
    rest: std::thread::JoinHandle<Vec<String>>,
}

impl InjectedRun {
    /// Starts the run and returns once its producers' first events are in the topic.
    fn start(name: &str) -> Self {
        let t = TestBroker::with_topics(4);
        let out = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
        let mut run = t
            .harness_run()
            .args(["--workers", "2"])
            .args([
                "--producers",
                "2",
                "--generator",
                "uniform",
                "--rate",
                "1000",
                "--duration",
                "6",
                "--window",
                "1",
            ])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start harness");
        // The harness says `run: ...` once it has recreated the topics; only then may a client look at
        // them (librdkafka crashes on tansu's metadata for a topic deleted under it).
        let (said, stderr_lines) =
            lines_until(run.stderr.take().unwrap(), |line| line.starts_with("run: "));
        let rest =
            std::thread::spawn(move || stderr_lines.map_while(Result::ok).collect::<Vec<String>>());
        // Mid-run: once the producers' first events are in the topic.
        read_topic(
            &t.kafka.bootstrap,
            &t.kafka.events_topic,
            4,
            Duration::from_secs(60),
            |rs| rs.iter().any(|r| r.header(HEADER_PRODUCER).is_some()),
        );
        Self {
            t,
            out,
            run,
            said,
            rest,
        }
    }

    /// Writes `values` into the events topic without headers, spread over the partitions.
    fn inject(&self, values: &[Vec<u8>]) {
        let producer: BaseProducer = producer_config(&self.t.kafka.connection())
            .create()
            .unwrap();
        for (i, value) in values.iter().enumerate() {
            let record = BaseRecord::<(), [u8]>::to(&self.t.kafka.events_topic)
                .partition(i as i32 % 4)
                .payload(value);
            producer.send(record).map_err(|(e, _)| e).unwrap();
        }
        producer.flush(Duration::from_secs(10)).unwrap();
    }

    /// Waits for the run: it must succeed with every result exact. Returns its summary.json.
    fn succeeds_exactly(mut self) -> (Value, TestBroker, PathBuf) {
        let status = self.run.wait().unwrap();
        self.said.extend(self.rest.join().unwrap());
        let said = self.said.join("\n");
        assert!(status.success(), "{said}");
        assert!(said.contains("verification EXACT"), "{said}");
        let summary = run_json(&self.out, "summary.json");
        let report = run_json(&self.out, "report.json");
        assert_eq!(report["verification"]["exact"], true, "{report}");
        assert_eq!(summary["processed"], summary["produced"], "{summary}");
        // The test's own recount, under the same rules, agrees with the results topic too.
        let records = read_event_records(&self.t.kafka, Duration::from_secs(60), 2);
        let expected = recount(&records, rules_of_run(&self.out));
        assert_eq!(summary["processed"], expected.events(), "{summary}");
        let v = verify_results(&self.t.kafka, &expected, Duration::from_secs(30));
        assert!(v.exact, "{:?}", v.mismatches);
        (summary, self.t, self.out)
    }
}

/// The dead-letter topic once it holds `n` records.
fn dead_letters(t: &TestBroker, n: usize) -> Vec<adstream_tests::ReadRecord> {
    let dead = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.dlq_topic(),
        4,
        Duration::from_secs(30),
        |rs| rs.len() >= n,
    );
    assert_eq!(dead.len(), n);
    dead
}

#[test]
fn bad_records_go_to_the_dead_letter_topic_and_the_run_stays_exact() {
    let run = InjectedRun::start("bad-input");
    let bad = bad_records();
    run.inject(&bad.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>());
    let (summary, t, out) = run.succeeds_exactly();
    assert_eq!(summary["rejected"], 6, "{summary}");
    assert_eq!(summary["late"], 0);

    let dead = dead_letters(&t, 6);
    let mut expected: Vec<(Vec<u8>, &str)> = bad;
    for record in &dead {
        let reason = record.header(HEADER_REASON).expect("a reason header");
        let index = expected
            .iter()
            .position(|(value, _)| *value == record.value)
            .unwrap_or_else(|| panic!("unexpected dead letter with reason {reason:?}"));
        let (_, prefix) = expected.remove(index);
        assert!(
            reason.starts_with(prefix),
            "{reason:?} should start with {prefix:?}"
        );
    }
    let reasons: BTreeSet<String> = dead
        .iter()
        .filter_map(|r| r.header(HEADER_REASON))
        .collect();
    assert_eq!(reasons.len(), 6, "six different reasons: {reasons:?}");
    std::fs::remove_dir_all(out).unwrap();
}

/// Records that are valid JSON events but break a validity rule the job applies with the run's
/// windows: the recount must leave them out as the job does (a bug once: the harness counted
/// a record with a mismatched `window_id`, and called a right run wrong).
#[test]
fn foreign_events_the_rules_reject_are_left_out_of_every_recount() {
    let run = InjectedRun::start("foreign");
    let base_ns = rules_of_run(&run.out)
        .windows()
        .expect("our runs give the base time")
        .base_ns();
    let event = |event_time_ns: u64, window_id: u64, campaign_id: u32| {
        VALID
            .replace(
                "\"event_time_ns\":1700000000000000000",
                &format!("\"event_time_ns\":{event_time_ns}"),
            )
            .replace("\"window_id\":3", &format!("\"window_id\":{window_id}"))
            .replace(
                "\"campaign_id\":4",
                &format!("\"campaign_id\":{campaign_id}"),
            )
            .into_bytes()
    };
    // Window 1 of the run (1 s windows) claiming to be window 7, and campaign 11 in window 1.
    let mismatched = event(base_ns + 1_500_000_000, 7, 3);
    let stranger = event(base_ns + 1_500_000_000, 1, 11);
    run.inject(&[mismatched.clone(), stranger.clone()]);
    let (summary, t, out) = run.succeeds_exactly();
    assert_eq!(summary["rejected"], 2, "{summary}");
    assert_eq!(summary["late"], 0);

    let dead = dead_letters(&t, 2);
    let reason_of = |value: &[u8]| {
        dead.iter()
            .find(|r| r.value == value)
            .and_then(|r| r.header(HEADER_REASON))
            .expect("in the dead-letter topic")
    };
    assert!(
        reason_of(&mismatched).starts_with("inconsistent window: window_id 7 does not match"),
        "{}",
        reason_of(&mismatched)
    );
    assert_eq!(reason_of(&stranger), "unknown campaign: 11");
    std::fs::remove_dir_all(out).unwrap();
}
