//! In-memory edges for running the dataflow without Kafka: records from a list, dead letters and
//! results into shared vectors. The dataflow tests use them; so can anyone replaying a captured topic.

use std::sync::{Arc, Mutex};

use adstream_protocol::wire::WindowResult;

use crate::io::{DeadLetters, RawRecord, RecordReader, ResultWriter};

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

/// Reads a fixed list of records, in order, keeping those of its partitions.
#[derive(Debug, Clone)]
pub struct MemoryReader {
    partitions: Vec<i32>,
    records: std::collections::VecDeque<OwnedRecord>,
}

impl MemoryReader {
    /// A reader of `records` on `partitions`.
    pub fn new(partitions: Vec<i32>, records: &[OwnedRecord]) -> Self {
        let records = records
            .iter()
            .filter(|r| partitions.contains(&r.partition))
            .cloned()
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
            let Some(record) = self.records.pop_front() else {
                break;
            };
            let headers: Vec<(&str, Option<&[u8]>)> = record
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            each(RawRecord {
                partition: record.partition,
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
    fn send(&mut self, record: &RawRecord<'_>, reason: &str) {
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
            .push((owned, reason.to_owned()));
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
