//! Each event of our producers is written once: its (producer, sequence number) pair — the `producer`
//! and `seq` headers — appears at most once in the events topic. A producer restarted after a crash
//! must not send again what its earlier incarnation stored; this is the check that it did not.
//!
//! A producer's sequence numbers run 0, 1, 2, …, so one bit per number and producer is enough.

use std::collections::BTreeMap;

/// The (producer, seq) pairs seen so far, and the ones seen more than once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrittenOnce {
    /// Per producer, a bit per sequence number.
    seen: BTreeMap<u32, Vec<u64>>,
    repeats: u64,
    first_repeat: Option<(u32, u64)>,
}

impl WrittenOnce {
    /// Nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Producer `producer`'s event `seq` is in the topic (once more); whether it was the first time.
    pub fn offer(&mut self, producer: u32, seq: u64) -> bool {
        let bits = self.seen.entry(producer).or_default();
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if bits.len() <= word {
            bits.resize(word + 1, 0);
        }
        let first = bits[word] & (1 << bit) == 0;
        bits[word] |= 1 << bit;
        if !first {
            self.repeats += 1;
            self.first_repeat.get_or_insert((producer, seq));
        }
        first
    }

    /// Events seen again after their first time.
    pub fn repeats(&self) -> u64 {
        self.repeats
    }

    /// What is wrong, when anything is: e.g. "3 events are in the events topic more than once
    /// (first: producer 0 seq 1234)".
    pub fn problem(&self) -> Option<String> {
        let (producer, seq) = self.first_repeat?;
        Some(format!(
            "{} events are in the events topic more than once (first: producer {producer} seq {seq})",
            self.repeats
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_seen_twice_is_a_repeat_named_by_the_first() {
        let mut once = WrittenOnce::new();
        assert!(once.offer(0, 0) && once.offer(0, 200) && once.offer(1, 0) && once.offer(0, 63));
        assert_eq!(once.problem(), None);
        assert!(!once.offer(0, 200));
        assert!(!once.offer(1, 0));
        assert!(once.offer(0, 64));
        assert_eq!(once.repeats(), 2);
        assert_eq!(
            once.problem().as_deref(),
            Some("2 events are in the events topic more than once (first: producer 0 seq 200)")
        );
    }
}
