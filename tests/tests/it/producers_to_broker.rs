//! Two real producer processes against the real local broker: everything arrives exactly once, with
//! watermarks and end markers on every partition.

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::time::Duration;

use adstream_protocol::clock::unix_ms;
use adstream_tests::{EventsRecord, TestBroker, bin, read_events};

#[test]
fn two_uniform_producers_deliver_every_event_once_with_end_markers() {
    let t = TestBroker::with_topics(4);
    let base_ms = unix_ms() + 300;
    let producers: Vec<_> = (0..2)
        .map(|id| {
            Command::new(bin("producer"))
                .args([
                    "--bootstrap",
                    &t.kafka.bootstrap,
                    "--topic",
                    &t.kafka.events_topic,
                ])
                .args([
                    "--partitions",
                    "4",
                    "--generator",
                    "uniform",
                    "--rate",
                    "2000",
                    "--duration",
                    "3",
                ])
                .args(["--window", "1", "--seed", "5"])
                .args([
                    "--id",
                    &id.to_string(),
                    "--base-time-ms",
                    &base_ms.to_string(),
                ])
                .output()
                .expect("run producer")
        })
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

    let records = read_events(&t.kafka, Duration::from_secs(60), 2);

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
        let mut producers: Vec<u32> = ends.iter().map(|e| e.producer).collect();
        producers.sort_unstable();
        assert_eq!(
            producers,
            [0, 1],
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
    assert_eq!(seen.len(), 12_000);
    for producer in 0..2 {
        let expected: HashSet<(u32, u64)> = (0..6_000).map(|seq| (producer, seq)).collect();
        assert!(expected.is_subset(&seen), "producer {producer} has gaps");
    }
}
