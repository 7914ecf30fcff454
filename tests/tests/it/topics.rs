//! `harness topics create|list|clear` on a real broker.

use std::process::{Command, Output};

use adstream_tests::{EventsRecord, TestBroker, bin, read_events};

fn harness(args: &[&str]) -> Output {
    Command::new(bin("harness"))
        .args(args)
        .output()
        .expect("run harness")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The partition count `list` shows for `topic`.
fn listed(listing: &str, topic: &str) -> Option<u32> {
    listing.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.first() == Some(&topic)).then(|| fields[1].parse().unwrap())
    })
}

/// Runs one unpaced producer of 300 uniform events with the given id.
fn produce(bootstrap: &str, id: &str) {
    let out = Command::new(bin("producer"))
        .args([
            "--bootstrap",
            bootstrap,
            "--rate",
            "300",
            "--duration",
            "1",
            "--unpaced",
        ])
        .args(["--generator", "uniform", "--id", id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn topics_are_created_listed_and_cleared() {
    let t = TestBroker::with_topics(1);
    let bootstrap = t.kafka.bootstrap.as_str();
    let out = harness(&[
        "topics",
        "create",
        "--bootstrap",
        bootstrap,
        "--partitions",
        "3",
        "--events-topic",
        "ev",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "created ev, ev-dlq; kept results (already there)"
    );

    let listing = stdout(&harness(&["topics", "list", "--bootstrap", bootstrap]));
    assert_eq!(listed(&listing, "ev"), Some(3), "{listing}");
    assert_eq!(listed(&listing, "ev-dlq"), Some(3), "{listing}");
    assert_eq!(listed(&listing, "events"), Some(1), "{listing}");
    assert_eq!(
        listed(&listing, "results"),
        Some(1),
        "results existed already: kept"
    );

    // Fill `events`, clear it with a new partition count, fill it again: only the new records remain.
    produce(bootstrap, "0");
    let out = harness(&[
        "topics",
        "clear",
        "--bootstrap",
        bootstrap,
        "--partitions",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "cleared events, results, events-dlq (2 partitions)"
    );
    let listing = stdout(&harness(&["topics", "list", "--bootstrap", bootstrap]));
    assert_eq!(listed(&listing, "events"), Some(2), "{listing}");
    assert_eq!(
        listed(&listing, "ev"),
        Some(3),
        "other topics are untouched"
    );

    produce(bootstrap, "7");
    let mut kafka = t.kafka.clone();
    kafka.partitions = 2;
    let records = read_events(&kafka, std::time::Duration::from_secs(30), 1);
    let mut events = 0;
    for r in records.values().flatten() {
        match r {
            EventsRecord::Event { producer, .. } => {
                assert_eq!(*producer, 7, "a record from before the clear survived");
                events += 1;
            }
            EventsRecord::End(end) => assert_eq!(end.producer, 7),
            EventsRecord::Watermark(w) => assert_eq!(w.producer, 7),
            EventsRecord::Other => panic!("unexpected record"),
        }
    }
    assert_eq!(events, 300);

    // A different partition count for an existing topic is named as the problem.
    let out = harness(&[
        "topics",
        "create",
        "--bootstrap",
        bootstrap,
        "--partitions",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("topic `events` has 2 partitions, not 5"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn events_topics_say_how_large_a_batch_they_take() {
    use adstream_kafka::admin::{create_topic, max_message_bytes};
    use adstream_kafka::settings::{
        EVENTS_BATCH_BYTES, EVENTS_TOPIC_MAX_MESSAGE_BYTES, EventsTopic, admin_config,
    };
    use adstream_profile::client::Connection;
    use rdkafka::admin::{AdminClient, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;

    let t = TestBroker::with_topics(2);
    let admin: AdminClient<DefaultClientContext> =
        admin_config(&Connection::plain(&t.kafka.bootstrap))
            .create()
            .unwrap();
    let plain = "made-elsewhere";
    create_topic(&admin, &NewTopic::new(plain, 2, TopicReplication::Fixed(1))).unwrap();
    let described = |topic: &str| max_message_bytes(&admin, topic);
    assert_eq!(
        described(&t.kafka.events_topic),
        Some(EVENTS_TOPIC_MAX_MESSAGE_BYTES)
    );
    // The local broker reports only what a topic was created with; so does a producer's choice.
    assert_eq!(described(plain), None);
    let batch = |topic: &str| {
        EventsTopic {
            partitions: 2,
            max_message_bytes: described(topic),
        }
        .batch_bytes()
    };
    assert_eq!(batch(&t.kafka.events_topic), EVENTS_BATCH_BYTES);
    assert_eq!(batch(plain), 1_000_000);
}
