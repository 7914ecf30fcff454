//! The live collectors of a run, each a consumer on its own thread:
//! - [`ResultsCollector`]: every result record — every revision — with its Kafka timestamp (the seed's
//!   latency calculator);
//! - [`BrokerProbe`]: the broker's own delivery delay of the events — receive time − `produce_time` of
//!   each 10th event — so a report can separate what the broker costs from what the job adds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::header;
use adstream_profile::profile::KafkaSection;
use adstream_protocol::clock::unix_us;
use adstream_protocol::wire::{HEADER_KIND, WindowResult};
use rdkafka::Message;

use crate::measure::topic_reader::{Next, Partitions, TopicReader, Wait};
use crate::report::latency::{BrokerDelay, LatencyHistogram, Observation};

/// The live collectors of one run.
pub struct RunCollectors {
    /// Every result record.
    pub results: ResultsCollector,
    /// The broker's delivery delay.
    pub probe: BrokerProbe,
}

/// Events between two samples of the broker probe.
const SAMPLE_EVERY: u64 = 10;

/// A result record and its Kafka timestamp (Unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// The result.
    pub result: WindowResult,
    /// When the job handed it to the broker.
    pub record_ms: i64,
}

impl Collected {
    /// Its latency observation.
    pub fn observation(&self) -> Observation {
        let r = &self.result;
        Observation {
            window_id: r.window_id,
            campaign_id: r.campaign_id,
            count: r.count,
            record_ms: self.record_ms,
            max_produce_time: r.max_produce_time,
            emitted_at_ms: r.emitted_at_ms,
            window_end_ms: r.window_end_ms,
        }
    }
}

/// Collects result records.
pub struct ResultsCollector {
    handle: JoinHandle<Vec<Collected>>,
    stop: Arc<AtomicBool>,
    expected: Arc<AtomicU64>,
    seen: Arc<AtomicU64>,
    live: Arc<LiveLatency>,
}

/// What the collector has seen so far, for progress displays.
#[derive(Debug, Default)]
pub struct LiveLatency {
    /// Windows with at least one result.
    pub windows: AtomicU64,
    /// End-to-end latency of the latest result, ms.
    pub last_ms: AtomicU64,
    /// Largest end-to-end latency so far, ms.
    pub max_ms: AtomicU64,
    /// Per window and overall, for the live page.
    pub seen: Mutex<SeenSoFar>,
}

/// The final results seen so far, per window and overall.
#[derive(Debug, Default)]
pub struct SeenSoFar {
    /// Per window.
    pub windows: BTreeMap<u64, WindowSoFar>,
    /// End-to-end latency of every final result.
    pub latency: LatencyHistogram,
}

/// One window's final results seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowSoFar {
    /// Final results (one per campaign).
    pub campaigns: u64,
    /// Largest end-to-end latency, ms.
    pub latency_ms: u64,
    /// When the job emitted the latest, Unix ms.
    pub emitted_at_ms: u64,
    /// When the latest reached the broker, Unix ms.
    pub record_ms: i64,
}

impl SeenSoFar {
    fn take(&mut self, o: &Observation) {
        let latency = o.latency_ms();
        self.latency.record_ms(latency);
        let w = self.windows.entry(o.window_id).or_default();
        w.campaigns += 1;
        w.latency_ms = w.latency_ms.max(latency);
        w.emitted_at_ms = w.emitted_at_ms.max(o.emitted_at_ms);
        w.record_ms = w.record_ms.max(o.record_ms);
    }
}

impl LiveLatency {
    /// Windows with at least one result so far.
    pub fn windows(&self) -> u64 {
        self.windows.load(Ordering::Relaxed)
    }

    /// End-to-end latency of the latest result, ms.
    pub fn last_ms(&self) -> u64 {
        self.last_ms.load(Ordering::Relaxed)
    }

    /// Largest end-to-end latency so far, ms.
    pub fn max_ms(&self) -> u64 {
        self.max_ms.load(Ordering::Relaxed)
    }
}

impl ResultsCollector {
    /// Starts reading the results topic from the beginning.
    pub fn start(kafka: &KafkaSection) -> Result<Self, KafkaError> {
        // Latency is the record's own timestamp, so this reader may wait longer per fetch and spare the
        // broker.
        let mut reader =
            TopicReader::open(kafka, &kafka.results_topic, Partitions::All, Wait::Patient)?;
        let stop = Arc::new(AtomicBool::new(false));
        let expected = Arc::new(AtomicU64::new(u64::MAX));
        let seen = Arc::new(AtomicU64::new(0));
        let live = Arc::new(LiveLatency::default());
        let (s, e, n, l) = (
            Arc::clone(&stop),
            Arc::clone(&expected),
            Arc::clone(&seen),
            Arc::clone(&live),
        );
        let handle = std::thread::spawn(move || {
            let mut observations = Vec::new();
            let mut finals = 0;
            let mut windows = std::collections::BTreeSet::new();
            reader.read_until(&s, Duration::from_secs(5), None, |message| {
                if let Some(o) = collect(message) {
                    if o.result.is_final {
                        let observation = o.observation();
                        let latency = observation.latency_ms();
                        l.seen.lock().expect("live latency lock").take(&observation);
                        l.last_ms.store(latency, Ordering::Relaxed);
                        l.max_ms.fetch_max(latency, Ordering::Relaxed);
                        windows.insert(o.result.window_id);
                        l.windows.store(windows.len() as u64, Ordering::Relaxed);
                        finals += 1;
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    observations.push(o);
                }
                if finals >= e.load(Ordering::Relaxed) {
                    Next::Done
                } else {
                    Next::More
                }
            });
            observations
        });
        Ok(Self {
            handle,
            stop,
            expected,
            seen,
            live,
        })
    }

    /// Latency and windows so far.
    pub fn live(&self) -> &LiveLatency {
        &self.live
    }

    /// The same, shared: it outlives [`ResultsCollector::finish`].
    pub fn live_shared(&self) -> Arc<LiveLatency> {
        Arc::clone(&self.live)
    }

    /// Final results seen so far.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    /// Stops once `expected` final results are in (or the topic stays quiet for 5 s) and returns every
    /// record, revisions too.
    pub fn finish(self, expected: u64) -> Vec<Collected> {
        self.expected.store(expected, Ordering::Relaxed);
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("results collector panicked")
    }
}

fn collect(message: &rdkafka::message::BorrowedMessage<'_>) -> Option<Collected> {
    Some(Collected {
        result: serde_json::from_slice(message.payload()?).ok()?,
        record_ms: message.timestamp().to_millis()?,
    })
}

/// Samples the events topic's delivery delay.
pub struct BrokerProbe {
    handle: JoinHandle<BrokerDelay>,
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<BTreeMap<u64, u64>>>,
}

/// Samples between two refreshes of the live per-window figure.
const LIVE_EVERY: u64 = 50;

/// The unsigned integer after `"key":` in a JSON text (spaces allowed after the colon, as Python's
/// `json.dumps` writes), found without parsing the rest.
fn json_number(value: &[u8], key: &[u8]) -> Option<u64> {
    let at = value.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u64> = value[at..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .map(|d| u64::from(d - b'0'))
        .collect();
    if digits.is_empty() {
        return None;
    }
    digits
        .into_iter()
        .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(d))
}

impl BrokerProbe {
    /// Starts reading the events topic's partition 0 from the beginning; it ends by itself once that
    /// partition holds an end marker from each of `producers` (with none of ours, never), or when
    /// stopped.
    pub fn start(kafka: &KafkaSection, producers: u32) -> Result<Self, KafkaError> {
        // One partition, read like the job reads: the delay is the broker's, and sampling one partition
        // keeps the probe's own load on the broker small (each fetch of a partition costs the local
        // broker time that grows with the partition's length).
        let mut reader = TopicReader::open(
            kafka,
            &kafka.events_topic,
            Partitions::First,
            Wait::LikeTheJob,
        )?;
        let mut ends_missing = u64::from(reader.partitions()) * u64::from(producers);
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let live = Arc::new(Mutex::new(BTreeMap::new()));
        let shown = Arc::clone(&live);
        let handle = std::thread::spawn(move || {
            let mut delay = BrokerDelay::default();
            let mut events = 0u64;
            let mut last_window = None;
            reader.read_until(&s, Duration::ZERO, None, |message| {
                let kind = header(message, HEADER_KIND).flatten();
                match kind {
                    Some(b"end") => ends_missing = ends_missing.saturating_sub(1),
                    Some(_) => {}
                    None => {
                        events += 1;
                        if events % SAMPLE_EVERY == 1 {
                            let now_us = unix_us();
                            let value = message.payload().unwrap_or_default();
                            if let (Some(produced_ms), Some(window)) = (
                                json_number(value, b"\"produce_time\":"),
                                json_number(value, b"\"window_id\":"),
                            ) {
                                let us = now_us.saturating_sub(produced_ms * 1_000);
                                delay.overall.record_us(us);
                                delay.per_window.entry(window).or_default().record_us(us);
                                // The live figures: refreshed now and then, and the previous
                                // window's once the next begins.
                                if events % (SAMPLE_EVERY * LIVE_EVERY) == 1
                                    || last_window != Some(window)
                                {
                                    let mut shown = shown.lock().expect("probe lock");
                                    for w in last_window.into_iter().chain([window]) {
                                        let p90 = delay.per_window[&w].percentiles().p90;
                                        shown.insert(w, p90.round() as u64);
                                    }
                                    last_window = Some(window);
                                }
                            }
                        }
                    }
                }
                if producers > 0 && ends_missing == 0 {
                    Next::Done
                } else {
                    Next::More
                }
            });
            delay
        });
        Ok(Self { handle, stop, live })
    }

    /// Per window so far, the p90 of the broker's delivery delay, ms (refreshed every few hundred
    /// events).
    pub fn live(&self) -> BTreeMap<u64, u64> {
        self.live.lock().expect("probe lock").clone()
    }

    /// Stops (if it has not ended by itself) and returns what it measured.
    pub fn finish(self) -> BrokerDelay {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("broker probe panicked")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_by_key() {
        let v = br#"{"window_id":42,"ip_address":"1.2.3.4","produce_time":1700000000123}"#;
        let spaced = br#"{"window_id": 42, "produce_time": 1700000000123}"#;
        assert_eq!(json_number(spaced, b"\"window_id\":"), Some(42));
        assert_eq!(
            json_number(spaced, b"\"produce_time\":"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            json_number(v, b"\"produce_time\":"),
            Some(1_700_000_000_123)
        );
        assert_eq!(json_number(v, b"\"window_id\":"), Some(42));
        assert_eq!(json_number(v, b"\"campaign_id\":"), None);
        assert_eq!(
            json_number(br#"{"window_id":"x"}"#, b"\"window_id\":"),
            None
        );
    }
}
