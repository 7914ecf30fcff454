//! Bad input mid-run: invalid UTF-8, broken JSON, a missing field, a wrong type, campaign 999 and a
//! ~900 KB record are written into the events topic while the job runs. The run completes, the results
//! stay exact for the valid events, and all six records are in the dead-letter topic, unchanged, with
//! their reasons.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use adstream_kafka::settings::producer_config;
use adstream_protocol::wire::{HEADER_PRODUCER, HEADER_REASON};
use adstream_tests::{
    TestBroker, bin, read_event_records, read_topic, recount, rules_of_run, verify_results,
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

#[test]
fn bad_records_go_to_the_dead_letter_topic_and_the_run_stays_exact() {
    let t = TestBroker::with_topics(4);
    let out = std::env::temp_dir().join(format!("adstream-bad-input-{}", std::process::id()));
    let mut run = Command::new(bin("harness"))
        .args([
            "run",
            "--bootstrap",
            &t.kafka.bootstrap,
            "--partitions",
            "4",
            "--workers",
            "2",
        ])
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

    // The harness says `run: ...` once it has recreated the topics; only then may a client look at them
    // (librdkafka crashes on tansu's metadata for a topic deleted under it).
    let mut stderr_lines = BufReader::new(run.stderr.take().unwrap()).lines();
    let mut said = Vec::new();
    for line in stderr_lines.by_ref() {
        let line = line.unwrap();
        let started = line.starts_with("run: ");
        said.push(line);
        if started {
            break;
        }
    }
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
    let producer: BaseProducer = producer_config(&t.kafka.bootstrap).create().unwrap();
    for (i, (value, _)) in bad_records().iter().enumerate() {
        let record = BaseRecord::<(), [u8]>::to(&t.kafka.events_topic)
            .partition(i as i32 % 4)
            .payload(value);
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let status = run.wait().unwrap();
    said.extend(rest.join().unwrap());
    assert!(status.success(), "{}", said.join("\n"));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rejected"], 6, "{summary}");
    assert_eq!(summary["late"], 0);
    assert_eq!(summary["processed"], summary["produced"]);

    let dead = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.dlq_topic(),
        4,
        Duration::from_secs(30),
        |rs| rs.len() >= 6,
    );
    assert_eq!(dead.len(), 6);
    let mut expected: Vec<(Vec<u8>, &str)> = bad_records();
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

    let records = read_event_records(&t.kafka, Duration::from_secs(60), 2);
    let expected = recount(&records, rules_of_run(&out));
    assert_eq!(summary["processed"], expected.events(), "{summary}");
    let v = verify_results(&t.kafka, &expected, Duration::from_secs(30));
    assert!(v.exact, "{:?}", v.mismatches);
    std::fs::remove_dir_all(out).unwrap();
}
