//! Two real producer processes against the real local broker: everything arrives exactly once, with
//! watermarks and end markers on every partition.

use std::collections::{BTreeMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use adstream_protocol::clock::unix_ms;
use adstream_tests::{EventsRecord, TestBroker, bin, read_events, read_topic};

/// Producer `id` of a uniform 2,000 events/s over 4 partitions for `seconds`, one-second windows.
fn producer(t: &TestBroker, id: u32, base_ms: u64, seconds: u64) -> Command {
    let mut producer = Command::new(bin("producer"));
    producer
        .args(["--bootstrap", &t.kafka.bootstrap])
        .args(["--topic", &t.kafka.events_topic, "--partitions", "4"])
        .args(["--generator", "uniform", "--rate", "2000"])
        .args(["--duration", &seconds.to_string()])
        .args(["--window", "1", "--seed", "5", "--id", &id.to_string()])
        .args(["--base-time-ms", &base_ms.to_string()]);
    producer
}

#[test]
fn two_uniform_producers_deliver_every_event_once_with_end_markers() {
    let t = TestBroker::with_topics(4);
    let base_ms = unix_ms() + 300;
    let producers: Vec<_> = (0..2)
        .map(|id| producer(&t, id, base_ms, 3).output().expect("run producer"))
        .collect();
    for (id, output) in producers.iter().enumerate() {
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "producer {id}: {err}");
        assert!(
            err.starts_with(&format!("producer {id}: sent 6000 events"))
                && err.contains("delivered 6000, failed 0"),
            "{err}"
        );
    }

    every_event_once_with_end_markers(&t, base_ms, 2, 6_000);
}

/// A producer killed mid-run (SIGKILL, once the topic holds some of its events) and started again with
/// `--resume` finds where its events end in each partition and sends only the rest: every event is
/// in the topic exactly once, with one end marker per partition.
#[test]
fn a_killed_producer_resumed_sends_every_event_exactly_once() {
    let t = TestBroker::with_topics(4);
    let base_ms = unix_ms() + 300;
    let mut first = producer(&t, 0, base_ms, 4)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start producer");
    // Killed once the topic holds some of its events (and it has more to send).
    read_topic(
        &t.kafka.bootstrap,
        &t.kafka.events_topic,
        4,
        Duration::from_secs(60),
        |r| r.len() >= 1_000,
    );
    first.kill().unwrap();
    first.wait().unwrap();

    let again = producer(&t, 0, base_ms, 4)
        .arg("--resume")
        .output()
        .expect("run producer");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains("producer 0: resuming: partition 0 up to seq"),
        "{err}"
    );
    let summary = err.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("producer 0: sent 8000 events")
            && summary.contains("delivered 8000, failed 0, resumed with "),
        "{err}"
    );
    every_event_once_with_end_markers(&t, base_ms, 1, 8_000);
}

/// The events topic holds events 0..`events` of each of `producers` producers exactly once, each
/// producer's end marker once on every partition with its count there, and watermarks everywhere;
/// every event in its one-second window from `base_ms`.
fn every_event_once_with_end_markers(t: &TestBroker, base_ms: u64, producers: u32, events: u64) {
    let records = read_events(&t.kafka, Duration::from_secs(60), producers);

    let mut seen = HashSet::new();
    let mut per_producer_partition: BTreeMap<(u32, i32), u64> = BTreeMap::new();
    for (&partition, rs) in &records {
        let mut ends = Vec::new();
        for r in rs {
            match r {
                EventsRecord::Event {
                    producer,
                    seq,
                    event,
                } => {
                    assert!(
                        seen.insert((*producer, *seq)),
                        "duplicate ({producer}, {seq})"
                    );
                    assert!(
                        ends.iter()
                            .all(|e: &adstream_protocol::wire::EndMarker| e.producer != *producer),
                        "producer {producer} sent an event after its end marker"
                    );
                    *per_producer_partition
                        .entry((*producer, partition))
                        .or_default() += 1;
                    assert_eq!(
                        event.window_id,
                        (event.event_time_ns - base_ms * 1_000_000) / 1_000_000_000
                    );
                }
                EventsRecord::End(end) => ends.push(*end),
                EventsRecord::Watermark(_) | EventsRecord::Other => {}
            }
        }
        let mut enders: Vec<u32> = ends.iter().map(|e| e.producer).collect();
        enders.sort_unstable();
        assert_eq!(
            enders,
            (0..producers).collect::<Vec<_>>(),
            "one end marker per producer on partition {partition}"
        );
        for end in ends {
            assert_eq!(
                end.events,
                per_producer_partition[&(end.producer, partition)],
                "end marker count"
            );
        }
        assert!(
            rs.iter().any(|r| matches!(r, EventsRecord::Watermark(_))),
            "watermarks on {partition}"
        );
    }
    assert_eq!(seen.len() as u64, u64::from(producers) * events);
    for producer in 0..producers {
        let expected: HashSet<(u32, u64)> = (0..events).map(|seq| (producer, seq)).collect();
        assert!(expected.is_subset(&seen), "producer {producer} has gaps");
    }
}
