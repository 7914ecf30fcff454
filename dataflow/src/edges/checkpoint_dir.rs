//! Checkpoints in a directory (`job.checkpoint_dir`), local or shared by every host of the job: one file
//! per checkpoint in `<dir>/<job id>/`, written to a temporary name and renamed into place (a reader
//! never sees half a file: a process killed mid-write leaves only a temporary file), the newest
//! [`KEEP`] of each worker kept and older ones deleted, so storage does not grow with the run. Loading
//! takes each partition's newest entry among the valid files of the job; a file that fails its checksum
//! or does not parse is reported and skipped, so the entry before it is used.

use std::path::{Path, PathBuf};

use crate::core::checkpoint::{Checkpoint, Loaded, Newest};
use crate::edges::CheckpointStore;

/// Checkpoints kept per worker: the newest, and the one before it in case the newest is damaged.
pub const KEEP: usize = 2;

/// Checkpoints in a directory (local, or shared by every host of the job).
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
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
        let mut newest = Newest::default();
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
            newest.offer(checkpoint);
        }
        loaded.partitions = newest.into_partitions();
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
