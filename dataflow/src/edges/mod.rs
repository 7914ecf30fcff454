//! The job's edges, as traits so the dataflow runs the same over Kafka and over memory (tests): where
//! records come from, where rejected ones go, where results go, where checkpoints are kept and where
//! the job's incarnations claim it. The Kafka versions are in [`crate::kafka`]; here are the in-memory
//! ones ([`memory`]) and those in a directory ([`checkpoint_dir`], [`fence_dir`]).

pub mod checkpoint_dir;
pub mod fence_dir;
pub mod memory;

use adstream_protocol::wire::WindowResult;

use crate::core::checkpoint::Checkpoint;
use crate::core::fence::Claim;

use crate::core::input::Headers;
use crate::core::verdict::DeadLetter;

/// One raw record of the events topic, borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Its key.
    pub key: Option<&'a [u8]>,
    /// Its headers.
    pub headers: &'a Headers<'a>,
    /// Its value.
    pub value: Option<&'a [u8]>,
}

/// Where a worker's records come from.
pub trait RecordReader: 'static {
    /// The partitions this reader reads.
    fn partitions(&self) -> &[i32];
    /// Hands up to `budget` available records to `each`, without blocking; returns how many.
    fn read(&mut self, budget: usize, each: &mut dyn FnMut(RawRecord<'_>)) -> usize;
    /// Arranges for `wake` to be called whenever records become available after a `read` found none.
    fn on_arrival(&mut self, wake: Box<dyn Fn() + Send + Sync>);
    /// Records in its partitions not read yet, as far as the reader knows without asking anyone
    /// (`None`: it does not know).
    fn lag(&self) -> Option<u64> {
        None
    }
}

/// Where rejected and late records go, unchanged, with their reason.
pub trait DeadLetters: 'static {
    /// Sends `record` with `reason`, rendered as its `reason` header.
    fn send(&mut self, record: &RawRecord<'_>, reason: &DeadLetter);
    /// Whether every dead letter sent so far is delivered (serving delivery reports).
    fn settled(&mut self) -> bool;
    /// Waits until everything sent is delivered; returns how many deliveries failed.
    fn flush(&mut self) -> u64;
}

/// Where results go.
pub trait ResultWriter: 'static {
    /// The first revision number to give (`window`, `campaign`): after those already written.
    fn first_revision(&self, window: u64, campaign: u32) -> u32 {
        let _ = (window, campaign);
        0
    }
    /// Sends one result at once, unless it is already there; whether it was sent.
    fn write(&mut self, result: &WindowResult) -> bool;
    /// Whether every result sent for `window` has been delivered (serving delivery reports).
    fn delivered(&mut self, window: u64) -> bool;
    /// Waits until everything sent is delivered; returns how many deliveries failed.
    fn flush(&mut self) -> u64;
}

/// A place checkpoints are written to.
pub trait CheckpointStore: Send {
    /// Stores `checkpoint` atomically and prunes older ones of the same worker.
    fn save(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()>;
}

/// Where the incarnations of a job claim it ([`crate::core::fence`]). Each worker has its own.
pub trait Fence: Send {
    /// Stores `claim` (it is stored once this returns) and returns the position just after it.
    fn claim(&mut self, claim: &Claim) -> std::io::Result<u64>;
    /// From now on [`Fence::superseded`] judges the claims made after `position` for generation
    /// `generation` of job `job`.
    fn follow(&mut self, job: &str, generation: u64, position: u64) -> std::io::Result<()>;
    /// A claim made since that takes the job away from the generation followed, if there is one:
    /// looked up now, not remembered from earlier.
    fn superseded(&mut self) -> std::io::Result<Option<Claim>>;
}
