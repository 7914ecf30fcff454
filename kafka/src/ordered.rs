//! A consumer of explicitly assigned partitions that hands out each partition's records strictly in
//! offset order ([`OffsetOrder`]): a repeat is dropped, a gap is asked for again. The job's reader, the
//! harness's collectors and recount, and the tests' readers are all this one consumer.
//!
//! Asking again steps back: tansu 0.6 answers a fetch at an offset inside a stored batch with the
//! *next* batch (measured: a fetch at 42404 returned 42425 first), so a reader that starts or seeks
//! mid-batch would never see the rest of that batch. When a gap persists, each new request starts
//! further back (1, 2, 4, … offsets before the one wanted) until it lands at or before a batch start;
//! the records before the wanted offset are dropped as repeats. A reader given start offsets (a job
//! resuming from its checkpoints) fetches from [`START_REWIND`] records before each from the first,
//! so that it never starts inside a batch.
//!
//! A partition without a given start is read from offset 0, not from the log start the broker reports:
//! tansu 0.6 answers ListOffsets(earliest) with the base offset of the batch *stored first*, which is
//! not batch 0 when two producers' first batches to a partition finish storing out of order (a fresh
//! reader then missed a partition's first results), and ListOffsets(latest) with the base offset of
//! the batch stored last, plus one — below the true end. On a Kafka whose log no longer starts at 0,
//! a fetch at 0 is out of range and `auto.offset.reset = earliest` moves it to the log start; the gap
//! from 0 to there is then taken as real after [`crate::offset_order::GAP_PATIENCE`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::lag::LagContext;
use rdkafka::message::{BorrowedMessage, Headers as _, Message as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::error::KafkaError;
use crate::metadata::partition_count;

/// How many records before its start offset a reader with given starts (a job resuming from its
/// checkpoints) fetches from. A start inside a stored batch is answered by the local broker with the
/// next batch; stepping back only once the gap shows took longer than the gap's patience on a loaded
/// machine (a job restarted after a kill in update mode counted 420 events fewer than its revision's
/// `as_of` said, in one CI run), so such a reader starts before any batch that can hold its start —
/// more records than a batch of our producers holds — and drops what comes before its start.
pub const START_REWIND: i64 = 10_000;
use crate::offset_order::{Accept, OffsetOrder};
use crate::settings::CONNECT_TIMEOUT;

/// What a reader's callback wants after a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep reading.
    More,
    /// Everything wanted has been read.
    Done,
}

/// Header `key` of `message`, if it has one: its value, `None` for a null value.
pub fn header<'a>(message: &'a BorrowedMessage<'_>, key: &str) -> Option<Option<&'a [u8]>> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == key)
        .map(|h| h.value)
}

/// Header `key` of `message` as text, when it is present, not null and UTF-8.
pub fn header_text<'a>(message: &'a BorrowedMessage<'_>, key: &str) -> Option<&'a str> {
    header(message, key)
        .flatten()
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// How a [`OrderedConsumer::read_all_now`] ended.
#[derive(Debug, Clone, Copy)]
pub struct ReadAll {
    /// Whether every partition's reported end was reached (else the deadline passed first).
    pub reached_end: bool,
    /// When nothing more had been fetched after the last record read: the end of the reading, less the
    /// quiet time waited after it.
    pub ran_dry_at: Instant,
}

/// Assigned partitions of one topic, read in offset order.
pub struct OrderedConsumer {
    consumer: BaseConsumer<LagContext>,
    topic: String,
    partitions: Vec<i32>,
    order: OffsetOrder,
    /// Per partition in a gap: how far before the wanted offset the next request starts.
    step_back: BTreeMap<i32, i64>,
}

/// A consumer with `config`, its lag read from librdkafka's statistics ([`LagContext`]).
fn new_consumer(config: &ClientConfig) -> Result<BaseConsumer<LagContext>, KafkaError> {
    config
        .create_with_context(LagContext::default())
        .map_err(KafkaError::client("create consumer"))
}

/// The end offset of `partition` of `topic` as the broker reports it (see
/// [`OrderedConsumer::reported_ends`]).
fn reported_end(
    consumer: &BaseConsumer<LagContext>,
    topic: &str,
    partition: i32,
) -> Result<i64, KafkaError> {
    consumer
        .fetch_watermarks(topic, partition, CONNECT_TIMEOUT)
        .map(|(_, high)| high)
        .map_err(KafkaError::client(format!(
            "offsets of `{topic}` partition {partition}"
        )))
}

impl OrderedConsumer {
    /// A consumer with `config` assigned `partitions` of `topic`, each from its offset in `starts`, or,
    /// when absent, from the beginning (see the module doc).
    pub fn assign(
        config: &ClientConfig,
        topic: &str,
        partitions: &[i32],
        starts: &BTreeMap<i32, i64>,
    ) -> Result<Self, KafkaError> {
        let consumer = new_consumer(config)?;
        Self::with_consumer(consumer, topic, partitions, starts, START_REWIND)
    }

    /// A consumer with `config` assigned `partitions` of `topic`, each from the end the broker reports
    /// now (on the local broker possibly a little before the true end: see the module doc).
    pub fn assign_at_reported_ends(
        config: &ClientConfig,
        topic: &str,
        partitions: &[i32],
    ) -> Result<Self, KafkaError> {
        let consumer = new_consumer(config)?;
        let starts = partitions
            .iter()
            .map(|&p| Ok((p, reported_end(&consumer, topic, p)?)))
            .collect::<Result<BTreeMap<_, _>, KafkaError>>()?;
        Self::with_consumer(consumer, topic, partitions, &starts, 0)
    }

    /// A consumer with `config` assigned every partition of `topic` from the beginning, after checking
    /// that the broker at `bootstrap` answers and has the topic.
    pub fn assign_all(
        config: &ClientConfig,
        bootstrap: &str,
        topic: &str,
    ) -> Result<Self, KafkaError> {
        let consumer = new_consumer(config)?;
        let partitions = partition_count(consumer.client(), bootstrap, topic)?;
        let all: Vec<i32> = (0..partitions as i32).collect();
        Self::with_consumer(consumer, topic, &all, &BTreeMap::new(), 0)
    }

    fn with_consumer(
        consumer: BaseConsumer<LagContext>,
        topic: &str,
        partitions: &[i32],
        starts: &BTreeMap<i32, i64>,
        rewind: i64,
    ) -> Result<Self, KafkaError> {
        let mut assignment = TopicPartitionList::new();
        let mut firsts = Vec::with_capacity(partitions.len());
        for &p in partitions {
            let first = starts.get(&p).copied().unwrap_or(0);
            // Fetched from `rewind` records earlier: the records before `first` are dropped as
            // repeats (see the module doc).
            assignment
                .add_partition_offset(topic, p, Offset::Offset((first - rewind).max(0)))
                .map_err(KafkaError::client(format!("assign partition {p}")))?;
            firsts.push((p, first));
        }
        if !partitions.is_empty() {
            consumer
                .assign(&assignment)
                .map_err(KafkaError::client("assign partitions"))?;
        }
        Ok(Self {
            consumer,
            topic: topic.to_owned(),
            partitions: partitions.to_vec(),
            order: OffsetOrder::new(firsts),
            step_back: BTreeMap::new(),
        })
    }

    /// The underlying client, for metadata requests.
    pub fn inner(&self) -> &BaseConsumer<LagContext> {
        &self.consumer
    }

    /// The assigned partitions.
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    /// Each assigned partition's end offset as the broker reports it: the true end on Kafka; on the
    /// local broker possibly below it (see the module doc), so a reader that wants every record
    /// reads on past it until the topic is quiet.
    pub fn reported_ends(&self) -> Result<BTreeMap<i32, i64>, KafkaError> {
        self.partitions
            .iter()
            .map(|&p| Ok((p, reported_end(&self.consumer, &self.topic, p)?)))
            .collect()
    }

    /// Records in the assigned partitions not yet handed over, by librdkafka's statistics (`None`
    /// unless the configuration sets `statistics.interval.ms`, and until the first statistics).
    pub fn lag(&self) -> Option<u64> {
        self.consumer.context().lag()
    }

    /// The next record in offset order, waiting up to `timeout` for one (`Duration::ZERO`: only what
    /// is already fetched). A consumer error is handed out as it comes; librdkafka retries on its own.
    pub fn poll(
        &mut self,
        timeout: Duration,
    ) -> Option<Result<BorrowedMessage<'_>, rdkafka::error::KafkaError>> {
        // What is already fetched is taken without waiting, and the clock is read only once nothing
        // is: the job polls without waiting, once per record, and a reader that waits pays no clock
        // read per record either while records flow.
        let mut deadline: Option<Instant> = None;
        loop {
            let wait = deadline.map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            let Some(polled) = self.consumer.poll(wait) else {
                if timeout.is_zero() || deadline.is_some() {
                    return None;
                }
                deadline = Some(Instant::now() + timeout);
                continue;
            };
            let message = match polled {
                Ok(message) => message,
                Err(error) => return Some(Err(error)),
            };
            let partition = message.partition();
            match self.order.check(partition, message.offset(), Instant::now) {
                Accept::Yes => {
                    if !self.step_back.is_empty() {
                        self.step_back.remove(&partition);
                    }
                    return Some(Ok(message));
                }
                Accept::Repeat => {}
                Accept::Refetch(expected) => {
                    // Ask again, from further back each time the gap persists (see the module doc).
                    let step = self.step_back.entry(partition).or_insert(0);
                    let from = (expected - *step).max(0);
                    *step = (*step * 2).max(1);
                    let _ = self.consumer.seek(
                        &self.topic,
                        partition,
                        Offset::Offset(from),
                        Duration::ZERO,
                    );
                }
            }
        }
    }

    /// Hands every record there is now to `each`: at least to the end the broker reports (see
    /// [`OrderedConsumer::reported_ends`]), then until nothing more has come for `quiet`; gives up at
    /// `deadline` (`None`: none). While records flow it polls without waiting and reads no clock: a
    /// catch-up read costs what the records cost.
    pub fn read_all_now(
        &mut self,
        quiet: Duration,
        deadline: Option<Instant>,
        mut each: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<ReadAll, KafkaError> {
        /// How long one poll waits once nothing is fetched before the ends and clocks are looked at again.
        const POLL: Duration = Duration::from_millis(20);
        /// Records read between two looks at the deadline while records flow.
        const DEADLINE_EVERY: u32 = 4096;
        let mut left: BTreeMap<i32, i64> = self
            .reported_ends()?
            .into_iter()
            .filter(|(_, end)| *end > 0)
            .collect();
        // When nothing more was fetched after the last record (`None` while records flow).
        let mut dry: Option<Instant> = None;
        let mut since_look = 0u32;
        loop {
            let wait = if dry.is_some() { POLL } else { Duration::ZERO };
            match self.poll(wait) {
                Some(Ok(message)) => {
                    dry = None;
                    let partition = message.partition();
                    if left
                        .get(&partition)
                        .is_some_and(|&end| message.offset() + 1 >= end)
                    {
                        left.remove(&partition);
                    }
                    each(&message);
                    since_look += 1;
                    if since_look < DEADLINE_EVERY {
                        continue;
                    }
                }
                // An error fetched nothing: wait before the next poll as when nothing came.
                Some(Err(_)) => {
                    dry.get_or_insert_with(Instant::now);
                }
                None => {
                    let since = *dry.get_or_insert_with(Instant::now);
                    if left.is_empty() && since.elapsed() >= quiet {
                        return Ok(ReadAll {
                            reached_end: true,
                            ran_dry_at: since,
                        });
                    }
                }
            }
            since_look = 0;
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Ok(ReadAll {
                    reached_end: left.is_empty(),
                    ran_dry_at: dry.unwrap_or_else(Instant::now),
                });
            }
        }
    }

    /// Hands records to `each` until it says [`Next::Done`], `stop` is set and nothing arrived for
    /// `quiet` (a quiet stream after the stop signal is over), or `deadline` passes. Returns whether
    /// `each` finished. A second call goes on where the first ended.
    pub fn read_until(
        &mut self,
        stop: &AtomicBool,
        quiet: Duration,
        deadline: Option<Instant>,
        mut each: impl FnMut(&BorrowedMessage<'_>) -> Next,
    ) -> bool {
        /// How long one poll waits before the stop signal and the deadline are looked at again.
        const POLL: Duration = Duration::from_millis(50);
        let mut last = Instant::now();
        loop {
            if deadline.is_some_and(|d| Instant::now() > d) {
                return false;
            }
            match self.poll(POLL) {
                Some(Ok(message)) => {
                    last = Instant::now();
                    if each(&message) == Next::Done {
                        return true;
                    }
                }
                Some(Err(_)) => {}
                None if stop.load(Ordering::Relaxed) && last.elapsed() >= quiet => return false,
                None => {}
            }
        }
    }

    /// Arranges for `wake` to be called whenever records become available after a poll found none.
    pub fn on_arrival(&mut self, wake: Box<dyn Fn() + Send + Sync>) {
        self.consumer.set_nonempty_callback(wake);
    }
}
