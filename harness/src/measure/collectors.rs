//! The live collectors of a run, each a consumer on its own thread:
//! - [`ResultsCollector`]: every result record — every revision — with its Kafka timestamp (the seed's
//!   latency calculator);
//! - [`BrokerProbe`] (its own module): the broker's delivery delay of the events.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_profile::profile::KafkaSection;
use adstream_protocol::answers::{Answer, Answers};
use adstream_protocol::window::Windows;
use adstream_protocol::wire::{AsOf, WindowResult};
use rdkafka::Message;

use crate::measure::broker_probe::BrokerProbe;
use crate::measure::topic_reader::{Next, TopicReader, Wait};
use crate::report::latency::{LatencyHistogram, Observation};

/// The live collectors of one run.
pub struct RunCollectors {
    /// Every result record.
    pub results: ResultsCollector,
    /// The broker's delivery delay.
    pub probe: BrokerProbe,
}

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

/// How the results topic's records read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// adstream's own results ([`WindowResult`]); a record that is not one is skipped (the recount
    /// finds what is missing).
    Ours,
    /// Another engine's ([`Answer`]), with the run's windows when its base time is known: every record
    /// is kept as an answer (or as unreadable), and as a final result for the latency figures.
    Engine(Option<Windows>),
}

/// Collects result records.
pub struct ResultsCollector {
    handle: JoinHandle<Vec<Collected>>,
    /// Another engine's answers so far.
    answers: Arc<Mutex<Answers>>,
    /// Result records read so far.
    records: Arc<AtomicU64>,
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
    pub fn start(kafka: &KafkaSection, format: ResultFormat) -> Result<Self, KafkaError> {
        // Latency is the record's own timestamp, so this reader may wait longer per fetch and spare the
        // broker.
        let mut reader = TopicReader::open(kafka, &kafka.results_topic, Wait::Patient)?;
        let stop = Arc::new(AtomicBool::new(false));
        let expected = Arc::new(AtomicU64::new(u64::MAX));
        let seen = Arc::new(AtomicU64::new(0));
        let live = Arc::new(LiveLatency::default());
        let answers = Arc::new(Mutex::new(Answers::default()));
        let records = Arc::new(AtomicU64::new(0));
        let (s, e, n, l) = (
            Arc::clone(&stop),
            Arc::clone(&expected),
            Arc::clone(&seen),
            Arc::clone(&live),
        );
        let (a, r) = (Arc::clone(&answers), Arc::clone(&records));
        let handle = std::thread::spawn(move || {
            let mut observations = Vec::new();
            let mut finals = 0;
            let mut windows = std::collections::BTreeSet::new();
            reader.read_until(&s, Duration::from_secs(5), None, |message| {
                r.fetch_add(1, Ordering::Relaxed);
                let collected = match format {
                    ResultFormat::Ours => collect(message),
                    ResultFormat::Engine(windows) => {
                        let mut answers = a.lock().expect("answers lock");
                        collect_answer(message, windows.as_ref(), &mut answers)
                    }
                };
                if let Some(o) = collected {
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
            answers,
            records,
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

    /// Another engine's answers so far (none for adstream's own results).
    pub fn answers(&self) -> Arc<Mutex<Answers>> {
        Arc::clone(&self.answers)
    }

    /// Result records read so far, of any kind.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
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

/// Another engine's record: kept as its answer (or as unreadable), and, when it is one, as a final
/// result for the latency figures (its window's bounds from the run's windows, its emission the
/// record's timestamp).
fn collect_answer(
    message: &rdkafka::message::BorrowedMessage<'_>,
    windows: Option<&Windows>,
    answers: &mut Answers,
) -> Option<Collected> {
    let at = format!(
        "results partition {} offset {}",
        message.partition(),
        message.offset()
    );
    let answer = match Answer::parse(message.payload().unwrap_or_default(), windows) {
        Ok(answer) => answer,
        Err(why) => {
            answers.take_unreadable(format!("{at}: {why}"));
            return None;
        }
    };
    let record_ms = message.timestamp().to_millis().unwrap_or_default();
    let bound = |w: u64| windows.map_or(0, |ws| ws.start_ns(w) / 1_000_000);
    let [views, clicks, purchases] = answer.by_type.unwrap_or_default();
    let result = WindowResult {
        window_id: answer.window_id,
        window_start_ms: bound(answer.window_id),
        window_end_ms: bound(answer.window_id + 1),
        campaign_id: answer.campaign_id,
        count: answer.count,
        views,
        clicks,
        purchases,
        max_produce_time: answer.max_produce_time,
        emitted_at_ms: u64::try_from(record_ms).unwrap_or_default(),
        revision: 0,
        is_final: true,
        as_of: AsOf::new(),
    };
    answers.take(answer);
    Some(Collected { result, record_ms })
}
