//! The fence in the checkpoint directory (`job.checkpoint_dir`): the job's newest claim is the file
//! `<dir>/<job id>/fence`, written to a temporary name and renamed into place, so a reader sees a whole
//! claim, the old one or the new. Looking it up reads that small file; a claim of the job by another
//! generation there means the job was taken over.

use std::path::{Path, PathBuf};

use crate::core::fence::Claim;
use crate::edges::Fence;

/// The fence file of a job in a checkpoint directory.
#[derive(Debug, Clone)]
pub struct DirFence {
    file: PathBuf,
    followed: Option<(String, u64)>,
}

impl DirFence {
    /// The fence of job `job` under `root`.
    pub fn new(root: &Path, job: &str) -> std::io::Result<Self> {
        let dir = root.join(job);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            file: dir.join("fence"),
            followed: None,
        })
    }
}

impl Fence for DirFence {
    fn claim(&mut self, claim: &Claim) -> std::io::Result<u64> {
        let partial = self.file.with_extension("partial");
        std::fs::write(&partial, claim.encode())?;
        std::fs::rename(&partial, &self.file)?;
        Ok(0)
    }

    fn follow(&mut self, job: &str, generation: u64, _position: u64) -> std::io::Result<()> {
        self.followed = Some((job.to_owned(), generation));
        Ok(())
    }

    fn superseded(&mut self) -> std::io::Result<Option<Claim>> {
        let Some((job, mine)) = &self.followed else {
            return Ok(None);
        };
        let text = match std::fs::read(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Claim::decode(&text).filter(|c| c.supersedes(job, *mine)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_generation_s_claim_in_the_directory_takes_the_job_away() {
        let root = std::env::temp_dir().join(format!("adstream-fence-{}", std::process::id()));
        let claim = |generation| Claim {
            job: "j".into(),
            generation,
            claimed_at_ms: 5,
        };
        let mut old = DirFence::new(&root, "j").unwrap();
        let at = old.claim(&claim(1)).unwrap();
        old.follow("j", 1, at).unwrap();
        assert_eq!(old.superseded().unwrap(), None);
        let mut new = DirFence::new(&root, "j").unwrap();
        new.claim(&claim(2)).unwrap();
        new.follow("j", 2, 0).unwrap();
        assert_eq!(old.superseded().unwrap(), Some(claim(2)));
        assert_eq!(new.superseded().unwrap(), None);
        std::fs::remove_dir_all(root).unwrap();
    }
}
