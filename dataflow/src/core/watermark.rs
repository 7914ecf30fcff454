//! Event-time progress of the partitions one worker reads, kept free of I/O so it is tested directly.
//!
//! - [`ExactProgress`] (exact mode, for our producers: ARCHITECTURE.md, "Windows and watermarks"):
//!   for every (partition, expected producer) the lowest event time that producer may still send
//!   there. A producer's times only increase, so an event at `t` or a watermark `t` raises that
//!   bound to `t`; an end marker raises it to infinity. The worker's frontier is the minimum over
//!   all pairs: every expected producer counts from the start, so one that starts late holds its
//!   windows open instead of finding them closed. Nothing is guessed.
//! - [`BoundedProgress`] (records without our headers): the largest event time seen minus a maximum
//!   out-of-orderness, per partition, ignoring partitions idle for longer than a timeout so a quiet
//!   partition cannot stall the job.
//!
//! A worker with no partitions reports no frontier at all (`None`): it holds nothing back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An event-time bound in nanoseconds; [`Bound::Done`] once the source has nothing more to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Bound {
    /// Nothing below this many nanoseconds will follow.
    At(u64),
    /// Nothing at all will follow.
    Done,
}

/// Why a control record or event could not be applied to [`ExactProgress`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    /// The partition is not read by this worker.
    #[error("partition {0} is not read by this worker")]
    UnknownPartition(i32),
    /// The producer id is not one the job was told to expect.
    #[error("producer {0} is not one of the run's expected producers")]
    UnknownProducer(u32),
    /// The producer went back in event time on this partition (its promise was broken).
    #[error(
        "producer {producer} sent event time {got_ns} ns on partition {partition} after promising {promised_ns} ns"
    )]
    Regressed {
        /// The partition.
        partition: i32,
        /// The producer.
        producer: u32,
        /// The bound it had promised.
        promised_ns: u64,
        /// The earlier time it sent.
        got_ns: u64,
    },
}

/// Exact-mode progress over a worker's partitions and the run's expected producers.
#[derive(Debug, Clone)]
pub struct ExactProgress {
    producers: Vec<u32>,
    bounds: BTreeMap<i32, Vec<Bound>>,
}

impl ExactProgress {
    /// Progress over `partitions` for the `producers` the job expects.
    pub fn new(partitions: &[i32], producers: &[u32]) -> Self {
        let mut producers = producers.to_vec();
        producers.sort_unstable();
        producers.dedup();
        let bounds = partitions
            .iter()
            .map(|&p| (p, vec![Bound::At(0); producers.len()]))
            .collect();
        Self { producers, bounds }
    }

    fn slot(&mut self, partition: i32, producer: u32) -> Result<&mut Bound, ProgressError> {
        let index = self
            .producers
            .binary_search(&producer)
            .map_err(|_| ProgressError::UnknownProducer(producer))?;
        let row = self
            .bounds
            .get_mut(&partition)
            .ok_or(ProgressError::UnknownPartition(partition))?;
        Ok(&mut row[index])
    }

    /// An event of `producer` at `event_time_ns` on `partition`. An event below the producer's own
    /// earlier promise is an error (the caller treats the record as late).
    pub fn event(
        &mut self,
        partition: i32,
        producer: u32,
        event_time_ns: u64,
    ) -> Result<(), ProgressError> {
        let slot = self.slot(partition, producer)?;
        match *slot {
            Bound::At(promised) if event_time_ns < promised => Err(ProgressError::Regressed {
                partition,
                producer,
                promised_ns: promised,
                got_ns: event_time_ns,
            }),
            Bound::Done => Err(ProgressError::Regressed {
                partition,
                producer,
                promised_ns: u64::MAX,
                got_ns: event_time_ns,
            }),
            Bound::At(_) => {
                *slot = Bound::At(event_time_ns);
                Ok(())
            }
        }
    }

    /// A watermark: `producer` sends nothing below `watermark_ns` to `partition` any more.
    pub fn watermark(
        &mut self,
        partition: i32,
        producer: u32,
        watermark_ns: u64,
    ) -> Result<(), ProgressError> {
        let slot = self.slot(partition, producer)?;
        *slot = (*slot).max(Bound::At(watermark_ns));
        Ok(())
    }

    /// An end marker: `producer` sends nothing more to `partition`.
    pub fn end(&mut self, partition: i32, producer: u32) -> Result<(), ProgressError> {
        *self.slot(partition, producer)? = Bound::Done;
        Ok(())
    }

    /// Every expected producer's bound on `partition`, for a checkpoint.
    pub fn row(&self, partition: i32) -> Vec<(u32, Bound)> {
        self.bounds.get(&partition).map_or_else(Vec::new, |row| {
            self.producers
                .iter()
                .copied()
                .zip(row.iter().copied())
                .collect()
        })
    }

    /// Restores bounds of `partition` from a checkpoint (producers the job no longer expects are
    /// ignored; a bound only ever rises).
    pub fn restore_row(&mut self, partition: i32, row: &[(u32, Bound)]) {
        for &(producer, bound) in row {
            if let Ok(slot) = self.slot(partition, producer) {
                *slot = (*slot).max(bound);
            }
        }
    }

    /// The lowest event time any expected producer may still send to any of the partitions, or `None`
    /// when the worker reads no partition.
    pub fn frontier(&self) -> Option<Bound> {
        self.bounds.values().flatten().copied().min()
    }

    /// Whether the run expects any producer of ours (bounded mode with only foreign producers does
    /// not).
    pub fn expects_any(&self) -> bool {
        !self.producers.is_empty()
    }

    /// Whether every expected producer has ended on every partition.
    pub fn is_done(&self) -> bool {
        self.frontier().is_none_or(|b| b == Bound::Done)
    }
}

/// Bounded-mode progress: max event time seen minus `max_out_of_orderness`, with idle partitions left
/// out. Times are passed in (milliseconds of any monotonic clock) so the logic stays pure.
#[derive(Debug, Clone)]
pub struct BoundedProgress {
    max_out_of_orderness_ns: u64,
    idle_timeout_ms: u64,
    partitions: BTreeMap<i32, PartitionSeen>,
    idle_close: Option<IdleClose>,
}

/// What bounded mode does when every partition has been silent a while (`job.idle_close_ms`): the
/// end of a quiet stream must never leave a window unwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleClose {
    /// Silence, in ms, after which every open window closes.
    pub after_ms: u64,
    /// Whether the input is then over (`--exit-when-idle`), as for a bounded Kafka source.
    pub exit: bool,
}

/// Whether the input has gone quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// Records came recently, or none ever came.
    No,
    /// Every partition has been silent for the idle-close time: close every open window.
    CloseAll,
    /// …and the job exits when idle: the input is over.
    End,
}

#[derive(Debug, Clone, Copy)]
struct PartitionSeen {
    max_event_ns: Option<u64>,
    last_record_ms: u64,
}

impl BoundedProgress {
    /// Progress over `partitions`, starting at `now_ms`.
    pub fn new(
        partitions: &[i32],
        max_out_of_orderness_ns: u64,
        idle_timeout_ms: u64,
        now_ms: u64,
    ) -> Self {
        let seen = PartitionSeen {
            max_event_ns: None,
            last_record_ms: now_ms,
        };
        Self {
            max_out_of_orderness_ns,
            idle_timeout_ms,
            partitions: partitions.iter().map(|&p| (p, seen)).collect(),
            idle_close: None,
        }
    }

    /// Closes every open window once every partition has been silent as `idle` says.
    pub fn closing_when_idle(mut self, idle: IdleClose) -> Self {
        self.idle_close = Some(idle);
        self
    }

    /// Whether this worker reads no partition (then it holds nothing back).
    pub fn reads_nothing(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Whether the input has gone quiet at `now_ms`. Silence counts from the start: a worker whose
    /// partitions never see a record is quiet after the idle-close time too (it has nothing to close;
    /// with `exit`, its input is over, as a bounded source's is when its topic is empty), so a
    /// partition nobody writes to cannot keep the job from ending. A job meant to wait for producers
    /// that start later runs without `exit`, or is started once they have begun (as `harness run`
    /// does).
    pub fn quiet(&self, now_ms: u64) -> Quiet {
        let Some(idle) = self.idle_close else {
            return Quiet::No;
        };
        let last = self.partitions.values().map(|s| s.last_record_ms).max();
        match last {
            Some(last) if now_ms.saturating_sub(last) >= idle.after_ms => {
                if idle.exit {
                    Quiet::End
                } else {
                    Quiet::CloseAll
                }
            }
            _ => Quiet::No,
        }
    }

    /// A record at `event_time_ns` on `partition`, read at `now_ms`. Unknown partitions are ignored.
    pub fn record(&mut self, partition: i32, event_time_ns: u64, now_ms: u64) {
        if let Some(seen) = self.partitions.get_mut(&partition) {
            seen.max_event_ns = Some(
                seen.max_event_ns
                    .map_or(event_time_ns, |m| m.max(event_time_ns)),
            );
            seen.last_record_ms = now_ms;
        }
    }

    /// The largest event time seen on `partition`, for a checkpoint.
    pub fn max_seen(&self, partition: i32) -> Option<u64> {
        self.partitions.get(&partition).and_then(|s| s.max_event_ns)
    }

    /// Restores the largest event time seen on `partition` from a checkpoint.
    pub fn restore_max_seen(&mut self, partition: i32, max_event_ns: Option<u64>) {
        if let (Some(seen), Some(t)) = (self.partitions.get_mut(&partition), max_event_ns) {
            seen.max_event_ns = Some(seen.max_event_ns.map_or(t, |m| m.max(t)));
        }
    }

    /// The watermark at `now_ms`: the minimum over active partitions of (max seen −
    /// out-of-orderness). A partition is idle once it has been silent for the idle timeout; when
    /// every partition is idle the largest bound seen applies, so the job still closes windows.
    /// `None` when the worker reads no partition or no partition has seen a record.
    pub fn frontier(&self, now_ms: u64) -> Option<Bound> {
        let bound = |seen: &PartitionSeen| {
            seen.max_event_ns
                .map(|m| Bound::At(m.saturating_sub(self.max_out_of_orderness_ns)))
        };
        let active: Vec<&PartitionSeen> = self
            .partitions
            .values()
            .filter(|s| now_ms.saturating_sub(s.last_record_ms) < self.idle_timeout_ms)
            .collect();
        if active.is_empty() {
            return self.partitions.values().filter_map(bound).max();
        }
        // An active partition that has seen nothing yet holds everything back.
        active
            .into_iter()
            .map(bound)
            .collect::<Option<Vec<Bound>>>()?
            .into_iter()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_frontier_is_the_slowest_producer_on_the_slowest_partition() {
        let mut p = ExactProgress::new(&[0, 1], &[7, 3]);
        assert_eq!(
            p.frontier(),
            Some(Bound::At(0)),
            "expected producers hold from the start"
        );
        p.event(0, 3, 100).unwrap();
        p.event(0, 7, 250).unwrap();
        p.event(1, 3, 120).unwrap();
        assert_eq!(
            p.frontier(),
            Some(Bound::At(0)),
            "producer 7 has said nothing on partition 1"
        );
        p.watermark(1, 7, 300).unwrap();
        assert_eq!(p.frontier(), Some(Bound::At(100)));
        p.watermark(0, 3, 400).unwrap();
        assert_eq!(p.frontier(), Some(Bound::At(120)));
        // A watermark below what the producer already promised changes nothing.
        p.watermark(1, 3, 50).unwrap();
        assert_eq!(p.frontier(), Some(Bound::At(120)));
    }

    #[test]
    fn out_of_order_producers_interleave_without_guessing() {
        // Producer 1 runs far ahead of producer 2: the frontier follows producer 2.
        let mut p = ExactProgress::new(&[0], &[1, 2]);
        for t in [10, 20, 30, 40] {
            p.event(0, 1, t * 1_000).unwrap();
        }
        p.event(0, 2, 5).unwrap();
        assert_eq!(p.frontier(), Some(Bound::At(5)));
        p.event(0, 2, 15_000).unwrap();
        assert_eq!(p.frontier(), Some(Bound::At(15_000)));
    }

    #[test]
    fn a_producer_that_ends_early_stops_holding_the_frontier() {
        let mut p = ExactProgress::new(&[0, 1], &[0, 1]);
        for partition in [0, 1] {
            p.event(partition, 0, 1_000).unwrap();
            p.end(partition, 1).unwrap();
        }
        assert_eq!(p.frontier(), Some(Bound::At(1_000)));
        assert!(!p.is_done());
        p.end(0, 0).unwrap();
        p.end(1, 0).unwrap();
        assert_eq!(p.frontier(), Some(Bound::Done));
        assert!(p.is_done());
    }

    #[test]
    fn a_worker_without_partitions_holds_nothing_back() {
        let p = ExactProgress::new(&[], &[0, 1]);
        assert_eq!(p.frontier(), None);
        assert!(p.is_done());
        let b = BoundedProgress::new(&[], 5, 1_000, 0);
        assert_eq!(b.frontier(10_000), None);
    }

    #[test]
    fn broken_promises_and_strangers_are_reported() {
        let mut p = ExactProgress::new(&[0], &[0]);
        p.watermark(0, 0, 500).unwrap();
        assert_eq!(
            p.event(0, 0, 499),
            Err(ProgressError::Regressed {
                partition: 0,
                producer: 0,
                promised_ns: 500,
                got_ns: 499
            })
        );
        assert_eq!(p.event(0, 9, 600), Err(ProgressError::UnknownProducer(9)));
        assert_eq!(
            p.watermark(4, 0, 600),
            Err(ProgressError::UnknownPartition(4))
        );
        p.end(0, 0).unwrap();
        assert!(
            p.event(0, 0, 10_000).is_err(),
            "nothing after the end marker"
        );
    }

    #[test]
    fn bounded_frontier_lags_the_maximum_by_the_out_of_orderness() {
        let mut b = BoundedProgress::new(&[0, 1], 100, 1_000, 0);
        b.record(0, 1_000, 10);
        assert_eq!(
            b.frontier(20),
            None,
            "partition 1 is active but has seen nothing"
        );
        b.record(1, 700, 20);
        assert_eq!(b.frontier(30), Some(Bound::At(600)));
        b.record(1, 650, 40); // out of order: the maximum stays
        assert_eq!(b.frontier(50), Some(Bound::At(600)));
        b.record(1, 2_000, 60);
        assert_eq!(b.frontier(70), Some(Bound::At(900)));
    }

    #[test]
    fn an_idle_partition_cannot_stall_the_bounded_frontier() {
        let mut b = BoundedProgress::new(&[0, 1], 100, 1_000, 0);
        b.record(1, 500, 0);
        b.record(0, 5_000, 900);
        assert_eq!(
            b.frontier(950),
            Some(Bound::At(400)),
            "partition 1 is still active"
        );
        // Partition 1 has been silent for the idle timeout; partition 0 carries on.
        b.record(0, 6_000, 1_500);
        assert_eq!(b.frontier(1_500), Some(Bound::At(5_900)));
        // Everything idle: the largest bound applies so the last windows still close.
        assert_eq!(b.frontier(10_000), Some(Bound::At(5_900)));
    }

    #[test]
    fn the_input_is_quiet_once_every_partition_has_been_silent_long_enough() {
        let idle = |exit| IdleClose {
            after_ms: 100,
            exit,
        };
        let empty = BoundedProgress::new(&[0, 1], 0, 50, 1_000).closing_when_idle(idle(true));
        assert_eq!(empty.quiet(1_099), Quiet::No);
        assert_eq!(empty.quiet(1_100), Quiet::End, "silent since the start");
        let mut p = BoundedProgress::new(&[0, 1], 0, 50, 1_000).closing_when_idle(idle(false));
        p.record(0, 10, 1_000);
        p.record(1, 20, 1_050);
        assert_eq!(p.quiet(1_100), Quiet::No);
        assert_eq!(p.quiet(1_150), Quiet::CloseAll);
        let mut p = p.closing_when_idle(idle(true));
        assert_eq!(p.quiet(1_150), Quiet::End);
        p.record(0, 30, 1_200);
        assert_eq!(p.quiet(1_250), Quiet::No, "a new record ends the quiet");
        let without = BoundedProgress::new(&[0], 0, 50, 0);
        assert_eq!(without.quiet(u64::MAX), Quiet::No);
    }
}
