//! Where checkpoints are kept, and taking them on time. [`DirStore`]: one file per checkpoint in
//! `<dir>/<job id>/`, written to a temporary name and renamed into place (a reader never sees half a
//! file: a process killed mid-write leaves only a temporary file), the newest [`KEEP`] of each worker
//! kept and older ones deleted, so storage does not grow with the run. Loading takes each partition's
//! newest entry among the valid files of the job; a file that fails its checksum or does not parse is
//! reported and skipped, so the entry before it is used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::checkpoint::{Checkpoint, PartitionCheckpoint};
use crate::window_state::WindowState;

/// Checkpoints kept per worker: the newest, and the one before it in case the newest is damaged.
pub const KEEP: usize = 2;

/// A place checkpoints are written to.
pub trait CheckpointStore: Send {
    /// Stores `checkpoint` atomically and prunes older ones of the same worker.
    fn save(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()>;
}

/// Checkpoints in a directory (local, or shared by every host of the job).
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
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

impl DirStore {
    /// The store of job `job` under `root`.
    pub fn new(root: &Path, job: &str) -> std::io::Result<Self> {
        let dir = root.join(job);
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// Reads every checkpoint of job `job` under `root` (none when the job has never checkpointed).
    pub fn load(root: &Path, job: &str) -> std::io::Result<Loaded> {
        let dir = root.join(job);
        let mut loaded = Loaded::default();
        let Ok(files) = std::fs::read_dir(&dir) else {
            return Ok(loaded);
        };
        let mut newest: BTreeMap<i32, (u64, u64, PartitionCheckpoint)> = BTreeMap::new();
        for file in files {
            let path = file?.path();
            if path.extension().is_none_or(|e| e != "ckpt") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let checkpoint = match Checkpoint::decode(&text) {
                Ok(c) if c.job == job => c,
                Ok(c) => {
                    loaded
                        .corrupt
                        .push(format!("{}: belongs to job {:?}", path.display(), c.job));
                    continue;
                }
                Err(corrupt) => {
                    loaded
                        .corrupt
                        .push(format!("{}: {corrupt}", path.display()));
                    continue;
                }
            };
            loaded.valid += 1;
            for entry in checkpoint.partitions {
                let order = (checkpoint.taken_at_ms, checkpoint.seq);
                let newer = newest
                    .get(&entry.partition)
                    .is_none_or(|(at, seq, _)| order > (*at, *seq));
                if newer {
                    newest.insert(entry.partition, (order.0, order.1, entry));
                }
            }
        }
        loaded.partitions = newest.into_iter().map(|(p, (_, _, e))| (p, e)).collect();
        Ok(loaded)
    }

    fn file_of(&self, c: &Checkpoint) -> PathBuf {
        self.dir.join(format!(
            "w{}-{:015}-{:09}.ckpt",
            c.worker, c.taken_at_ms, c.seq
        ))
    }
}

impl CheckpointStore for DirStore {
    fn save(&mut self, checkpoint: &Checkpoint) -> std::io::Result<()> {
        let path = self.file_of(checkpoint);
        let partial = path.with_extension("partial");
        std::fs::write(&partial, checkpoint.encode())?;
        std::fs::rename(&partial, &path)?;
        // The names sort by time: keep this worker's newest few.
        let prefix = format!("w{}-", checkpoint.worker);
        let mut mine: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|f| f.ok().map(|f| f.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "ckpt")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })
            .collect();
        mine.sort();
        for old in mine.iter().rev().skip(KEEP) {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }
}

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

    /// Takes a checkpoint of `state` at `now_ms` if one is due and the dead letters are all delivered
    /// (an entry may only count a rejected record as done once its dead letter is safe);
    /// `delivered_below` is the results sink's delivered frontier.
    pub fn maybe_take(
        &mut self,
        now_ms: u64,
        state: &mut WindowState,
        delivered_below: u64,
        dead_letters_settled: bool,
    ) {
        let due = now_ms.saturating_sub(self.last_ms) >= self.every.as_millis() as u64;
        if !due || !dead_letters_settled || state.replaying() {
            return;
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
        }
    }
}
