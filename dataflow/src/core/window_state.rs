//! What one worker knows about its windows, free of I/O and of timely: it takes decoded records, keeps
//! the partial aggregates of windows still open, tracks event-time progress (exact or bounded), and
//! says which windows have closed locally. The source operator turns that into capabilities.
//!
//! With an allowed lateness (update output mode, bounded mode) a window stays open — taking late
//! events, which revise it — until event time has passed its end by that much: its *horizon*. Update
//! mode also [`drains`](WindowState::drain_changes) what was counted since the last drain, so each
//! revision carries only the change.

use std::collections::BTreeMap;

use adstream_protocol::catalog::CAMPAIGNS;
use adstream_protocol::validity::{EventRules, PartitionRules};
use adstream_protocol::window::BaseRange;
use adstream_protocol::wire::Event;

use crate::core::aggregate::Aggregate;
use crate::core::book::Book;
use crate::core::checkpoint::{PartitionCheckpoint, PartitionCounts};
use crate::core::input::{Input, Origin, Rejection};
use crate::core::progress::Progress;
use crate::core::verdict::{Late, Verdict};
use crate::core::watermark::{Bound, ProgressError, Quiet};

/// Partial aggregates of one window, indexed by campaign − 1.
pub type CampaignAggregates = [Aggregate; CAMPAIGNS as usize];

/// Windows that closed on one call to [`WindowState::advance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    /// Closed windows with the aggregates gathered here, in window order.
    pub closed: Vec<(u64, CampaignAggregates)>,
    /// The lowest window still open here, or `None` when this worker's input is over.
    pub open_from: Option<u64>,
}

/// One worker's open windows and progress.
#[derive(Debug, Clone)]
pub struct WindowState {
    rules: EventRules,
    /// Per partition: the rules as far as it has been read (what its events say of the base time).
    partition_rules: BTreeMap<i32, PartitionRules>,
    progress: Progress,
    open_from: u64,
    pending: BTreeMap<u64, CampaignAggregates>,
    /// Per partition: offsets, counters and where each open window starts.
    books: BTreeMap<i32, Book>,
    /// How long after its end, in event time, a window still takes events (ns).
    lateness_ns: u64,
}

impl WindowState {
    /// State over the windows of `rules`, taking the events they accept and tracking progress with
    /// `progress`.
    pub fn new(rules: EventRules, progress: Progress) -> Self {
        Self {
            rules,
            partition_rules: BTreeMap::new(),
            progress,
            open_from: 0,
            pending: BTreeMap::new(),
            books: BTreeMap::new(),
            lateness_ns: 0,
        }
    }

    /// The same, keeping each window open for `lateness_ns` of event time after its end.
    pub fn with_allowed_lateness(mut self, lateness_ns: u64) -> Self {
        self.lateness_ns = lateness_ns;
        self
    }

    /// The lowest window whose end event time has not passed at `now_ms` — closed ones below it may
    /// still take late events within the allowed lateness (`u64::MAX` once the input is over).
    pub fn closed_from(&self, now_ms: u64) -> u64 {
        match self.event_frontier_ns(now_ms) {
            Some(ns) => self.first_window_at(ns).max(self.open_from),
            None => u64::MAX,
        }
    }

    /// What was counted since the last drain, per window still open (none while records of a failed
    /// incarnation are read again: those windows are incomplete); the windows stay open.
    pub fn drain_changes(&mut self) -> Vec<(u64, CampaignAggregates)> {
        if self.replaying() {
            return Vec::new();
        }
        self.pending
            .iter_mut()
            .filter(|(_, aggregates)| aggregates.iter().any(|a| a.count > 0))
            .map(|(&window, aggregates)| (window, std::mem::take(aggregates)))
            .collect()
    }

    /// The size of the windows events are counted in, in nanoseconds.
    pub fn window_size_ns(&self) -> u64 {
        self.rules.size_ns()
    }

    /// The rules of `partition`, as far as it has been read.
    fn rules_of(&mut self, partition: i32) -> &mut PartitionRules {
        let rules = self.rules;
        self.partition_rules
            .entry(partition)
            .or_insert_with(|| rules.partition())
    }

    /// The lowest window still open here.
    pub fn open_from(&self) -> u64 {
        self.open_from
    }

    /// How many windows hold partial aggregates here.
    pub fn windows_open(&self) -> usize {
        self.pending.len()
    }

    /// The event time below which this worker expects nothing more at `now_ms`, ns: `None` while
    /// nothing is known yet and once the input is over.
    pub fn event_frontier_ns(&self, now_ms: u64) -> Option<u64> {
        let bound = match &self.progress {
            Progress::Exact(p) => p.frontier(),
            Progress::Bounded { watermark, .. } => watermark.frontier(now_ms),
        };
        match bound? {
            Bound::At(ns) => Some(ns),
            Bound::Done => None,
        }
    }

    /// Takes one decoded record from `partition`, read at `now_ms`.
    pub fn offer(&mut self, partition: i32, input: Input, now_ms: u64) -> Verdict {
        match input {
            Input::Event(origin, event) => self.event(partition, origin, &event, now_ms),
            Input::Watermark(w) => {
                let applied = match &mut self.progress {
                    Progress::Exact(p) => p.watermark(partition, w.producer, w.watermark_ns),
                    // Bounded mode follows event times only.
                    Progress::Bounded { .. } => Ok(()),
                };
                control(applied)
            }
            Input::End(end) => {
                let applied = match &mut self.progress {
                    Progress::Exact(p) => p.end(partition, end.producer),
                    Progress::Bounded { ends, .. } => ends.end(partition, end.producer),
                };
                control(applied)
            }
            // Windows close on the producers' own progress; a closing record says nothing new.
            Input::Close(_) => Verdict::Control,
        }
    }

    fn event(&mut self, partition: i32, origin: Origin, event: &Event, now_ms: u64) -> Verdict {
        let t = event.event_time_ns;
        let rules = self.rules_of(partition);
        let window = match rules.check(event) {
            Ok(window) => window,
            Err(invalid) => return Verdict::Rejected(invalid.into()),
        };
        let base = rules.known();
        match (&mut self.progress, origin) {
            (Progress::Exact(p), Origin::Ours { producer, .. }) => {
                match p.event(partition, producer, t) {
                    Ok(()) => {}
                    Err(ProgressError::Regressed { promised_ns, .. }) => {
                        return Verdict::Late(Late::Regressed {
                            producer,
                            event_ns: t,
                            promised_ns,
                        });
                    }
                    Err(other) => return Verdict::Rejected(Rejection::Progress(other)),
                }
            }
            (Progress::Exact(_), Origin::Foreign) => {}
            (Progress::Bounded { watermark, .. }, _) => watermark.record(partition, t, now_ms),
        }
        if window < self.open_from {
            return Verdict::Late(Late::WindowClosed {
                window,
                open_from: self.open_from,
            });
        }
        self.count_in(window, event, base);
        Verdict::Counted
    }

    /// Adds `event` to the partial aggregates of `window`, which it belongs to; its partition allowed
    /// the base times `base`.
    fn count_in(&mut self, window: u64, event: &Event, base: BaseRange) {
        let slot = self.pending.entry(window).or_default();
        slot[(event.campaign_id - 1) as usize] += Aggregate::of(event).within(base);
    }

    /// The lowest window still open under an event-time bound (`None`: the input is over).
    fn open_at(&self, bound: Option<Bound>) -> Option<u64> {
        match bound {
            None | Some(Bound::Done) => None,
            Some(Bound::At(ns)) => Some(
                self.first_window_at(ns.saturating_sub(self.lateness_ns))
                    .max(self.open_from),
            ),
        }
    }

    /// The first window that may still receive event time `ns`, counted from the latest base time the
    /// worker's partitions allow: an uncertain base never closes a window early. Partitions that have
    /// said nothing of the base yet are left out; with nothing known at all, window 0 (nothing closes).
    fn first_window_at(&self, ns: u64) -> u64 {
        let latest_base = match self.rules.windows() {
            Some(windows) => windows.base_ns(),
            None => self
                .partition_rules
                .values()
                .map(PartitionRules::known)
                .filter(|k| !k.is_any())
                .map(|k| k.hi)
                .max()
                .unwrap_or(u64::MAX),
        };
        ns.saturating_sub(latest_base) / self.rules.size_ns()
    }

    /// Moves the local frontier forward as far as progress allows at `now_ms`, returning the windows
    /// that closed (with their partial aggregates) and the lowest window still open.
    pub fn advance(&mut self, now_ms: u64) -> Advance {
        // While records are read again after a restart, the windows they rebuild are incomplete.
        if self.replaying() {
            return Advance {
                closed: Vec::new(),
                open_from: Some(self.open_from),
            };
        }
        let open_from = match &self.progress {
            Progress::Exact(p) => self.open_at(p.frontier()),
            Progress::Bounded { watermark, ends } => match watermark.quiet(now_ms) {
                // Our producers' end markers end the stream, when the run has producers of ours.
                _ if (ends.expects_any() && ends.is_done()) || watermark.reads_nothing() => None,
                Quiet::End => None,
                // Every open window closes; later records for them are late, newer ones open new
                // windows.
                Quiet::CloseAll => Some(
                    self.pending
                        .keys()
                        .last()
                        .map_or(0, |w| w + 1)
                        .max(self.open_from),
                ),
                // Nothing seen yet: hold where we are.
                Quiet::No => self.open_at(Some(watermark.frontier(now_ms).unwrap_or(Bound::At(0)))),
            },
        };
        let closed = match open_from {
            None => std::mem::take(&mut self.pending).into_iter().collect(),
            Some(open) => {
                let still_open = self.pending.split_off(&open);
                std::mem::replace(&mut self.pending, still_open)
                    .into_iter()
                    .collect()
            }
        };
        if let Some(open) = open_from {
            self.open_from = open;
        }
        Advance { closed, open_from }
    }

    /// Takes the record at `offset` of `partition`, decoded (or the reason it was rejected), read at
    /// `now_ms`. Records below a restored next offset are replayed: only their events in windows not
    /// yet delivered are counted again, into the windows' aggregates.
    pub fn take(
        &mut self,
        partition: i32,
        offset: i64,
        decoded: Result<Input, Rejection>,
        now_ms: u64,
    ) -> Verdict {
        if self.books.entry(partition).or_default().read(offset) {
            if let Ok(Input::Event(_, event)) = &decoded {
                self.replay(partition, offset, event);
            }
            return Verdict::Replayed;
        }
        // An event counted is in the window it states (the rules checked that).
        let window = match &decoded {
            Ok(Input::Event(_, event)) => Some(event.window_id),
            _ => None,
        };
        let verdict = match decoded {
            Ok(input) => self.offer(partition, input, now_ms),
            Err(rejection) => Verdict::Rejected(rejection),
        };
        let book = self.books.entry(partition).or_default();
        match &verdict {
            Verdict::Counted => book.taken(offset, window),
            Verdict::Control => {
                book.taken(offset, None);
                book.counts_mut().control += 1;
            }
            Verdict::Late(_) => {
                book.taken(offset, None);
                book.counts_mut().late += 1;
            }
            Verdict::Rejected(_) => {
                book.taken(offset, None);
                book.counts_mut().rejected += 1;
            }
            Verdict::Replayed => {}
        }
        verdict
    }

    /// Counts a replayed `event` again if its window is not yet delivered, judged against the base
    /// range the partition had reached (restored with it).
    fn replay(&mut self, partition: i32, offset: i64, event: &Event) {
        let rules = self.rules_of(partition);
        let Ok(window) = rules.recheck(event) else {
            return;
        };
        let base = rules.known();
        if self
            .books
            .entry(partition)
            .or_default()
            .replayed_in(window, offset)
        {
            self.count_in(window, event, base);
        }
    }

    /// Per partition read, the offset after the last record taken.
    pub fn read_to(&self) -> BTreeMap<i32, i64> {
        self.books
            .iter()
            .map(|(&partition, book)| (partition, book.cursor()))
            .collect()
    }

    /// Per partition read: the next offset to take and its counters.
    pub fn positions(&self) -> impl Iterator<Item = (i32, i64, PartitionCounts)> + '_ {
        self.books
            .iter()
            .map(|(&partition, book)| (partition, book.next_offset(), book.counts()))
    }

    /// Whether records a failed incarnation processed are still being read again: a checkpoint taken
    /// now would not yet know where every open window starts.
    pub fn replaying(&self) -> bool {
        self.books.values().any(Book::replaying)
    }

    /// The state of every partition read so far, given that every window below `delivered_below`
    /// has all its results in the results topic; forgets where those windows started.
    pub fn checkpoint(&mut self, delivered_below: u64) -> Vec<PartitionCheckpoint> {
        let mut entries = Vec::with_capacity(self.books.len());
        for (&partition, book) in &mut self.books {
            let base = self
                .partition_rules
                .get(&partition)
                .map_or(BaseRange::ANY, PartitionRules::known);
            let progress = self.progress.row(partition, base);
            entries.push(book.checkpoint(partition, delivered_below, progress));
        }
        entries
    }

    /// Restores partitions from their checkpoints; returns their counters, summed. The reader must
    /// then start each partition at its entry's `replay_from`. `mine` are all the worker's partitions:
    /// one without an entry starts from nothing.
    pub fn restore(&mut self, mine: &[i32], entries: &[PartitionCheckpoint]) -> PartitionCounts {
        let mut total = PartitionCounts::default();
        for entry in entries {
            let p = entry.partition;
            if let Some(base) = self.progress.restore(p, &entry.progress) {
                self.rules_of(p).restore(base);
            }
            self.books.insert(p, Book::restored(entry));
            total += entry.counts;
        }
        self.open_from = mine
            .iter()
            .map(|p| self.books.get(p).map_or(0, Book::delivered_below))
            .min()
            .unwrap_or(0);
        total
    }
}

fn control(applied: Result<(), ProgressError>) -> Verdict {
    match applied {
        Ok(()) => Verdict::Control,
        Err(error) => Verdict::Rejected(Rejection::BadControl(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use adstream_protocol::window::Windows;
    use adstream_protocol::wire::{AdType, EndMarker, EventType, Watermark};
    use uuid::Uuid;

    use super::*;
    use crate::core::watermark::{BoundedProgress, ExactProgress};

    const S: u64 = 1_000; // window size in ns for the tests

    fn event(t: u64, campaign: u32, produce_time: u64) -> Event {
        Event {
            user_id: Uuid::nil(),
            page_id: Uuid::nil(),
            ad_id: Uuid::nil(),
            ad_type: AdType::Image,
            event_type: EventType::View,
            event_time_ns: t,
            window_id: t / S,
            ip_address: Ipv4Addr::LOCALHOST,
            campaign_id: campaign,
            produce_time,
        }
    }

    fn ours(producer: u32) -> Origin {
        Origin::Ours { producer, seq: 0 }
    }

    fn exact(partitions: &[i32], producers: &[u32]) -> WindowState {
        WindowState::new(
            EventRules::new(Windows::new(0, S)),
            Progress::Exact(ExactProgress::new(partitions, producers)),
        )
    }

    fn counts(aggregates: &CampaignAggregates) -> Vec<(u32, u64, u64)> {
        (1..)
            .zip(aggregates)
            .filter(|(_, a)| a.count > 0)
            .map(|(c, a)| (c, a.count, a.max_produce_time))
            .collect()
    }

    #[test]
    fn events_land_in_their_windows_and_close_with_the_slowest_producer() {
        let mut s = exact(&[0, 1], &[0, 1]);
        assert_eq!(
            s.offer(0, Input::Event(ours(0), event(100, 3, 7)), 0),
            Verdict::Counted
        );
        assert_eq!(
            s.offer(1, Input::Event(ours(1), event(900, 3, 9)), 0),
            Verdict::Counted
        );
        assert_eq!(
            s.offer(0, Input::Event(ours(0), event(1_500, 4, 11)), 0),
            Verdict::Counted
        );
        assert_eq!(
            s.advance(0),
            Advance {
                closed: vec![],
                open_from: Some(0)
            }
        );
        // Producer 1 passes window 0 on partition 0 and 1; producer 0 still has to on partition 1.
        for p in [0, 1] {
            s.offer(
                p,
                Input::Watermark(Watermark {
                    producer: 1,
                    watermark_ns: 2_000,
                }),
                0,
            );
        }
        assert_eq!(s.advance(0).closed, vec![]);
        s.offer(
            1,
            Input::Watermark(Watermark {
                producer: 0,
                watermark_ns: 1_200,
            }),
            0,
        );
        let advance = s.advance(0);
        assert_eq!(advance.open_from, Some(1));
        assert_eq!(advance.closed.len(), 1);
        assert_eq!(advance.closed[0].0, 0);
        assert_eq!(counts(&advance.closed[0].1), [(3, 2, 9)]);
        // Everyone ends: the rest closes and the input is over.
        for p in [0, 1] {
            for producer in [0, 1] {
                s.offer(
                    p,
                    Input::End(EndMarker {
                        producer,
                        events: 0,
                    }),
                    0,
                );
            }
        }
        let last = s.advance(0);
        assert_eq!(last.open_from, None);
        assert_eq!(
            last.closed
                .iter()
                .map(|(w, a)| (*w, counts(a)))
                .collect::<Vec<_>>(),
            [(1, vec![(4, 1, 11)])]
        );
    }

    #[test]
    fn late_and_bad_records_are_named() {
        let mut s = exact(&[0], &[0]);
        s.offer(
            0,
            Input::Watermark(Watermark {
                producer: 0,
                watermark_ns: 2_500,
            }),
            0,
        );
        assert_eq!(s.advance(0).open_from, Some(2));
        assert!(matches!(
            s.offer(0, Input::Event(ours(0), event(2_400, 1, 1)), 0),
            Verdict::Late(_)
        ));
        // A foreign event below the open windows is late too.
        assert!(matches!(
            s.offer(0, Input::Event(Origin::Foreign, event(100, 1, 1)), 0),
            Verdict::Late(_)
        ));
        assert!(matches!(
            s.offer(0, Input::Event(ours(5), event(3_000, 1, 1)), 0),
            Verdict::Rejected(_)
        ));
        let mut wrong_window = event(3_000, 1, 1);
        wrong_window.window_id = 9;
        assert!(
            matches!(s.offer(0, Input::Event(ours(0), wrong_window), 0), Verdict::Rejected(r) if r.to_string().contains("window_id 9"))
        );
        assert!(matches!(
            s.offer(
                0,
                Input::End(EndMarker {
                    producer: 8,
                    events: 0
                }),
                0
            ),
            Verdict::Rejected(_)
        ));
    }

    #[test]
    fn a_worker_without_partitions_is_over_at_once() {
        let mut s = exact(&[], &[0, 1]);
        assert_eq!(
            s.advance(0),
            Advance {
                closed: vec![],
                open_from: None
            }
        );
    }

    #[test]
    fn bounded_mode_closes_behind_the_largest_time_and_ends_on_end_markers() {
        let mut s = WindowState::new(
            EventRules::new(Windows::new(0, S)),
            Progress::Bounded {
                watermark: BoundedProgress::new(&[0], 200, 10_000, 0),
                ends: ExactProgress::new(&[0], &[0]),
            },
        );
        assert_eq!(s.advance(0).open_from, Some(0), "nothing seen: hold");
        s.offer(0, Input::Event(Origin::Foreign, event(500, 2, 1)), 0);
        s.offer(0, Input::Event(Origin::Foreign, event(2_300, 2, 2)), 1);
        let a = s.advance(2);
        assert_eq!(a.open_from, Some(2), "2300 − 200 = 2100 is in window 2");
        assert_eq!(a.closed.iter().map(|(w, _)| *w).collect::<Vec<_>>(), [0]);
        s.offer(
            0,
            Input::End(EndMarker {
                producer: 0,
                events: 2,
            }),
            3,
        );
        let end = s.advance(4);
        assert_eq!(end.open_from, None);
        assert_eq!(end.closed.iter().map(|(w, _)| *w).collect::<Vec<_>>(), [2]);
    }

    mod resume {
        use super::*;

        /// Our producer 0's event at `t` for `campaign`, produced at `t`.
        fn event_at(t: u64, campaign: u32) -> Input {
            Input::Event(ours(0), event(t, campaign, t))
        }

        fn state() -> WindowState {
            exact(&[0], &[0])
        }

        /// One partition: events every 10 ns over 3 windows, a watermark at each window's start.
        fn records() -> Vec<Input> {
            let mut records = Vec::new();
            for t in (0..3 * S).step_by(10) {
                if t % S == 0 {
                    records.push(Input::Watermark(Watermark {
                        producer: 0,
                        watermark_ns: t,
                    }));
                }
                records.push(event_at(t, (t / 10 % 10) as u32 + 1));
            }
            records
        }

        /// Every window's aggregates, closing everything at the end.
        fn run(
            state: &mut WindowState,
            from: i64,
            records: &[Input],
        ) -> Vec<(u64, CampaignAggregates)> {
            let mut closed = Vec::new();
            for (offset, record) in records.iter().enumerate().skip(from as usize) {
                state.take(0, offset as i64, Ok(record.clone()), 0);
                closed.extend(state.advance(0).closed);
            }
            closed
        }

        #[test]
        fn a_worker_restored_from_a_checkpoint_rebuilds_its_open_windows_exactly() {
            let records = records();
            let mut whole = state();
            let expected = run(&mut whole, 0, &records);
            for crash_at in [5, 120, 150, 210, 250] {
                // The first incarnation reads up to `crash_at` and checkpoints (window 0 delivered).
                let mut first = state();
                let closed = run(&mut first, 0, &records[..crash_at]);
                let delivered_below = closed.last().map_or(0, |(w, _)| w + 1);
                let entries = first.checkpoint(delivered_below);
                // The second restores, reads from the replay offset, and closes the rest.
                let mut second = state();
                second.restore(&[0], &entries);
                let rebuilt = run(&mut second, entries[0].replay_from, &records);
                let mut all = closed;
                all.retain(|(w, _)| *w < delivered_below);
                all.extend(rebuilt);
                assert_eq!(all, expected, "crash at {crash_at}");
            }
        }
    }
}
