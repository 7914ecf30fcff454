//! `harness verify` on its own: exact after a clean run; a tampered results topic is not exact, the
//! mismatches are listed and the exit is non-zero.

use std::process::Command;
use std::time::Duration;

use adstream_kafka::settings::producer_config;
use adstream_protocol::wire::WindowResult;
use adstream_tests::{TestBroker, bin, read_topic};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

#[test]
fn verify_passes_a_clean_run_and_names_what_is_wrong_in_a_tampered_one() {
    let t = TestBroker::with_topics(2);
    let out = std::env::temp_dir().join(format!("adstream-verify-{}", std::process::id()));
    let run = t
        .harness_run()
        .args(["--rate", "500"])
        .args(["--duration", "3", "--window", "1", "--generator", "uniform"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The run's profile gives verify the base time and window size that decide each event's window.
    let profile = out.join("profile.toml");
    let verify = || {
        Command::new(bin("harness"))
            .arg("verify")
            .arg("--config")
            .arg(&profile)
            .args(["--bootstrap", &t.kafka.bootstrap, "--producers", "2"])
            .output()
            .unwrap()
    };
    let without_base = Command::new(bin("harness"))
        .args(["verify", "--bootstrap", &t.kafka.bootstrap])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&without_base.stderr);
    assert_eq!(without_base.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(
            "error: invalid configuration: `producers.base_time_ms` (--base-time-ms) must be given"
        ),
        "{err}"
    );
    let clean = verify();
    let err = String::from_utf8_lossy(&clean.stderr);
    assert!(clean.status.success(), "{err}");
    assert!(
        err.contains("exact: 30 results for 3 windows equal a recount of 3000 events"),
        "{err}"
    );

    // Add a second result for an existing (window, campaign) with a wrong count, and one for a campaign
    // that never had events.
    let results = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.results_topic,
        2,
        Duration::from_secs(30),
        |rs| rs.len() >= 30,
    );
    let mut wrong: WindowResult = serde_json::from_slice(&results[0].value).unwrap();
    wrong.count += 1;
    let mut stranger = wrong.clone();
    stranger.window_id = 77;
    let producer: BaseProducer = producer_config(&t.kafka.connection()).create().unwrap();
    for r in [&wrong, &stranger] {
        let value = serde_json::to_vec(r).unwrap();
        let key = WindowResult::key(r.window_id, r.campaign_id);
        producer
            .send(
                BaseRecord::to(&t.kafka.results_topic)
                    .key(&key)
                    .payload(&value),
            )
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let tampered = verify();
    let err = String::from_utf8_lossy(&tampered.stderr);
    assert_eq!(tampered.status.code(), Some(1), "{err}");
    // The stranger also states window 0's bounds for window 77: the base time says otherwise.
    assert!(err.contains("error: not exact: 5 mismatches"), "{err}");
    let campaign = wrong.campaign_id;
    for needle in [
        format!(
            "mismatch: window {} campaign {campaign}: 2 records of revision 0",
            wrong.window_id
        ),
        format!(
            "mismatch: window {} campaign {campaign}: 2 final results",
            wrong.window_id
        ),
        format!("mismatch: window 77 campaign {campaign}: extra result"),
        format!("mismatch: window 77 campaign {campaign}: bounds "),
        format!(
            "mismatch: window {} campaign {campaign} revision 0: result [count",
            wrong.window_id
        ),
    ] {
        assert!(err.contains(&needle), "{needle:?} not in {err}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}
