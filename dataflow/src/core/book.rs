//! What a worker keeps of one partition for its checkpoints: the next offset, the counters, where each
//! open window's records start, and — after a restart — up to which offset records are read again to
//! rebuild open windows. The design is in [`crate::core::checkpoint`]; [`WindowState`] keeps one book
//! per partition it reads and writes each record's outcome into it.
//!
//! [`WindowState`]: crate::core::window_state::WindowState

use std::collections::BTreeMap;

use crate::core::checkpoint::{PartitionCheckpoint, PartitionCounts, PartitionProgress};

/// What a worker keeps of one partition for its checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Book {
    /// The next offset the reader hands over (while replaying: below `replay_until`).
    cursor: i64,
    /// The next offset to take (not replay).
    next_offset: i64,
    /// Records below this offset were processed by a failed incarnation: they are replayed.
    replay_until: i64,
    /// Every window below this has all its results in the results topic.
    delivered_below: u64,
    /// Per window not yet delivered, the offset of its first record here.
    first_offset: BTreeMap<u64, i64>,
    counts: PartitionCounts,
}

impl Book {
    /// The book of a partition restored from its checkpoint `entry`: the reader starts at the entry's
    /// replay offset, and records below its next offset are replayed.
    pub fn restored(entry: &PartitionCheckpoint) -> Self {
        Self {
            cursor: entry.replay_from,
            next_offset: entry.next_offset,
            replay_until: entry.next_offset,
            delivered_below: entry.delivered_below,
            first_offset: BTreeMap::new(),
            counts: entry.counts,
        }
    }

    /// Whether records a failed incarnation processed are still being read again.
    pub fn replaying(&self) -> bool {
        self.cursor < self.replay_until
    }

    /// The record at `offset` is read; whether it is one a failed incarnation processed (replayed).
    pub fn read(&mut self, offset: i64) -> bool {
        self.cursor = offset + 1;
        offset < self.replay_until
    }

    /// A replayed record at `offset` holds an event of `window`: whether it is counted again (its
    /// window is not yet delivered), remembering where that window starts.
    pub fn replayed_in(&mut self, window: u64, offset: i64) -> bool {
        if window < self.delivered_below {
            return false;
        }
        self.first_offset.entry(window).or_insert(offset);
        true
    }

    /// The record at `offset` was taken; `counted_in` is the window its event was counted in, if it
    /// was.
    pub fn taken(&mut self, offset: i64, counted_in: Option<u64>) {
        self.next_offset = offset + 1;
        if let Some(window) = counted_in {
            self.counts.processed += 1;
            self.first_offset.entry(window).or_insert(offset);
        }
    }

    /// The counters, to count a record that was not an event counted.
    pub fn counts_mut(&mut self) -> &mut PartitionCounts {
        &mut self.counts
    }

    /// The offset after the last record read.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// The next offset to take.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// The counters.
    pub fn counts(&self) -> PartitionCounts {
        self.counts
    }

    /// The lowest window not known to be delivered.
    pub fn delivered_below(&self) -> u64 {
        self.delivered_below
    }

    /// The checkpoint entry of `partition` with event-time `progress`, given that every window below
    /// `delivered_below` has all its results in the results topic; forgets where those windows started.
    pub fn checkpoint(
        &mut self,
        partition: i32,
        delivered_below: u64,
        progress: PartitionProgress,
    ) -> PartitionCheckpoint {
        self.delivered_below = self.delivered_below.max(delivered_below);
        self.first_offset = self.first_offset.split_off(&self.delivered_below);
        let replay_from = self
            .first_offset
            .values()
            .copied()
            .min()
            .unwrap_or(self.next_offset)
            .min(self.next_offset);
        PartitionCheckpoint {
            partition,
            next_offset: self.next_offset,
            replay_from,
            delivered_below: self.delivered_below,
            progress,
            counts: self.counts,
        }
    }
}
