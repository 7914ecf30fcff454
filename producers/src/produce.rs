//! One producer's run: arrivals → events → sink, on the real-time schedule or as fast as possible,
//! with watermarks on every partition and an end marker to close.

use std::time::Duration;

use adstream_kafka::settings::PRODUCER_TURN_MS;
use adstream_profile::profile::Profile;
use adstream_protocol::AdCatalog;
use adstream_protocol::window::Windows;
use adstream_protocol::wire::{EndMarker, Watermark};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::event_factory::EventFactory;
use crate::generator::Arrivals;
use crate::pacer::{Clock, Pacer, ScheduleLag, WallClock};
use crate::producer_metrics::ProducerMetrics;
use crate::resume::Resume;
use crate::sink::{Sink, SinkError};
use adstream_protocol::messages::{ProducerProgress, ProducerSummary};

/// Everything one producer needs to know.
#[derive(Debug, Clone)]
pub struct Plan {
    /// This producer's id.
    pub id: u32,
    /// The run's base time in Unix nanoseconds; event times are `base + arrival offset`.
    pub base_ns: u64,
    /// Partitions to spread events over (see [`partition_of`]).
    pub partitions: u32,
    /// The configuration (rate, duration, shape, seed, pacing, windows).
    pub profile: Profile,
    /// What an earlier incarnation of this producer already stored ([`Resume::fresh`] at a first
    /// start): those events are regenerated but not sent again.
    pub resume: Resume,
}

impl Plan {
    /// The random stream of this producer's arrival times.
    fn arrival_rng(&self) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.profile.producers.seed);
        rng.set_stream(2 * u64::from(self.id));
        rng
    }

    /// The random stream of this producer's event contents.
    fn content_rng(&self) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.profile.producers.seed);
        rng.set_stream(2 * u64::from(self.id) + 1);
        rng
    }
}

/// Schedule time a producer spends on one partition before moving to the next, ns: one turn.
const STICKY_SLOT_NS: u64 = PRODUCER_TURN_MS * 1_000_000;

/// The partition of an event due `offset_ns` into the run: one partition per slot of schedule time, in
/// turn, producers starting on different partitions. Like Kafka's sticky partitioner, this fills one
/// batch at a time instead of one small batch per partition per linger; the local broker's fetches cost
/// time that grows with a partition's batch count, so this halves its latency at the seed's load
/// (BENCHMARKS.md). Every partition still gets an equal share over time, and the choice depends only on
/// the schedule, so a seeded run repeats exactly.
pub fn partition_of(offset_ns: u64, producer: u32, partitions: u32) -> u32 {
    ((offset_ns / STICKY_SLOT_NS + u64::from(producer)) % u64::from(partitions)) as u32
}

/// The offset at which a producer next sends to `partition`, given that it is `offset_ns` into the
/// run: the start of the first slot from `offset_ns`'s on that is `partition`'s turn.
pub fn next_turn_of(partition: u32, offset_ns: u64, producer: u32, partitions: u32) -> u64 {
    let slot = offset_ns / STICKY_SLOT_NS;
    let now = partition_of(offset_ns, producer, partitions);
    let wait = (partition + partitions - now) % partitions;
    (slot + u64::from(wait)) * STICKY_SLOT_NS
}

/// What a producer has told each partition: the highest watermark it sent there, or that it ended.
struct Promises {
    producer: u32,
    sent_ns: Vec<u64>,
}

/// The promise of an end marker: nothing more at all.
const ENDED: u64 = u64::MAX;

impl Promises {
    /// Nothing promised yet, except the partitions an earlier incarnation already ended.
    fn new(producer: u32, partitions: u32, resume: &Resume) -> Self {
        let sent_ns = (0..partitions)
            .map(|p| if resume.ended(p) { ENDED } else { 0 })
            .collect();
        Self { producer, sent_ns }
    }

    /// Promises `partition` that nothing below `watermark_ns` follows, unless an equal or higher
    /// promise was already sent (which says as much), or the partition was ended.
    fn promise(
        &mut self,
        sink: &mut dyn Sink,
        partition: u32,
        watermark_ns: u64,
    ) -> Result<(), SinkError> {
        let sent = &mut self.sent_ns[partition as usize];
        if watermark_ns > *sent {
            let watermark = Watermark {
                producer: self.producer,
                watermark_ns,
            };
            sink.watermark(partition, watermark)?;
            *sent = watermark_ns;
        }
        Ok(())
    }

    /// Ends `partition` with the count of `events` this producer sent there, unless it was ended.
    fn end(&mut self, sink: &mut dyn Sink, partition: u32, events: u64) -> Result<(), SinkError> {
        let sent = &mut self.sent_ns[partition as usize];
        if *sent != ENDED {
            let marker = EndMarker {
                producer: self.producer,
                events,
            };
            sink.end(partition, marker)?;
            *sent = ENDED;
        }
        Ok(())
    }
}

/// How often a producer reports the events it has sent.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Runs the producer to the end and reports what it did; `progress` hears the count of events sent
/// about once a second, and `metrics`, when given, each send.
///
/// Watermarks: the producer's arrival times only increase, so before it sends an event due at `t` it
/// may promise every partition that nothing below `t` follows. It does so when an event opens a new
/// window (so the previous one can close at once) and whenever `watermark_interval_ms` of wall time
/// has passed (so quiet partitions keep moving). And when it moves on from a partition, it promises
/// that partition nothing until its next turn, before it waits for the next event: that record rides
/// in the batch of the turn's last events (the linger outlasts the turn), so a window whose end falls
/// at or after the turn's end is already closed on this partition when the batch arrives. A watermark
/// no higher than one already sent to a partition tells the job nothing and is not sent
/// ([`Promises`]): each would otherwise open a batch of its own on a partition out of turn, and the
/// local broker's fetches slow down with every batch it stores.
///
/// End markers: a partition whose next turn would start after the schedule's end gets none of this
/// producer's events any more, so when the producer leaves it, its end marker goes instead of the
/// promise, in the batch of its last events. Sent after the last event instead, each would open a
/// batch of its own that waits a whole linger (librdkafka's flush does not cut a linger short when
/// called through rdkafka, which polls it with no wait), and the run's last window with it: measured,
/// 26–31 ms against 9–13 ms for the windows before it (BENCHMARKS.md "Latency across partitions").
pub fn run(
    plan: &Plan,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(ProducerProgress),
    metrics: Option<&ProducerMetrics>,
) -> Result<ProducerSummary, SinkError> {
    run_on(WallClock::new(), plan, sink, progress, metrics)
}

/// [`run`] on `clock`: the wall clock in a producer, a clock the test moves in tests.
pub fn run_on<C: Clock>(
    clock: C,
    plan: &Plan,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(ProducerProgress),
    metrics: Option<&ProducerMetrics>,
) -> Result<ProducerSummary, SinkError> {
    let p = &plan.profile.producers;
    let windows = Windows::new(plan.base_ns, plan.profile.window.size_ns());
    let arrivals = Arrivals::new(
        p.generator,
        p.rate,
        p.duration,
        &plan.profile.mmpp,
        plan.arrival_rng(),
    );
    let mut factory = EventFactory::new(AdCatalog::from_seed(p.seed), windows, plan.content_rng());
    let watermark_interval_ns = p.watermark_interval_ms * 1_000_000;

    let mut pacer = Pacer::new(clock, Duration::from_micros(p.pacing_tick_us));
    // The achieved rate counts from the first send, not from start-up or the wait for a future base.
    let mut first_send_ns: Option<u64> = None;
    let mut last_watermark = pacer.clock().now_ns();
    let mut last_progress = last_watermark;
    let mut lag = ScheduleLag::default();
    let mut per_partition = vec![0u64; plan.partitions as usize];
    let mut value = Vec::with_capacity(512);
    let mut seq = 0u64;
    let mut watermarked_window = None;
    let mut promises = Promises::new(plan.id, plan.partitions, &plan.resume);
    let schedule_end_ns = p.duration * 1_000_000_000;
    let mut last_partition = None;

    let mut resumed = 0u64;
    let mut behind_ms = 0u64;
    for offset in arrivals {
        let due_ns = plan.base_ns + offset;
        let window = windows.window_of(due_ns);
        let partition = partition_of(offset, plan.id, plan.partitions);
        if plan.resume.holds(partition, seq) {
            // Stored by an earlier incarnation: made again only to keep the random stream in step.
            // Its promises were sent then too, and are valid for what follows (module doc of
            // `resume`); the first event sent promises every partition its time afresh.
            factory.make(due_ns);
            per_partition[partition as usize] += 1;
            seq += 1;
            resumed += 1;
            last_partition = Some(partition);
            continue;
        }
        if let Some(left) = last_partition.filter(|&p| p != partition) {
            let next_turn = next_turn_of(left, offset, plan.id, plan.partitions);
            if next_turn >= schedule_end_ns {
                promises.end(sink, left, per_partition[left as usize])?;
            } else {
                promises.promise(sink, left, plan.base_ns + next_turn)?;
            }
        }
        last_partition = Some(partition);
        let wall = pacer.clock().now_ns();
        if wall.saturating_sub(last_progress) >= PROGRESS_EVERY.as_nanos() as u64 {
            progress(ProducerProgress {
                producer: plan.id,
                sent: seq,
                behind_ms,
            });
            last_progress = wall;
        }
        if watermarked_window != Some(window)
            || wall.saturating_sub(last_watermark) >= watermark_interval_ns
        {
            for partition in 0..plan.partitions {
                promises.promise(sink, partition, due_ns)?;
            }
            watermarked_window = Some(window);
            last_watermark = wall;
        }
        let sent_ns = if p.paced {
            let now = pacer.wait_for(due_ns, || sink.idle())?;
            lag.record(due_ns, now);
            behind_ms = now.saturating_sub(due_ns) / 1_000_000;
            if let Some(metrics) = metrics {
                metrics.behind(now.saturating_sub(due_ns));
            }
            now
        } else {
            pacer.clock().now_ns()
        };
        first_send_ns.get_or_insert(sent_ns);
        let mut event = factory.make(due_ns);
        event.produce_time = sent_ns / 1_000_000;
        value.clear();
        serde_json::to_writer(&mut value, &event).expect("events serialise");
        sink.event(partition, seq, &value)?;
        if let Some(metrics) = metrics {
            metrics.sent();
        }
        per_partition[partition as usize] += 1;
        seq += 1;
    }
    for (partition, &events) in per_partition.iter().enumerate() {
        promises.end(sink, partition as u32, events)?;
    }
    let delivery = sink.finish()?;
    let elapsed_s = first_send_ns.map_or(0.0, |first| {
        pacer.clock().now_ns().saturating_sub(first) as f64 / 1e9
    });
    Ok(ProducerSummary {
        producer: plan.id,
        events: seq,
        delivered: resumed + delivery.delivered,
        resumed,
        failed: delivery.failed,
        elapsed_s,
        rate: seq as f64 / elapsed_s.max(f64::MIN_POSITIVE),
        paced: p.paced,
        lag_max_ms: lag.max_ms(),
        lag_p99_ms: lag.quantile_ms(0.99),
        cpu_s: adstream_protocol::cpu::of_this_process(),
    })
}

#[cfg(test)]
mod tests {
    use adstream_profile::profile::Generator;
    use adstream_protocol::Event;

    use super::*;
    use crate::pacer::ManualClock;
    use crate::sink::{Delivery, SinkError};

    /// Records what the producer sends, in order.
    #[derive(Default)]
    struct Recorder {
        events: Vec<(u32, u64, Event)>,
        watermarks: Vec<(u32, Watermark)>,
        ends: Vec<(u32, EndMarker)>,
        /// Every event's and watermark's partition and time, in the order sent.
        sent: Vec<(u32, Sent)>,
    }

    #[derive(Debug, Clone, Copy)]
    enum Sent {
        Event(u64),
        Watermark(u64),
        End,
        /// The producer is about to sleep until its next event is due.
        Idle,
    }

    impl Sink for Recorder {
        fn event(&mut self, partition: u32, seq: u64, value: &[u8]) -> Result<(), SinkError> {
            let event: Event = serde_json::from_slice(value).expect("event JSON");
            self.sent
                .push((partition, Sent::Event(event.event_time_ns)));
            self.events.push((partition, seq, event));
            Ok(())
        }
        fn watermark(&mut self, partition: u32, watermark: Watermark) -> Result<(), SinkError> {
            self.sent
                .push((partition, Sent::Watermark(watermark.watermark_ns)));
            self.watermarks.push((partition, watermark));
            Ok(())
        }
        fn end(&mut self, partition: u32, marker: EndMarker) -> Result<(), SinkError> {
            self.sent.push((partition, Sent::End));
            self.ends.push((partition, marker));
            Ok(())
        }
        fn idle(&mut self) -> Result<(), SinkError> {
            self.sent.push((0, Sent::Idle));
            Ok(())
        }
        fn finish(&mut self) -> Result<Delivery, SinkError> {
            Ok(Delivery {
                delivered: self.events.len() as u64,
                failed: 0,
            })
        }
    }

    fn plan(generator: Generator, seed: u64) -> Plan {
        let mut profile = Profile::default();
        profile.producers.generator = generator;
        profile.producers.rate = 500;
        profile.producers.duration = 4;
        profile.producers.seed = seed;
        profile.producers.paced = false;
        profile.window.size = 1;
        Plan {
            id: 3,
            base_ns: 1_700_000_000_000_000_000,
            partitions: 3,
            profile,
            resume: Resume::fresh(),
        }
    }

    fn record(plan: &Plan) -> (Recorder, ProducerSummary) {
        record_on(WallClock::new(), plan)
    }

    fn record_on(clock: impl Clock, plan: &Plan) -> (Recorder, ProducerSummary) {
        let mut recorder = Recorder::default();
        let summary = run_on(clock, plan, &mut recorder, &mut |_| {}, None).unwrap();
        (recorder, summary)
    }

    #[test]
    fn partitions_take_turns_one_slot_each_producers_apart() {
        let slot = STICKY_SLOT_NS;
        assert_eq!(partition_of(0, 0, 4), 0);
        assert_eq!(partition_of(slot - 1, 0, 4), 0);
        assert_eq!(partition_of(slot, 0, 4), 1);
        assert_eq!(partition_of(4 * slot, 0, 4), 0);
        assert_eq!(partition_of(0, 1, 4), 1);
        assert_eq!(partition_of(3 * slot, 1, 4), 0);
        assert_eq!(partition_of(123 * slot, 7, 1), 0);
    }

    #[test]
    fn a_partition_left_is_next_used_at_its_next_turn() {
        let slot = STICKY_SLOT_NS;
        // Producer 0 over 4 partitions: slot k goes to partition k mod 4.
        assert_eq!(next_turn_of(2, 0, 0, 4), 2 * slot);
        assert_eq!(next_turn_of(0, slot + 5, 0, 4), 4 * slot);
        assert_eq!(next_turn_of(1, slot + 5, 0, 4), slot);
        assert_eq!(next_turn_of(3, 9 * slot, 0, 4), 11 * slot);
        // Producer 1 starts one partition on.
        assert_eq!(next_turn_of(1, 0, 1, 2), 0);
        assert_eq!(next_turn_of(0, 0, 1, 2), slot);
        for offset in [0, slot / 2, 7 * slot + 3, 40 * slot] {
            for partition in 0..3 {
                let turn = next_turn_of(partition, offset, 2, 3);
                assert!(turn + slot > offset && turn < offset + 3 * slot);
                assert_eq!(partition_of(turn, 2, 3), partition);
            }
        }
    }

    #[test]
    fn events_fill_one_partition_at_a_time_with_consecutive_seqs_and_equal_shares() {
        let (r, summary) = record(&plan(Generator::Uniform, 1));
        assert_eq!(r.events.len(), 2_000);
        assert_eq!(summary.events, 2_000);
        assert_eq!(summary.delivered, 2_000);
        let mut counts = [0u64; 3];
        for (i, (partition, seq, event)) in r.events.iter().enumerate() {
            assert_eq!(*seq, i as u64);
            let offset = event.event_time_ns - 1_700_000_000_000_000_000;
            assert_eq!(*partition, partition_of(offset, 3, 3));
            counts[*partition as usize] += 1;
        }
        // 500 events/s evenly spaced over 4 s: the same number in every slot, the slots taken in turn.
        let slots = 4_000_000_000 / STICKY_SLOT_NS;
        let per_slot = 2_000 / slots;
        let runs = r.events.windows(2).filter(|w| w[0].0 != w[1].0).count();
        assert_eq!(runs as u64, slots - 1);
        // Producer 3 of 3 starts its turns on partition 0: slot k goes to partition k mod 3.
        let mut expected = [0u64; 3];
        for slot in 0..slots {
            expected[(slot % 3) as usize] += per_slot;
        }
        assert_eq!(counts, expected);
        let ends: Vec<(u32, EndMarker)> = (0..3)
            .map(|p| {
                (
                    p,
                    EndMarker {
                        producer: 3,
                        events: counts[p as usize],
                    },
                )
            })
            .collect();
        let mut by_partition = r.ends.clone();
        by_partition.sort_by_key(|(p, _)| *p);
        assert_eq!(by_partition, ends);
    }

    #[test]
    fn each_partition_ends_right_after_its_last_event_in_the_batch_of_its_last_turn() {
        for generator in [Generator::Uniform, Generator::Poisson] {
            let (r, _) = record(&plan(generator, 5));
            for partition in 0..3 {
                let last = r
                    .sent
                    .iter()
                    .rposition(|&(p, s)| p == partition && matches!(s, Sent::Event(_)))
                    .unwrap();
                assert!(
                    matches!(r.sent[last + 1], (p, Sent::End) if p == partition),
                    "{generator:?}: partition {partition}'s last event is followed by {:?}",
                    r.sent[last + 1]
                );
                assert!(r.sent[last + 2..].iter().all(|&(p, _)| p != partition));
            }
            // The first two end as the producer leaves them, while events still go elsewhere.
            let events_after_end = r.sent.iter().skip_while(|(_, s)| !matches!(s, Sent::End));
            assert!(
                events_after_end
                    .filter(|(_, s)| matches!(s, Sent::Event(_)))
                    .count()
                    > 0
            );
            assert_eq!(r.ends.len(), 3);
        }
    }

    #[test]
    fn watermarks_never_run_ahead_of_later_events() {
        let (r, _) = record(&plan(Generator::Poisson, 2));
        // Replay the records in the order sent: every event must be at or above the last watermark
        // its partition received from this producer.
        let mut floor = [0u64; 3];
        for (partition, sent) in &r.sent {
            match *sent {
                Sent::Watermark(t) => {
                    floor[*partition as usize] = floor[*partition as usize].max(t)
                }
                Sent::Event(t) => assert!(t >= floor[*partition as usize]),
                Sent::Idle | Sent::End => {}
            }
        }
        assert_eq!(
            r.sent.len(),
            r.events.len() + r.watermarks.len() + r.ends.len()
        );
        // When the first event of each one-second window is sent, every partition has been promised
        // the window's start, so the previous window can close everywhere.
        let base = 1_700_000_000_000_000_000;
        let mut floor = [0u64; 3];
        let mut window = None;
        for (partition, sent) in &r.sent {
            match *sent {
                Sent::Watermark(t) => floor[*partition as usize] = t,
                Sent::Event(t) => {
                    let this = (t - base) / 1_000_000_000;
                    if window != Some(this) {
                        let start = base + this * 1_000_000_000;
                        assert!(floor.iter().all(|&f| f >= start), "{this}: {floor:?}");
                        window = Some(this);
                    }
                }
                Sent::Idle | Sent::End => {}
            }
        }
        assert_eq!(window, Some(3));
        // Right after the last event of a turn, the partition is promised nothing until its next turn
        // (2 slots on with 3 partitions): the promise goes out with that event, into the same batch.
        let slots = 4_000_000_000 / STICKY_SLOT_NS;
        let mut promises = 0;
        for pair in r.sent.windows(2) {
            if let [(p, before), (q, Sent::Watermark(w))] = pair
                && (w - base) % STICKY_SLOT_NS == 0
            {
                let Sent::Event(t) = *before else {
                    panic!("a promise to {q} at {w} follows a watermark")
                };
                assert_eq!(
                    p, q,
                    "a promise follows the last event of its partition's turn"
                );
                assert_eq!(partition_of(w - base, 3, 3), *q);
                assert!(w - base > t - base && w - base <= t - base + 3 * STICKY_SLOT_NS);
                promises += 1;
            }
        }
        // One per change of turn in the 4 s run, but the last of the two partitions that end before
        // the run does: those get their end markers instead.
        assert!(
            promises >= slots - 1 - 2,
            "one per change of turn: {promises}"
        );
        // A watermark never repeats or lowers one already sent to its partition.
        let mut last = [0u64; 3];
        for (partition, w) in &r.watermarks {
            assert!(w.watermark_ns > last[*partition as usize]);
            last[*partition as usize] = w.watermark_ns;
        }
        assert!(r.watermarks.iter().all(|(_, w)| w.producer == 3));
    }

    #[test]
    fn a_resumed_run_sends_exactly_what_was_not_stored_and_keeps_every_promise() {
        let first = plan(Generator::Poisson, 4);
        let (whole, _) = record(&first);
        // The first incarnation dies 40% of the way through what it sent; partition 1 also lost its
        // last 30 records in flight. What each partition stored is a prefix of what went there.
        let cut = whole.sent.len() * 2 / 5;
        let mut stored: Vec<Vec<Sent>> = vec![Vec::new(); 3];
        for (partition, sent) in &whole.sent[..cut] {
            stored[*partition as usize].push(*sent);
        }
        let lost = stored[1].len() - 30;
        stored[1].truncate(lost);
        let mut stored_seqs = std::collections::BTreeSet::new();
        let mut resume = Resume::fresh();
        let mut index = [0usize; 3];
        for (partition, seq, _) in &whole.events {
            let p = *partition as usize;
            let kept = stored[p]
                .iter()
                .filter(|s| matches!(s, Sent::Event(_)))
                .count();
            if index[p] < kept {
                resume.found_event(*partition, *seq);
                stored_seqs.insert(*seq);
            }
            index[p] += 1;
        }
        let (again, summary) = record(&Plan { resume, ..first });
        // Every event exactly once: what was stored and what was sent again.
        let sent_seqs: std::collections::BTreeSet<u64> =
            again.events.iter().map(|(_, seq, _)| *seq).collect();
        assert_eq!(sent_seqs.len(), again.events.len());
        assert!(stored_seqs.is_disjoint(&sent_seqs));
        let all: Vec<u64> = stored_seqs.union(&sent_seqs).copied().collect();
        assert_eq!(all, (0..whole.events.len() as u64).collect::<Vec<_>>());
        assert_eq!(summary.resumed, stored_seqs.len() as u64);
        assert_eq!(summary.delivered, whole.events.len() as u64);
        // The same events, on the same partitions, as the uninterrupted run.
        for (partition, seq, event) in &again.events {
            let (p, _, e) = &whole.events[*seq as usize];
            assert_eq!(
                (partition, event.event_time_ns, event.ad_id),
                (p, e.event_time_ns, e.ad_id)
            );
            assert_eq!((event.user_id, event.ip_address), (e.user_id, e.ip_address));
        }
        // Each partition's stream — what was stored, then what the resumed run sent — keeps every
        // promise: no event below a watermark sent before it.
        let mut streams = stored;
        for (partition, sent) in &again.sent {
            if !matches!(sent, Sent::Idle) {
                streams[*partition as usize].push(*sent);
            }
        }
        for stream in &streams {
            let mut floor = 0;
            for sent in stream {
                match *sent {
                    Sent::Watermark(t) => floor = floor.max(t),
                    Sent::Event(t) => assert!(t >= floor, "{t} below the promise {floor}"),
                    Sent::Idle | Sent::End => {}
                }
            }
        }
        assert_eq!(again.ends, whole.ends);
    }

    #[test]
    fn the_same_seed_gives_the_same_events_apart_from_produce_time() {
        let strip = |r: Recorder| -> Vec<Event> {
            r.events
                .into_iter()
                .map(|(_, _, mut e)| {
                    e.produce_time = 0;
                    e
                })
                .collect()
        };
        let a = strip(record(&plan(Generator::Mmpp, 7)).0);
        let b = strip(record(&plan(Generator::Mmpp, 7)).0);
        let c = strip(record(&plan(Generator::Mmpp, 8)).0);
        assert!(!a.is_empty());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn paced_runs_follow_the_schedule() {
        let mut p = plan(Generator::Uniform, 1);
        p.profile.producers.paced = true;
        p.profile.producers.duration = 1;
        p.profile.producers.rate = 100;
        p.base_ns = 1_700_000_000_000_000_000;
        let clock = ManualClock {
            now_ns: p.base_ns,
            ..ManualClock::default()
        };
        let (r, summary) = record_on(clock, &p);
        assert_eq!(summary.events, 100);
        for (_, _, e) in &r.events {
            assert!(
                e.produce_time * 1_000_000 + 1_000_000 > e.event_time_ns,
                "sent before due"
            );
        }
        // Events 10 ms apart, longer than a tick: the producer sleeps before each one. The promise
        // to a partition whose turn ends goes out right after the turn's last event, before the
        // producer sleeps, so it rides in the same batch.
        let events: Vec<(usize, u32)> = r
            .sent
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| matches!(s, Sent::Event(_)))
            .map(|(i, (partition, _))| (i, *partition))
            .collect();
        let mut turns = 0;
        for pair in events.windows(2) {
            let ((last, partition), (_, next)) = (pair[0], pair[1]);
            if partition != next {
                assert!(
                    matches!(r.sent[last + 1], (p, Sent::Watermark(_) | Sent::End) if p == partition),
                    "{:?}",
                    &r.sent[last..=last + 1]
                );
                turns += 1;
            }
        }
        assert!(turns >= 1_000_000_000 / STICKY_SLOT_NS - 1, "{turns}");
        let sleeps = r
            .sent
            .iter()
            .filter(|(_, s)| matches!(s, Sent::Idle))
            .count();
        assert!(sleeps >= 90, "{sleeps}");
    }
}
