//! The broker probe: the broker's delivery delay of the events — receive time − `produce_time` of
//! each 10th event of partition 0, read like the job reads — so a report can separate what the
//! broker costs from what the job adds.
//!
//! It reads only around each window's end ([`ReadingTimes`]) and holds no consumer in between: a
//! reader that polls like the job costs the local broker a listing of the partition's batches for
//! every batch it fetches, and the probe fetched as often as the job's reader (BENCHMARKS.md "The
//! broker's work per event"). Each time it reads it starts at the partition's end and samples only
//! events produced after it started, whose delay is the broker's alone: what it skipped is not read
//! (catching up on it made bursts of fetches just before each window's close, the moment that
//! matters, and cost capacity).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::ordered::header;
use adstream_profile::profile::Profile;
use adstream_protocol::clock::{unix_ms, unix_us};
use adstream_protocol::wire::HEADER_KIND;
use rdkafka::Message;
use rdkafka::message::BorrowedMessage;

use crate::measure::topic_reader::{Next, TopicReader};
use crate::report::latency::BrokerDelay;

/// Events between two samples.
const SAMPLE_EVERY: u64 = 10;

/// Samples between two refreshes of the live per-window figure.
const LIVE_EVERY: u64 = 50;

/// When the probe reads, in Unix ms: from [`ReadingTimes::BEFORE_CLOSE_MS`] before each window's end
/// to [`ReadingTimes::AFTER_CLOSE_MS`] after it — the delivery of the records that close a window
/// is what the end-to-end latency waits for — and, in windows longer than
/// [`ReadingTimes::LONG_MS`], also the first [`ReadingTimes::SAMPLE_MS`] of every `LONG_MS` since
/// the run's base, so that a long window is sampled through. It does not read before the base; without
/// a known base it always reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadingTimes {
    base_ms: Option<u64>,
    size_ms: u64,
}

impl ReadingTimes {
    /// Reading starts this long before a window's end: time to open a consumer, and more than a
    /// second of measuring before the close.
    pub const BEFORE_CLOSE_MS: u64 = 1_500;
    /// Reading goes on this long after a window's end: the closing records' delivery.
    pub const AFTER_CLOSE_MS: u64 = 500;
    /// Windows longer than this are also sampled between their ends.
    pub const LONG_MS: u64 = 10_000;
    /// How long each such sample reads.
    pub const SAMPLE_MS: u64 = 2_000;
    /// A pause no longer than this is not taken: closing and opening a consumer would cost more.
    pub const SHORTEST_PAUSE_MS: u64 = 1_000;

    /// The reading times of a run whose windows of `size_ms` start at `base_ms`.
    pub fn new(base_ms: Option<u64>, size_ms: u64) -> Self {
        Self { base_ms, size_ms }
    }

    /// Those of `profile`'s run.
    pub fn of(profile: &Profile) -> Self {
        Self::new(
            profile.producers.base_time_ms,
            profile.window.size_ns() / 1_000_000,
        )
    }

    /// Whether a probe reading at `now_ms` pauses, and until when: `None` inside its reading times,
    /// or when the next begins within [`ReadingTimes::SHORTEST_PAUSE_MS`].
    pub fn pause_until(&self, now_ms: u64) -> Option<u64> {
        let base = self.base_ms?;
        let Some(since) = now_ms.checked_sub(base) else {
            // Before the base no event exists yet.
            return (base - now_ms > Self::SHORTEST_PAUSE_MS).then_some(base);
        };
        let size = self.size_ms;
        let into_window = since % size;
        if into_window < Self::AFTER_CLOSE_MS || into_window + Self::BEFORE_CLOSE_MS >= size {
            return None;
        }
        let mut next = since - into_window + size - Self::BEFORE_CLOSE_MS;
        if size > Self::LONG_MS {
            let into_sample = since % Self::LONG_MS;
            if into_sample < Self::SAMPLE_MS {
                return None;
            }
            next = next.min(since - into_sample + Self::LONG_MS);
        }
        (next - since > Self::SHORTEST_PAUSE_MS).then_some(base + next)
    }
}

/// Samples the events topic's delivery delay.
pub struct BrokerProbe {
    handle: JoinHandle<BrokerDelay>,
    stop: Arc<AtomicBool>,
    live: Arc<Mutex<BTreeMap<u64, u64>>>,
}

/// What the probe's thread keeps across its readers.
struct Sampling {
    delay: BrokerDelay,
    /// Events read.
    events: u64,
    /// Only events produced from this Unix ms on are sampled: those the current reader can have
    /// received as they arrived.
    from_ms: u64,
    last_window: Option<u64>,
    live: Arc<Mutex<BTreeMap<u64, u64>>>,
}

impl Sampling {
    /// Takes one record, sampling every 10th event's delay; whether it sampled.
    fn take(&mut self, message: &BorrowedMessage<'_>) -> bool {
        if header(message, HEADER_KIND).flatten().is_some() {
            return false;
        }
        self.events += 1;
        self.events % SAMPLE_EVERY == 1 && self.sample(message)
    }

    fn sample(&mut self, message: &BorrowedMessage<'_>) -> bool {
        let now_us = unix_us();
        let value = message.payload().unwrap_or_default();
        let (Some(produced_ms), Some(window)) = (
            json_number(value, b"\"produce_time\":"),
            json_number(value, b"\"window_id\":"),
        ) else {
            return true;
        };
        if produced_ms < self.from_ms {
            return true;
        }
        let us = now_us.saturating_sub(produced_ms * 1_000);
        self.delay.overall.record_us(us);
        self.delay
            .per_window
            .entry(window)
            .or_default()
            .record_us(us);
        // The live figures: refreshed now and then, and the previous window's once the next begins.
        if self.events % (SAMPLE_EVERY * LIVE_EVERY) == 1 || self.last_window != Some(window) {
            let mut shown = self.live.lock().expect("probe lock");
            for w in self.last_window.into_iter().chain([window]) {
                if let Some(histogram) = self.delay.per_window.get(&w) {
                    shown.insert(w, histogram.percentiles().p90.round() as u64);
                }
            }
            self.last_window = Some(window);
        }
        true
    }
}

impl BrokerProbe {
    /// Starts reading the events topic's partition 0 of `profile`'s run at its [`ReadingTimes`],
    /// until stopped.
    pub fn start(profile: &Profile) -> Result<Self, KafkaError> {
        let kafka = profile.kafka.clone();
        let times = ReadingTimes::of(profile);
        // The first reader now, so that a broker or topic that is not there is told at once.
        let first = TopicReader::first_partition_at_end(&kafka, &kafka.events_topic)?;
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(Mutex::new(BTreeMap::new()));
        let mut sampling = Sampling {
            delay: BrokerDelay::default(),
            events: 0,
            from_ms: unix_ms(),
            last_window: None,
            live: Arc::clone(&live),
        };
        let s = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut reader = Some(first);
            loop {
                if let Some(until_ms) = times.pause_until(unix_ms()) {
                    reader = None;
                    if !pause(until_ms, &s) {
                        break;
                    }
                }
                let r = match reader.as_mut() {
                    Some(r) => r,
                    None => {
                        sampling.from_ms = unix_ms();
                        match TopicReader::first_partition_at_end(&kafka, &kafka.events_topic) {
                            Ok(r) => reader.insert(r),
                            Err(_) => break,
                        }
                    }
                };
                let mut pausing = false;
                r.read_until(&s, Duration::ZERO, None, |message| {
                    if sampling.take(message) {
                        pausing = times.pause_until(unix_ms()).is_some();
                    }
                    if pausing { Next::Done } else { Next::More }
                });
                if !pausing {
                    break;
                }
            }
            sampling.delay
        });
        Ok(Self { handle, stop, live })
    }

    /// Per window so far, the p90 of the broker's delivery delay, ms (refreshed every few hundred
    /// events).
    pub fn live(&self) -> BTreeMap<u64, u64> {
        self.live.lock().expect("probe lock").clone()
    }

    /// Stops and returns what it measured.
    pub fn finish(self) -> BrokerDelay {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("broker probe panicked")
    }
}

/// Sleeps until Unix ms `until_ms`; false when stopped first.
fn pause(until_ms: u64, stop: &AtomicBool) -> bool {
    /// How often a pause looks at the stop signal.
    const STEP: Duration = Duration::from_millis(50);
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = until_ms.saturating_sub(unix_ms());
        if left == 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(left).min(STEP));
    }
}

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

    #[test]
    fn ten_second_windows_are_read_from_one_and_a_half_seconds_before_each_end_to_half_after() {
        let base = 1_700_000_000_000;
        let t = ReadingTimes::new(Some(base), 10_000);
        assert_eq!(
            t.pause_until(base),
            None,
            "the run's start is a window's end"
        );
        assert_eq!(t.pause_until(base + 499), None);
        assert_eq!(t.pause_until(base + 500), Some(base + 8_500));
        assert_eq!(t.pause_until(base + 7_499), Some(base + 8_500));
        assert_eq!(t.pause_until(base + 8_500), None);
        assert_eq!(t.pause_until(base + 10_499), None);
        assert_eq!(t.pause_until(base + 10_500), Some(base + 18_500));
        // Less than the shortest pause before reading again: it goes on reading.
        assert_eq!(t.pause_until(base + 7_501), None);
        // Not before the base (but for the last moment); without one, always.
        assert_eq!(t.pause_until(base - 2_000), Some(base));
        assert_eq!(t.pause_until(base - 1), None);
        assert_eq!(
            ReadingTimes::new(None, 10_000).pause_until(base + 5_000),
            None
        );
        // A probe that looks every 10 ms while it reads reads 2 s of every 10: a fifth of the run.
        assert_eq!(reading_ms(t, base, 100_000), 20_000);
    }

    /// How long a probe that looks every 10 ms while it reads reads in the first `run_ms`.
    fn reading_ms(times: ReadingTimes, base: u64, run_ms: u64) -> u64 {
        let (mut now, mut reading) = (base, 0);
        while now < base + run_ms {
            match times.pause_until(now) {
                Some(until) => now = until,
                None => {
                    reading += 10;
                    now += 10;
                }
            }
        }
        reading
    }

    #[test]
    fn short_windows_are_read_throughout_and_long_ones_sampled_between_their_ends() {
        let base = 1_000_000;
        let short = ReadingTimes::new(Some(base), 3_000);
        assert!((0..30_000).all(|ms| short.pause_until(base + ms).is_none()));
        let hour = ReadingTimes::new(Some(base), 3_600_000);
        assert_eq!(hour.pause_until(base + 1_000), None);
        assert_eq!(hour.pause_until(base + 2_000), Some(base + 10_000));
        assert_eq!(hour.pause_until(base + 11_999), None);
        assert_eq!(hour.pause_until(base + 12_000), Some(base + 20_000));
        // The last sample before the hour's end runs into the reading around it.
        assert_eq!(hour.pause_until(base + 3_592_000), Some(base + 3_598_500));
        assert_eq!(hour.pause_until(base + 3_598_500), None);
        // 2 s of every 10 in the hour, and the 2 s around its end.
        assert_eq!(reading_ms(hour, base, 3_600_500), 360 * 2_000 + 2_000);
    }
}
