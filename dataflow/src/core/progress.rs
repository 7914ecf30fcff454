//! How one worker tracks event-time progress — exact (our producers' promises) or bounded (max seen −
//! out-of-orderness) — over the per-partition trackers of [`crate::core::watermark`], and what a
//! checkpoint keeps of it per partition.

use adstream_protocol::window::BaseRange;

use crate::core::checkpoint::PartitionProgress;
use crate::core::watermark::{BoundedProgress, ExactProgress};

/// How this worker tracks event-time progress.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Exact mode: the expected producers' promises.
    Exact(ExactProgress),
    /// Bounded mode: max seen − out-of-orderness; the end markers still end the stream.
    Bounded {
        /// The watermark.
        watermark: BoundedProgress,
        /// End markers, to know when the stream is over.
        ends: ExactProgress,
    },
}

impl Progress {
    /// What a checkpoint keeps of `partition`'s progress; `base` is the base range its events allowed.
    pub fn row(&self, partition: i32, base: BaseRange) -> PartitionProgress {
        match self {
            Progress::Exact(p) => PartitionProgress::Exact(p.row(partition)),
            Progress::Bounded { watermark, ends } => PartitionProgress::Bounded {
                max_event_ns: watermark.max_seen(partition),
                ends: ends.row(partition),
                base,
            },
        }
    }

    /// Restores `partition`'s progress from a checkpoint's `row`; the base range it restores, in
    /// bounded mode. A row of the other mode says nothing this mode can use.
    pub fn restore(&mut self, partition: i32, row: &PartitionProgress) -> Option<BaseRange> {
        match (self, row) {
            (Progress::Exact(progress), PartitionProgress::Exact(row)) => {
                progress.restore_row(partition, row);
                None
            }
            (
                Progress::Bounded { watermark, ends },
                PartitionProgress::Bounded {
                    max_event_ns,
                    ends: row,
                    base,
                },
            ) => {
                watermark.restore_max_seen(partition, *max_event_ns);
                ends.restore_row(partition, row);
                Some(*base)
            }
            _ => None,
        }
    }
}
