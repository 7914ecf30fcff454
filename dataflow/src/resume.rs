//! A worker's state across restarts: the per-partition books a checkpoint is made of — the next offset,
//! the counters, where each open window's records start — and taking records with them, replaying
//! those a failed incarnation had processed, restoring from checkpoints. The design is in
//! [`crate::checkpoint`]; this is its pure core, free of I/O and timely like [`WindowState`].

use std::collections::BTreeMap;

use adstream_protocol::window::BaseRange;

use crate::checkpoint::{PartitionCheckpoint, PartitionCounts, PartitionProgress};
use crate::input::Input;
use crate::window_state::{Progress, Verdict, WindowState};

/// What a worker keeps of one partition for its checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    /// The next offset the reader hands over (while replaying: below `replay_until`).
    cursor: i64,
    next_offset: i64,
    replay_until: i64,
    delivered_below: u64,
    first_offset: BTreeMap<u64, i64>,
    counts: PartitionCounts,
}

impl Book {
    /// Whether records a failed incarnation processed are still being read again.
    pub(crate) fn replaying(&self) -> bool {
        self.cursor < self.replay_until
    }
}

impl WindowState {
    /// Takes the record at `offset` of `partition`, decoded (or the reason it was rejected), read at
    /// `now_ms`. Records below a restored next offset are replayed: only their events in windows not
    /// yet delivered are counted again, into the windows' aggregates.
    pub fn take(
        &mut self,
        partition: i32,
        offset: i64,
        decoded: Result<Input, String>,
        now_ms: u64,
    ) -> Verdict {
        let book = self.books.entry(partition).or_default();
        book.cursor = offset + 1;
        if offset < book.replay_until {
            let delivered_below = book.delivered_below;
            if let Ok(Input::Event(_, event)) = &decoded {
                // Judged against the base range the partition had reached (restored with it).
                let rules = self.rules_of(partition);
                if let Ok(window) = rules.recheck(event)
                    && window >= delivered_below
                {
                    let base = rules.known();
                    let book = self.books.entry(partition).or_default();
                    book.first_offset.entry(window).or_insert(offset);
                    self.count_in(window, event, base);
                }
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
            Err(reason) => Verdict::Rejected(reason),
        };
        let book = self.books.entry(partition).or_default();
        book.next_offset = offset + 1;
        match &verdict {
            Verdict::Counted => {
                book.counts.processed += 1;
                if let Some(window) = window {
                    book.first_offset.entry(window).or_insert(offset);
                }
            }
            Verdict::Control => book.counts.control += 1,
            Verdict::Late(_) => book.counts.late += 1,
            Verdict::Rejected(_) => book.counts.rejected += 1,
            Verdict::Replayed => {}
        }
        verdict
    }

    /// Per partition read, the offset after the last record taken.
    pub fn read_to(&self) -> std::collections::BTreeMap<i32, i64> {
        self.books
            .iter()
            .map(|(&partition, book)| (partition, book.cursor))
            .collect()
    }

    /// Per partition read: the next offset to take and its counters.
    pub fn positions(&self) -> impl Iterator<Item = (i32, i64, PartitionCounts)> + '_ {
        self.books
            .iter()
            .map(|(&partition, book)| (partition, book.next_offset, book.counts))
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
            book.delivered_below = book.delivered_below.max(delivered_below);
            book.first_offset = book.first_offset.split_off(&book.delivered_below);
            let replay_from = book
                .first_offset
                .values()
                .copied()
                .min()
                .unwrap_or(book.next_offset)
                .min(book.next_offset);
            let progress = match &self.progress {
                Progress::Exact(p) => PartitionProgress::Exact(p.row(partition)),
                Progress::Bounded { watermark, ends } => PartitionProgress::Bounded {
                    max_event_ns: watermark.max_seen(partition),
                    ends: ends.row(partition),
                    base: self
                        .partition_rules
                        .get(&partition)
                        .map_or(BaseRange::ANY, |r| r.known()),
                },
            };
            entries.push(PartitionCheckpoint {
                partition,
                next_offset: book.next_offset,
                replay_from,
                delivered_below: book.delivered_below,
                progress,
                counts: book.counts,
            });
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
            match (&mut self.progress, &entry.progress) {
                (Progress::Exact(progress), PartitionProgress::Exact(row)) => {
                    progress.restore_row(p, row);
                }
                (
                    Progress::Bounded { watermark, ends },
                    PartitionProgress::Bounded {
                        max_event_ns,
                        ends: row,
                        base,
                    },
                ) => {
                    watermark.restore_max_seen(p, *max_event_ns);
                    ends.restore_row(p, row);
                    let rules = self.rules;
                    self.partition_rules
                        .entry(p)
                        .or_insert_with(|| rules.partition())
                        .restore(*base);
                }
                // A checkpoint of the other mode says nothing this mode can use.
                _ => {}
            }
            self.books.insert(
                p,
                Book {
                    cursor: entry.replay_from,
                    next_offset: entry.next_offset,
                    replay_until: entry.next_offset,
                    delivered_below: entry.delivered_below,
                    first_offset: BTreeMap::new(),
                    counts: entry.counts,
                },
            );
            total += entry.counts;
        }
        self.open_from = mine
            .iter()
            .map(|p| self.books.get(p).map_or(0, |b| b.delivered_below))
            .min()
            .unwrap_or(0);
        total
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use adstream_protocol::validity::EventRules;
    use adstream_protocol::window::Windows;
    use adstream_protocol::wire::{AdType, Event, EventType, Watermark};
    use uuid::Uuid;

    use super::*;
    use crate::input::Origin;
    use crate::watermark::ExactProgress;
    use crate::window_state::CampaignAggregates;

    const S: u64 = 1_000;

    fn event(t: u64, campaign: u32) -> Input {
        Input::Event(
            Origin::Ours {
                producer: 0,
                seq: 0,
            },
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
                produce_time: t,
            },
        )
    }

    fn state() -> WindowState {
        WindowState::new(
            EventRules::new(Windows::new(0, S)),
            Progress::Exact(ExactProgress::new(&[0], &[0])),
        )
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
            records.push(event(t, (t / 10 % 10) as u32 + 1));
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
