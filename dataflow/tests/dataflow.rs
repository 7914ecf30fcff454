//! The dataflow without Kafka: records from memory through the real timely/differential dataflow on 1
//! and 4 workers, results compared with an independent recount.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use adstream_dataflow::core::assignment::partitions_of;
use adstream_dataflow::core::progress::Progress;
use adstream_dataflow::core::watermark::{BoundedProgress, ExactProgress, IdleClose};
use adstream_dataflow::core::window_state::WindowState;
use adstream_dataflow::edges::memory::{
    MemoryDeadLetters, MemoryReader, MemoryResults, OwnedRecord,
};
use adstream_dataflow::operators::board::WorkerBoard;
use adstream_dataflow::operators::job::{Edges, run_worker};
use adstream_dataflow::operators::source::Emit;
use adstream_protocol::exactness::{Recount, Verification};
use adstream_protocol::messages::JobCounts;
use adstream_protocol::validity::EventRules;
use adstream_protocol::window::Windows;
use adstream_protocol::wire::{
    AdType, EndMarker, Event, EventType, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, Watermark,
    WindowResult,
};
use uuid::Uuid;

const BASE: u64 = 1_700_000_000_000_000_000;
const SIZE: u64 = 1_000_000_000;

fn rules() -> EventRules {
    EventRules::new(Windows::new(BASE, SIZE))
}

fn header(key: &str, value: &str) -> (String, Option<Vec<u8>>) {
    (key.to_owned(), Some(value.as_bytes().to_vec()))
}

/// The event a producer sends as its `seq`-th, at `t` ns after the base.
fn event(seq: u64, t: u64) -> Event {
    Event {
        user_id: Uuid::from_u128(seq as u128),
        page_id: Uuid::nil(),
        ad_id: Uuid::nil(),
        ad_type: AdType::Video,
        event_type: EventType::ALL[(seq % 3) as usize],
        event_time_ns: BASE + t,
        window_id: t / SIZE,
        ip_address: Ipv4Addr::LOCALHOST,
        campaign_id: (seq * 7 % 10) as u32 + 1,
        produce_time: 1_000 + t / 1_000_000 + seq % 5,
    }
}

/// Builds the records of a topic, partition by partition.
#[derive(Default)]
struct Topic {
    records: Vec<OwnedRecord>,
    events: Vec<Event>,
    seqs: BTreeMap<u32, u64>,
    sent: BTreeMap<(u32, i32), u64>,
}

impl Topic {
    fn event(&mut self, partition: i32, producer: u32, t: u64) {
        let seq = self.seqs.entry(producer).or_default();
        let e = event(*seq + 1_000 * u64::from(producer), t);
        self.records.push(OwnedRecord {
            partition,
            headers: vec![
                header(HEADER_PRODUCER, &producer.to_string()),
                header(HEADER_SEQ, &seq.to_string()),
            ],
            value: Some(serde_json::to_vec(&e).unwrap()),
        });
        *seq += 1;
        *self.sent.entry((producer, partition)).or_default() += 1;
        self.events.push(e);
    }

    fn watermark(&mut self, partition: i32, producer: u32, t: u64) {
        let value = Watermark {
            producer,
            watermark_ns: BASE + t,
        };
        self.control(
            partition,
            producer,
            "watermark",
            serde_json::to_vec(&value).unwrap(),
        );
    }

    fn end(&mut self, partition: i32, producer: u32) {
        let events = self.sent.get(&(producer, partition)).copied().unwrap_or(0);
        self.control(
            partition,
            producer,
            "end",
            serde_json::to_vec(&EndMarker { producer, events }).unwrap(),
        );
    }

    fn control(&mut self, partition: i32, producer: u32, kind: &str, value: Vec<u8>) {
        self.records.push(OwnedRecord {
            partition,
            headers: vec![
                header(HEADER_KIND, kind),
                header(HEADER_PRODUCER, &producer.to_string()),
            ],
            value: Some(value),
        });
    }

    fn raw(&mut self, partition: i32, headers: Vec<(String, Option<Vec<u8>>)>, value: &[u8]) {
        self.records.push(OwnedRecord {
            partition,
            headers,
            value: Some(value.to_vec()),
        });
    }
}

struct Outcome {
    results: Vec<WindowResult>,
    dead_letters: Vec<(OwnedRecord, String)>,
    counts: JobCounts,
    /// What each worker last published for the metrics.
    boards: Vec<Arc<WorkerBoard>>,
}

fn run(topic: &Topic, partitions: u32, producers: &[u32], workers: usize) -> Outcome {
    run_emitting(topic, partitions, producers, workers, Emit::Windows)
}

/// The same, writing results as `emit` says.
fn run_emitting(
    topic: &Topic,
    partitions: u32,
    producers: &[u32],
    workers: usize,
    emit: Emit,
) -> Outcome {
    let records = Arc::new(topic.records.clone());
    let producers = producers.to_vec();
    let results = MemoryResults::default();
    let dead = MemoryDeadLetters::default();
    let (r, d) = (results.clone(), dead.clone());
    let boards: Vec<Arc<WorkerBoard>> = (0..workers as u32)
        .map(|w| Arc::new(WorkerBoard::new(w)))
        .collect();
    let published = boards.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let parts = partitions_of(worker.index(), worker.peers(), partitions);
        let state = WindowState::new(
            rules(),
            Progress::Exact(ExactProgress::new(&parts, &producers)),
        );
        let edges = Edges {
            reader: MemoryReader::new(parts, &records),
            dead_letters: d.clone(),
            results: r.clone(),
            checkpoints: None,
            metrics: Some(Arc::clone(&published[worker.index()])),
            peers: None,
            fence: None,
        };
        run_worker(worker, state, edges, emit, JobCounts::default(), |_, _| {})
            .expect("one process")
    })
    .unwrap();
    let mut counts = JobCounts::default();
    for c in guards.join() {
        counts += c.unwrap();
    }
    let results = std::mem::take(&mut *results.0.lock().unwrap());
    let dead_letters = std::mem::take(&mut *dead.0.lock().unwrap());
    Outcome {
        results,
        dead_letters,
        counts,
        boards,
    }
}

/// An independent recount of the topic's records (the protocol's, not the job's code), each at its
/// offset in its partition as the in-memory reader numbers them.
fn recount(records: &[OwnedRecord]) -> Recount {
    recount_declaring_late(records, &[])
}

/// The same, leaving out the events at `late` (partition, offset), which the job declared late.
fn recount_declaring_late(records: &[OwnedRecord], late: &[(i32, i64)]) -> Recount {
    let mut recount = Recount::new(rules()).with_declared_late(late.iter().copied().collect());
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for r in records {
        let offset = next.entry(r.partition).or_default();
        let control = r.headers.iter().any(|(k, _)| k == HEADER_KIND);
        recount.offer(
            r.partition,
            *offset,
            control,
            r.value.as_deref().unwrap_or_default(),
        );
        *offset += 1;
    }
    recount
}

/// The comparison of `results` — each against the prefix its `as_of` names — with the recount of
/// `records`; the windows' bounds checked too.
fn verify(results: &[WindowResult], records: &[OwnedRecord]) -> Verification {
    for r in results {
        assert_eq!(r.window_start_ms, (BASE + r.window_id * SIZE) / 1_000_000);
        assert_eq!(r.window_end_ms, r.window_start_ms + SIZE / 1_000_000);
    }
    recount(records).compare(results)
}

/// Two producers over four partitions for three windows. Producer 1 runs ahead of producer 0 in the
/// topic: each partition holds all of producer 1's records before any of producer 0's.
fn two_producers_out_of_order() -> Topic {
    let mut topic = Topic::default();
    for producer in [1, 0] {
        for partition in 0..4 {
            for window in 0..3u64 {
                topic.watermark(partition, producer, window * SIZE);
                for i in 0..25u64 {
                    topic.event(
                        partition,
                        producer,
                        window * SIZE + i * 37_000_000 + u64::from(producer),
                    );
                }
            }
            topic.end(partition, producer);
        }
    }
    topic
}

#[test]
fn aggregation_is_exact_on_one_and_four_workers() {
    let topic = two_producers_out_of_order();
    assert_eq!(
        recount(&topic.records).tallies().len(),
        30,
        "3 windows × 10 campaigns"
    );
    for workers in [1, 4] {
        let out = run(&topic, 4, &[0, 1], workers);
        let v = verify(&out.results, &topic.records);
        assert!(v.exact, "{workers} workers: {:?}", v.mismatches);
        assert_eq!(out.counts.processed, 600);
        assert_eq!(out.counts.results, 30);
        assert_eq!((out.counts.rejected, out.counts.late), (0, 0));
        assert!(out.dead_letters.is_empty());
    }
}

/// Update mode: every revision equals the recount of the prefix its `as_of` names, each (window,
/// campaign) has revisions 0, 1, … with the final one last, and the finals equal the recount.
#[test]
fn in_update_mode_every_revision_is_exact_for_its_as_of_and_the_last_is_final() {
    let topic = two_producers_out_of_order();
    for workers in [1, 4] {
        let out = run_emitting(
            &topic,
            4,
            &[0, 1],
            workers,
            Emit::Changes { interval_ms: 10 },
        );
        let v = verify(&out.results, &topic.records);
        assert!(v.exact, "{workers} workers: {:?}", v.mismatches);
        assert_eq!(v.results_expected, 30);
        let mut revisions: BTreeMap<(u64, u32), Vec<(u32, bool)>> = BTreeMap::new();
        for r in &out.results {
            revisions
                .entry((r.window_id, r.campaign_id))
                .or_default()
                .push((r.revision, r.is_final));
        }
        assert_eq!(revisions.len(), 30);
        for (key, mut seen) in revisions {
            seen.sort();
            let n = seen.len() as u32;
            let want: Vec<(u32, bool)> = (0..n).map(|i| (i, i + 1 == n)).collect();
            assert_eq!(seen, want, "{key:?}");
        }
        assert_eq!(out.counts.results, 30, "final results");
        assert_eq!(out.counts.processed, 600);
    }
}

#[test]
fn an_idle_partition_and_a_producer_that_ends_early_hold_nothing_back() {
    let mut topic = Topic::default();
    // Producer 1 only has window 0 and ends early; partition 3 never gets an event.
    for partition in 0..3 {
        for i in 0..10 {
            topic.event(partition, 1, i * 50_000_000);
        }
    }
    for partition in 0..4 {
        topic.end(partition, 1);
    }
    for window in 0..4u64 {
        for partition in 0..4 {
            topic.watermark(partition, 0, window * SIZE);
        }
        for partition in 0..3 {
            for i in 0..10 {
                topic.event(partition, 0, window * SIZE + i * 90_000_000);
            }
        }
    }
    for partition in 0..4 {
        topic.end(partition, 0);
    }
    for workers in [1, 4] {
        let out = run(&topic, 4, &[0, 1], workers);
        let v = verify(&out.results, &topic.records);
        assert!(v.exact, "{workers} workers: {:?}", v.mismatches);
        assert_eq!(out.counts.processed, 150);
    }
}

#[test]
fn a_producer_that_never_ends_keeps_the_stream_open() {
    // Producer 2 is expected but silent: the job must not close its windows (and would not exit). Here we
    // check the state logic that decides it, since the dataflow would (correctly) wait for ever.
    let mut state = WindowState::new(rules(), Progress::Exact(ExactProgress::new(&[0], &[0, 2])));
    let end = adstream_dataflow::core::input::Input::End(EndMarker {
        producer: 0,
        events: 0,
    });
    state.offer(0, end, 0);
    assert_eq!(state.advance(0).open_from, Some(0));
}

#[test]
fn bad_and_late_records_go_to_the_dead_letters_with_reasons() {
    let mut topic = Topic::default();
    topic.watermark(0, 0, 0);
    topic.event(0, 0, 100);
    topic.raw(0, vec![], b"\xff\xfe not utf-8");
    topic.raw(
        0,
        vec![header(HEADER_PRODUCER, "0"), header(HEADER_SEQ, "99")],
        b"{broken json",
    );
    topic.watermark(0, 0, 2 * SIZE);
    // Below its own watermark: late.
    let late = event(77, SIZE / 2);
    topic.raw(
        0,
        vec![header(HEADER_PRODUCER, "0"), header(HEADER_SEQ, "100")],
        &serde_json::to_vec(&late).unwrap(),
    );
    topic.event(0, 0, 2 * SIZE + 5);
    topic.end(0, 0);
    for workers in [1, 4] {
        let out = run(&topic, 1, &[0], workers);
        // The late event is partition 0's sixth record.
        let v = recount_declaring_late(&topic.records, &[(0, 5)]).compare(&out.results);
        assert!(v.exact, "late event not counted: {:?}", v.mismatches);
        assert_eq!(v.late_excluded, 1);
        assert_eq!(
            (out.counts.processed, out.counts.rejected, out.counts.late),
            (2, 2, 1)
        );
        // What the workers published last is what they counted: the metrics' final values.
        let snapshots: Vec<_> = out.boards.iter().map(|b| b.snapshot()).collect();
        let partitions: Vec<_> = snapshots
            .iter()
            .flat_map(|s| s.partitions.clone())
            .collect();
        assert_eq!(partitions.len(), 1);
        let p = partitions[0];
        assert_eq!(
            (
                p.partition,
                p.next_offset,
                p.counts.processed,
                p.counts.rejected,
                p.counts.late
            ),
            (0, 8, 2, 2, 1)
        );
        assert_eq!(p.counts.control, 3);
        assert!(
            snapshots
                .iter()
                .all(|s| s.windows_open == 0 && s.frontier_ns.is_none())
        );
        let closed: u64 = snapshots.iter().map(|s| s.windows_closed).sum();
        assert!(closed >= 2, "windows 0 and 2 closed: {closed}");
        let written: u64 = out.boards.iter().map(|b| b.results_written()).sum();
        assert_eq!(written, out.results.len() as u64);
        let reasons: Vec<&str> = out.dead_letters.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(reasons.len(), 3);
        assert!(reasons[0].starts_with("invalid UTF-8"), "{reasons:?}");
        assert!(reasons[1].starts_with("invalid JSON"), "{reasons:?}");
        assert!(reasons[2].starts_with("late: producer 0"), "{reasons:?}");
        assert_eq!(
            out.dead_letters[1].0.value.as_deref(),
            Some(&b"{broken json"[..]),
            "unchanged"
        );
    }
}

/// Bounded mode over records without our headers and without end markers (a foreign producer that
/// simply stops): once every partition has been silent for the idle-close time, every open window
/// closes and is written, and with exit-when-idle the job ends — on one worker and on two.
#[test]
fn foreign_events_are_all_written_once_the_input_goes_quiet() {
    let mut topic = Topic::default();
    for window in 0..3u64 {
        for partition in 0..2 {
            for i in 0..20u64 {
                let e = event(i + 100 * window, window * SIZE + i * 40_000_000);
                topic.raw(partition, vec![], &serde_json::to_vec(&e).unwrap());
                topic.events.push(e);
            }
        }
    }
    for workers in [1, 2] {
        let records = Arc::new(topic.records.clone());
        let results = MemoryResults::default();
        let r = results.clone();
        let guards = timely::execute(timely::Config::process(workers), move |worker| {
            let parts = partitions_of(worker.index(), worker.peers(), 2);
            let watermark =
                BoundedProgress::new(&parts, 1_000_000, 5_000, 0).closing_when_idle(IdleClose {
                    after_ms: 200,
                    exit: true,
                });
            let state = WindowState::new(
                rules(),
                Progress::Bounded {
                    watermark,
                    // Producer 0 never sends an end marker: only the silence can end the input.
                    ends: ExactProgress::new(&parts, &[0]),
                },
            );
            let edges = Edges {
                reader: MemoryReader::new(parts, &records),
                dead_letters: MemoryDeadLetters::default(),
                results: r.clone(),
                checkpoints: None,
                metrics: None,
                peers: None,
                fence: None,
            };
            run_worker(
                worker,
                state,
                edges,
                Emit::Windows,
                JobCounts::default(),
                |_, _| {},
            )
            .expect("one process")
        })
        .unwrap();
        let mut counts = JobCounts::default();
        for c in guards.join() {
            counts += c.unwrap();
        }
        assert_eq!(counts.processed, 120, "{workers} workers");
        let written = std::mem::take(&mut *results.0.lock().unwrap());
        let v = verify(&written, &topic.records);
        assert!(v.exact, "{workers} workers: {:?}", v.mismatches);
        assert_eq!(v.windows_checked, 3);
    }
}

/// An incarnation of several workers claims its job once: the first worker stores the claim, and every
/// worker follows it with the same generation — so none of them finds its own incarnation's claim
/// taking the job away, and a later claim takes it from all of them.
#[test]
fn an_incarnation_claims_its_job_once_and_every_worker_follows_the_claim() {
    use adstream_dataflow::core::fence::Claim;
    use adstream_dataflow::edges::Fence as _;
    use adstream_dataflow::edges::memory::MemoryFence;
    use adstream_dataflow::operators::claim::claim_job;

    let claims = Arc::new(std::sync::Mutex::new(Vec::new()));
    let shared = Arc::clone(&claims);
    let guards = timely::execute(timely::Config::process(3), move |worker| {
        let mut fence = MemoryFence::over(Arc::clone(&shared));
        let generation = claim_job(worker, "job-a", &mut fence).expect("claimed");
        (generation, fence)
    })
    .unwrap();
    let mut followed: Vec<(u64, MemoryFence)> =
        guards.join().into_iter().map(|r| r.unwrap()).collect();
    let stored = claims.lock().unwrap().clone();
    assert_eq!(stored.len(), 1, "one claim per incarnation");
    for (generation, fence) in &mut followed {
        assert_eq!(*generation, stored[0].generation);
        assert_eq!(fence.superseded().unwrap(), None);
    }
    let next = Claim {
        job: "job-a".into(),
        generation: stored[0].generation.wrapping_add(1),
        claimed_at_ms: 1,
    };
    MemoryFence::over(Arc::clone(&claims)).claim(&next).unwrap();
    for (_, fence) in &mut followed {
        assert_eq!(fence.superseded().unwrap(), Some(next.clone()));
    }
}
