//! Checkpoints (ARCHITECTURE.md, "Fault tolerance"): what a worker must remember of each partition
//! it reads to resume after a crash, with the same or another number of workers and processes, and
//! the format they are stored in.
//!
//! The design, and why it is right:
//! - **Per partition, self-contained.** A partition is read by one worker, so its state is consistent
//!   by construction; a restarted job with another layout takes each partition's newest entry, from
//!   whichever worker wrote it.
//! - **Offsets, progress and counts — not aggregates.** An entry holds the next offset to read, every
//!   producer's event-time bound there, the partition's counters, the delivered frontier (every
//!   window below it has all its results in the results topic) and the *replay offset*: the first
//!   record of any window not yet delivered. A restarted worker reads from the replay offset; records
//!   below the next offset are replayed — their events re-aggregated into windows at or above the
//!   delivered frontier, nothing else (no progress, no counts, no dead letters, which happened
//!   already) — and from the next offset on it runs as before. Open windows' partial sums are thus
//!   recomputed from the topic instead of stored, so a checkpoint is a few hundred bytes whatever the
//!   load, and closed-but-undelivered windows need nothing extra: they are open again until their
//!   results are confirmed. The cost is re-reading at most the undelivered windows' records.
//! - **Exactly once with the results sink.** Results already in the topic are skipped on restart
//!   ([`crate::kafka::readback`]), and the delivered frontier only passes a window once every
//!   result of it is confirmed ([`crate::operators::sink`]), so a window is either complete in the
//!   topic or recomputed.
//! - **Detected corruption.** Each stored checkpoint carries a CRC-32 of its body; one that does not
//!   match, or does not parse, is skipped with a warning and the previous one is used.

use std::collections::BTreeMap;

use adstream_protocol::window::BaseRange;
use serde::{Deserialize, Serialize};

use crate::core::watermark::Bound;

/// Counters of one partition, as the summary reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCounts {
    /// Valid events counted.
    pub processed: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Late events.
    pub late: u64,
    /// Control records applied.
    pub control: u64,
}

impl std::ops::AddAssign for PartitionCounts {
    fn add_assign(&mut self, o: Self) {
        self.processed += o.processed;
        self.rejected += o.rejected;
        self.late += o.late;
        self.control += o.control;
    }
}

/// Event-time progress of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionProgress {
    /// Exact mode: every expected producer's bound.
    Exact(Vec<(u32, Bound)>),
    /// Bounded mode: the largest event time seen, the end markers' bounds, and the base times the
    /// partition's events allow.
    Bounded {
        /// Largest event time seen.
        max_event_ns: Option<u64>,
        /// Producers' end markers seen (as bounds).
        ends: Vec<(u32, Bound)>,
        /// The base times the partition's valid events allow (any when the base is given).
        #[serde(default)]
        base: BaseRange,
    },
}

/// What a restarted worker needs of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCheckpoint {
    /// The partition.
    pub partition: i32,
    /// Records below this offset have been processed.
    pub next_offset: i64,
    /// The first record of any window not yet delivered: where a restart reads from.
    pub replay_from: i64,
    /// Every window below this has all its results in the results topic.
    pub delivered_below: u64,
    /// Event-time progress after the records below `next_offset`.
    pub progress: PartitionProgress,
    /// Counters after the records below `next_offset`.
    pub counts: PartitionCounts,
}

/// One worker's checkpoint: its partitions at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The job it belongs to; a job never resumes another's state.
    pub job: String,
    /// The worker that took it (its global index in the layout of the time).
    pub worker: u32,
    /// When it was taken (Unix ms); with `seq`, the order of checkpoints.
    pub taken_at_ms: u64,
    /// The worker's count of checkpoints taken.
    pub seq: u64,
    /// Its partitions.
    pub partitions: Vec<PartitionCheckpoint>,
}

/// The first word of a stored checkpoint: format and version.
const MAGIC: &str = "adstream-checkpoint-v1";

/// Why a stored checkpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Corrupt {
    /// It is not a checkpoint of this format.
    #[error("not an {MAGIC} checkpoint")]
    Format,
    /// Its body does not match its checksum (torn or damaged).
    #[error("checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum {
        /// The checksum it carries.
        stored: u32,
        /// The checksum of its body.
        computed: u32,
    },
    /// Its body matches but does not parse.
    #[error("body does not parse: {0}")]
    Body(String),
}

impl Checkpoint {
    /// The stored form: `MAGIC CRC32 JSON` on one line.
    pub fn encode(&self) -> String {
        let body = serde_json::to_string(self).expect("checkpoints serialise");
        format!("{MAGIC} {:08x} {body}\n", crc32fast::hash(body.as_bytes()))
    }

    /// The checkpoint stored in `text`, checked.
    pub fn decode(text: &str) -> Result<Self, Corrupt> {
        let rest = text.strip_prefix(MAGIC).ok_or(Corrupt::Format)?;
        let (crc, body) = rest.trim_start().split_once(' ').ok_or(Corrupt::Format)?;
        let stored = u32::from_str_radix(crc, 16).map_err(|_| Corrupt::Format)?;
        let body = body.trim_end_matches('\n');
        let computed = crc32fast::hash(body.as_bytes());
        if stored != computed {
            return Err(Corrupt::Checksum { stored, computed });
        }
        serde_json::from_str(body).map_err(|e| Corrupt::Body(e.to_string()))
    }
}

/// Newest entries per partition, collected from checkpoints in any order.
#[derive(Debug, Default)]
pub(crate) struct Newest(BTreeMap<i32, (u64, u64, PartitionCheckpoint)>);

impl Newest {
    pub(crate) fn offer(&mut self, checkpoint: Checkpoint) {
        for entry in checkpoint.partitions {
            let order = (checkpoint.taken_at_ms, checkpoint.seq);
            let newer = self
                .0
                .get(&entry.partition)
                .is_none_or(|(at, seq, _)| order > (*at, *seq));
            if newer {
                self.0.insert(entry.partition, (order.0, order.1, entry));
            }
        }
    }

    pub(crate) fn into_partitions(self) -> BTreeMap<i32, PartitionCheckpoint> {
        self.0.into_iter().map(|(p, (_, _, e))| (p, e)).collect()
    }
}

/// What loading found: each partition's newest valid entry, and the files that could not be used.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Per partition, its newest entry.
    pub partitions: BTreeMap<i32, PartitionCheckpoint>,
    /// Files skipped, each with why.
    pub corrupt: Vec<String>,
    /// Valid checkpoints read.
    pub valid: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            job: "run-1".to_owned(),
            worker: 1,
            taken_at_ms: 1_700,
            seq: 3,
            partitions: vec![PartitionCheckpoint {
                partition: 2,
                next_offset: 900,
                replay_from: 750,
                delivered_below: 4,
                progress: PartitionProgress::Exact(vec![(0, Bound::At(42)), (1, Bound::Done)]),
                counts: PartitionCounts {
                    processed: 880,
                    rejected: 1,
                    late: 0,
                    control: 19,
                },
            }],
        }
    }

    #[test]
    fn checkpoints_round_trip_through_their_stored_form() {
        let text = sample().encode();
        assert!(text.starts_with("adstream-checkpoint-v1 "));
        assert_eq!(Checkpoint::decode(&text), Ok(sample()));
    }

    #[test]
    fn a_damaged_or_torn_checkpoint_is_detected() {
        let text = sample().encode();
        let damaged = text.replace("\"next_offset\":900", "\"next_offset\":901");
        assert!(matches!(
            Checkpoint::decode(&damaged),
            Err(Corrupt::Checksum { .. })
        ));
        let torn = &text[..text.len() / 2];
        assert!(Checkpoint::decode(torn).is_err());
        assert_eq!(Checkpoint::decode("hello"), Err(Corrupt::Format));
    }
}
