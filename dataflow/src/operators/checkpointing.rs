//! When a source takes its checkpoints: every interval, once the dead letters counted in it are
//! delivered and no replay is under way, into whichever [`CheckpointStore`] the process chose. The
//! clock is passed in.

use std::time::Duration;

use crate::core::checkpoint::Checkpoint;
use crate::core::window_state::WindowState;
use crate::edges::CheckpointStore;

/// Takes a worker's checkpoints every interval.
pub struct Checkpointer {
    store: Box<dyn CheckpointStore>,
    job: String,
    worker: u32,
    every: Duration,
    last_ms: u64,
    seq: u64,
    errors: u64,
}

impl Checkpointer {
    /// Checkpoints of `worker` of job `job` into `store`, one per `every`.
    pub fn new(store: Box<dyn CheckpointStore>, job: &str, worker: u32, every: Duration) -> Self {
        Self {
            store,
            job: job.to_owned(),
            worker,
            every,
            last_ms: 0,
            seq: 0,
            errors: 0,
        }
    }

    /// Whether a checkpoint is due at `now_ms` (cheap: the source asks on every activation).
    pub fn is_due(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_ms) >= self.every.as_millis() as u64
    }

    /// Takes a checkpoint of `state` at `now_ms` if one is due and the dead letters are all delivered
    /// (an entry may only count a rejected record as done once its dead letter is safe);
    /// `delivered_below` is the results sink's delivered frontier. Whether one was taken and stored.
    pub fn maybe_take(
        &mut self,
        now_ms: u64,
        state: &mut WindowState,
        delivered_below: u64,
        dead_letters_settled: bool,
    ) -> bool {
        if !self.is_due(now_ms) || !dead_letters_settled || state.replaying() {
            return false;
        }
        self.last_ms = now_ms;
        self.seq += 1;
        let checkpoint = Checkpoint {
            job: self.job.clone(),
            worker: self.worker,
            taken_at_ms: now_ms,
            seq: self.seq,
            partitions: state.checkpoint(delivered_below),
        };
        if let Err(error) = self.store.save(&checkpoint) {
            self.errors += 1;
            if self.errors <= 3 {
                eprintln!("dataflow: cannot write a checkpoint: {error}");
            }
            return false;
        }
        true
    }
}
