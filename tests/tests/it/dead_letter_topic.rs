//! The job creates its dead-letter topic when it is missing, as `harness topics create` would (the
//! seed's own tools create only the events and results topics), and with `--no-create-dlq` says in one
//! line that it is missing instead.

use std::process::Command;

use adstream_harness::services::broker::LocalBroker;
use adstream_harness::services::topics::Topics;
use adstream_kafka::admin::create_topic;
use adstream_kafka::settings::admin_config;
use adstream_profile::profile::KafkaSection;
use adstream_protocol::clock::unix_ms;
use adstream_tests::bin;
use rdkafka::admin::{AdminClient, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

/// Creates `names` with two partitions each on `bootstrap`.
fn create(bootstrap: &str, names: &[&str]) {
    let admin: AdminClient<DefaultClientContext> =
        admin_config(&adstream_profile::client::Connection::plain(bootstrap))
            .create()
            .unwrap();
    for name in names {
        create_topic(&admin, &NewTopic::new(name, 2, TopicReplication::Fixed(1))).unwrap();
    }
}

#[test]
fn a_missing_dead_letter_topic_is_created_unless_told_not_to() {
    let broker = LocalBroker::start_on_free_port().unwrap();
    let bootstrap = broker.address().to_owned();
    create(&bootstrap, &["events", "results", "other", "other-results"]);
    let base = (unix_ms() + 300).to_string();
    let produce = Command::new(bin("producer"))
        .args(["--bootstrap", &bootstrap, "--rate", "20", "--duration", "1"])
        .args(["--window", "1", "--base-time-ms", &base])
        .output()
        .unwrap();
    assert!(produce.status.success());

    // The job over the events of that producer, with `extra` flags.
    let dataflow = |extra: &[&str]| {
        Command::new(bin("dataflow"))
            .args([
                "--bootstrap",
                &bootstrap,
                "--producers",
                "1",
                "--window",
                "1",
            ])
            .args(["--base-time-ms", &base])
            .args(extra)
            .output()
            .unwrap()
    };
    let job = dataflow(&[]);
    let err = String::from_utf8_lossy(&job.stderr);
    assert!(job.status.success(), "{err}");
    assert!(
        err.contains("created the dead-letter topic `events-dlq` (2 partitions)"),
        "{err}"
    );
    let kafka = KafkaSection {
        bootstrap: bootstrap.clone(),
        ..KafkaSection::default()
    };
    let listed = Topics::connect(&kafka).unwrap().list().unwrap();
    assert!(
        listed
            .iter()
            .any(|t| t.name == "events-dlq" && t.partitions == 2),
        "{listed:?}"
    );

    let refused = dataflow(&[
        "--no-create-dlq",
        "--events-topic",
        "other",
        "--results-topic",
        "other-results",
    ]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: topic `other-dlq` does not exist"),
        "{err}"
    );
}
