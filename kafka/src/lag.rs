//! A consumer's lag as librdkafka's own statistics tell it: per assigned partition, the partition's
//! end as the latest fetch response said (`hi_offset`) less the offset after the last record handed
//! to the application (`app_offset`), both from the same statistics snapshot, so the two ends of the
//! difference are of one moment. It is kept by the client's context on librdkafka's thread — nothing
//! is asked of the broker and nothing runs on the thread that reads — and only when the consumer's
//! configuration sets `statistics.interval.ms` (the job's does; see [`crate::settings`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::statistics::Statistics;

/// The context that keeps the lag (clones share it).
#[derive(Debug, Clone, Default)]
pub struct LagContext {
    /// Per partition, records not yet handed to the application, as of the latest statistics.
    lag: Arc<Mutex<BTreeMap<i32, u64>>>,
}

impl LagContext {
    /// The total lag over the assigned partitions, `None` before the first statistics that know an
    /// end and a position.
    pub fn lag(&self) -> Option<u64> {
        let lag = self.lag.lock().expect("lag lock");
        (!lag.is_empty()).then(|| lag.values().sum())
    }
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        let mut lag = self.lag.lock().expect("lag lock");
        for topic in statistics.topics.values() {
            for (&partition, p) in &topic.partitions {
                // Partition -1 is librdkafka's own bookkeeping; negative offsets are "not known yet".
                if partition >= 0 && p.hi_offset >= 0 && p.app_offset >= 0 {
                    lag.insert(
                        partition,
                        u64::try_from(p.hi_offset - p.app_offset).unwrap_or(0),
                    );
                }
            }
        }
    }
}

impl ConsumerContext for LagContext {}
