//! In-memory edges for running the dataflow without Kafka: records from a list, dead letters,
//! results and claims into shared vectors. The dataflow tests use them; so can anyone replaying a captured topic.

use std::sync::{Arc, Mutex};

use adstream_protocol::wire::WindowResult;

use crate::core::fence::Claim;
use crate::core::verdict::DeadLetter;
use crate::edges::{DeadLetters, Fence, RawRecord, RecordReader, ResultWriter};

/// An owned record: partition, headers, value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    /// Its partition.
    pub partition: i32,
    /// Its headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Its value.
    pub value: Option<Vec<u8>>,
}

/// Reads a fixed list of records, in order, keeping those of its partitions; a record's offset is its
/// position among its partition's records.
#[derive(Debug, Clone)]
pub struct MemoryReader {
    partitions: Vec<i32>,
    records: std::collections::VecDeque<(i64, OwnedRecord)>,
}

impl MemoryReader {
    /// A reader of `records` on `partitions`.
    pub fn new(partitions: Vec<i32>, records: &[OwnedRecord]) -> Self {
        Self::from_offsets(partitions, records, &std::collections::BTreeMap::new())
    }

    /// A reader of `records` on `partitions`, each partition from its offset in `starts` (0 if absent).
    pub fn from_offsets(
        partitions: Vec<i32>,
        records: &[OwnedRecord],
        starts: &std::collections::BTreeMap<i32, i64>,
    ) -> Self {
        let mut next: std::collections::BTreeMap<i32, i64> = std::collections::BTreeMap::new();
        let records = records
            .iter()
            .filter(|r| partitions.contains(&r.partition))
            .filter_map(|r| {
                let offset = next.entry(r.partition).or_default();
                let at = *offset;
                *offset += 1;
                (at >= starts.get(&r.partition).copied().unwrap_or(0)).then(|| (at, r.clone()))
            })
            .collect();
        Self {
            partitions,
            records,
        }
    }
}

impl RecordReader for MemoryReader {
    fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    fn read(&mut self, budget: usize, each: &mut dyn FnMut(RawRecord<'_>)) -> usize {
        let mut n = 0;
        while n < budget {
            let Some((offset, record)) = self.records.pop_front() else {
                break;
            };
            let headers: Vec<(&str, Option<&[u8]>)> = record
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            each(RawRecord {
                partition: record.partition,
                offset,
                key: None,
                headers: &headers,
                value: record.value.as_deref(),
            });
            n += 1;
        }
        n
    }

    fn on_arrival(&mut self, _wake: Box<dyn Fn() + Send + Sync>) {}
}

/// Collects dead letters as (record, reason).
#[derive(Debug, Clone, Default)]
pub struct MemoryDeadLetters(pub Arc<Mutex<Vec<(OwnedRecord, String)>>>);

impl DeadLetters for MemoryDeadLetters {
    fn send(&mut self, record: &RawRecord<'_>, reason: &DeadLetter) {
        let owned = OwnedRecord {
            partition: record.partition,
            headers: record
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(<[u8]>::to_vec)))
                .collect(),
            value: record.value.map(<[u8]>::to_vec),
        };
        self.0
            .lock()
            .expect("dead letters lock")
            .push((owned, reason.to_string()));
    }

    fn settled(&mut self) -> bool {
        true
    }

    fn flush(&mut self) -> u64 {
        0
    }
}

/// Collects results.
#[derive(Debug, Clone, Default)]
pub struct MemoryResults(pub Arc<Mutex<Vec<WindowResult>>>);

impl ResultWriter for MemoryResults {
    fn write(&mut self, result: &WindowResult) -> bool {
        self.0.lock().expect("results lock").push(result.clone());
        true
    }

    fn delivered(&mut self, _window: u64) -> bool {
        true
    }

    fn flush(&mut self) -> u64 {
        0
    }
}

/// Claims in a shared list; a claim's position is its index plus one.
#[derive(Debug, Clone, Default)]
pub struct MemoryFence {
    /// Every claim made, in order.
    pub claims: Arc<Mutex<Vec<Claim>>>,
    followed: Option<(String, u64, usize)>,
}

impl MemoryFence {
    /// A fence over `claims`, shared with other workers' fences.
    pub fn over(claims: Arc<Mutex<Vec<Claim>>>) -> Self {
        Self {
            claims,
            followed: None,
        }
    }
}

impl Fence for MemoryFence {
    fn claim(&mut self, claim: &Claim) -> std::io::Result<u64> {
        let mut claims = self.claims.lock().expect("claims lock");
        claims.push(claim.clone());
        Ok(claims.len() as u64)
    }

    fn follow(&mut self, job: &str, generation: u64, position: u64) -> std::io::Result<()> {
        self.followed = Some((job.to_owned(), generation, position as usize));
        Ok(())
    }

    fn superseded(&mut self) -> std::io::Result<Option<Claim>> {
        let Some((job, mine, position)) = &self.followed else {
            return Ok(None);
        };
        let claims = self.claims.lock().expect("claims lock");
        Ok(claims
            .iter()
            .skip(*position)
            .find(|c| c.supersedes(job, *mine))
            .cloned())
    }
}
