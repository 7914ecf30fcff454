//! Taking each partition's offsets strictly in order: the rule, free of I/O ([`crate::ordered`] applies it
//! to a consumer).
//!
//! Kafka hands an assigned consumer every offset of a partition once, in order. tansu 0.6.0 (the local
//! broker) does not when several producers write to one partition while a consumer reads it: a fetch
//! can return a later batch before an earlier one is visible (offset 1908 after 1903) and return the
//! later batch again once the earlier one appears. A reader that follows the broker then skips records
//! and counts others twice. So the reader accepts only the next expected offset: a repeat is dropped,
//! and a forward gap makes it seek back and ask again. Real Kafka can leave legitimate gaps (the
//! markers of transactions take offsets), so a gap that persists past [`GAP_PATIENCE`] is accepted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a gap in the offsets is re-fetched before it is taken as real.
pub const GAP_PATIENCE: Duration = Duration::from_secs(2);

/// What to do with a record at some offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// The next offset: take it.
    Yes,
    /// Already taken: drop it.
    Repeat,
    /// Offsets are missing before it: drop it and fetch again from this offset.
    Refetch(i64),
}

/// The next expected offset of each partition and any gap being waited out.
#[derive(Debug, Clone, Default)]
pub struct OffsetOrder {
    next: BTreeMap<i32, i64>,
    gap_since: BTreeMap<i32, Instant>,
}

impl OffsetOrder {
    /// Expects each partition's records from its start offset.
    pub fn new(starts: impl IntoIterator<Item = (i32, i64)>) -> Self {
        Self {
            next: starts.into_iter().collect(),
            gap_since: BTreeMap::new(),
        }
    }

    /// Whether to take a record at `offset` of `partition`; `now` tells the time, asked only when
    /// there is a gap (reading the clock for every record cost the job a few percent).
    pub fn check(&mut self, partition: i32, offset: i64, now: impl FnOnce() -> Instant) -> Accept {
        let next = self.next.entry(partition).or_insert(offset);
        if offset < *next {
            return Accept::Repeat;
        }
        if offset > *next {
            let now = now();
            let since = *self.gap_since.entry(partition).or_insert(now);
            if now.duration_since(since) < GAP_PATIENCE {
                return Accept::Refetch(*next);
            }
        }
        if !self.gap_since.is_empty() {
            self.gap_since.remove(&partition);
        }
        *next = offset + 1;
        Accept::Yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_offsets_are_taken_and_repeats_dropped() {
        let now = Instant::now();
        let mut order = OffsetOrder::new([(0, 0), (1, 5)]);
        assert_eq!(order.check(0, 0, || now), Accept::Yes);
        assert_eq!(order.check(0, 1, || now), Accept::Yes);
        assert_eq!(order.check(0, 1, || now), Accept::Repeat);
        assert_eq!(order.check(1, 5, || now), Accept::Yes);
        assert_eq!(order.check(1, 3, || now), Accept::Repeat);
    }

    #[test]
    fn a_gap_is_refetched_until_it_fills() {
        // The broker's sequence seen here: 1903, then 1908 (1904..=1907 not yet visible), then again.
        let now = Instant::now();
        let mut order = OffsetOrder::new([(1, 1903)]);
        assert_eq!(order.check(1, 1903, || now), Accept::Yes);
        assert_eq!(order.check(1, 1908, || now), Accept::Refetch(1904));
        assert_eq!(order.check(1, 1909, || now), Accept::Refetch(1904));
        for offset in 1904..=1911 {
            assert_eq!(order.check(1, offset, || now), Accept::Yes);
        }
        assert_eq!(order.check(1, 1908, || now), Accept::Repeat);
    }

    #[test]
    fn a_gap_that_persists_is_accepted() {
        let start = Instant::now();
        let mut order = OffsetOrder::new([(0, 10)]);
        assert_eq!(order.check(0, 12, || start), Accept::Refetch(10));
        assert_eq!(
            order.check(0, 12, || start + GAP_PATIENCE / 2),
            Accept::Refetch(10)
        );
        assert_eq!(order.check(0, 12, || start + GAP_PATIENCE), Accept::Yes);
        assert_eq!(order.check(0, 13, || start + GAP_PATIENCE), Accept::Yes);
        // A later gap waits afresh.
        assert_eq!(
            order.check(0, 15, || start + GAP_PATIENCE * 3),
            Accept::Refetch(14)
        );
    }
}
