//! Nanoseconds per event for each JSON decoder on each layout of the events topic: 400,000 distinct
//! events, each decoded into the job's `Event`, three rounds (see Cargo.toml for why this is apart).

use std::time::Instant;

use adstream_protocol::wire::Event;

/// The job's fast path, the very file the job compiles.
#[path = "../../../dataflow/src/core/canonical_event.rs"]
#[allow(dead_code)]
mod canonical_event;

const EVENTS: u64 = 400_000;

/// Our producers' bytes: serde_json's compact output of distinct events.
fn ours() -> Vec<String> {
    let sample: Event = serde_json::from_str(
        r#"{"user_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01","page_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02","ad_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03","ad_type":"video","event_type":"click","event_time_ns":1700000000000000000,"window_id":3,"ip_address":"10.0.0.1","campaign_id":4,"produce_time":1700000000000}"#,
    )
    .expect("the sample event");
    (0..EVENTS)
        .map(|i| {
            let mut e = sample.clone();
            e.user_id = uuid::Uuid::from_u128(
                u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834),
            );
            e.event_time_ns += i * 12_345;
            e.campaign_id = (i % 10) as u32;
            serde_json::to_string(&e).expect("serialises")
        })
        .collect()
}

/// Python's json.dumps of the same fields in the same order: a space after each `:` and `,`.
fn seeds(ours: &[String]) -> Vec<String> {
    ours.iter()
        .map(|c| c.replace(",\"", ", \"").replace("\":", "\": "))
        .collect()
}

/// The seed's spacing with the fields in reverse order: what the fast path leaves to serde.
fn reversed(ours: &[String]) -> Vec<String> {
    ours.iter()
        .map(|c| {
            let value: serde_json::Value = serde_json::from_str(c).expect("JSON");
            let object = value.as_object().expect("an object");
            let fields: Vec<String> = object
                .iter()
                .rev()
                .map(|(k, v)| format!("\"{k}\": {v}"))
                .collect();
            format!("{{{}}}", fields.join(", "))
        })
        .collect()
}

/// Nanoseconds per event of `decode` over `layout`, as text: "steps aside" when it declined any.
fn time(layout: &[String], mut decode: impl FnMut(&str) -> Option<Event>) -> String {
    let start = Instant::now();
    let decoded = layout.iter().filter_map(|s| decode(s)).count();
    let ns = start.elapsed().as_nanos() as f64 / layout.len() as f64;
    if decoded == layout.len() {
        format!("{ns:.0} ns")
    } else {
        "steps aside".to_owned()
    }
}

fn main() {
    let ours = ours();
    let (seeds, reversed) = (seeds(&ours), reversed(&ours));
    for (name, layout) in [("ours", &ours), ("seed's", &seeds), ("reversed", &reversed)] {
        for round in 1..=3 {
            let serde = time(layout, |s| serde_json::from_str(s).ok());
            let sonic = time(layout, |s| sonic_rs::from_str(s).ok());
            let mut buffer = Vec::new();
            let simd = time(layout, |s| {
                buffer.clear();
                buffer.extend_from_slice(s.as_bytes());
                simd_json::serde::from_slice(&mut buffer).ok()
            });
            let fast = time(layout, |s| canonical_event::parse(s.as_bytes()));
            println!(
                "{name:>8}, round {round}, per event: serde_json {serde}, sonic-rs {sonic}, simd-json {simd}, the job's fast path {fast}"
            );
        }
    }
}
