//! The fence against an old incarnation of the job (a *zombie*): a process that was stopped, frozen or
//! cut off while its job was restarted elsewhere, and then goes on. Each incarnation of a job claims
//! the job under a generation of its own before it reads back the results already written; a
//! worker writes a window's results only after looking that no other generation has claimed its job
//! since its own claim. A zombie therefore finds the newer claim before its next window and writes
//! nothing more (ARCHITECTURE.md, "Fault tolerance").
//!
//! Here is the claim, its stored form, and the rule; where claims are kept is an edge
//! ([`crate::edges::Fence`]).

use serde::{Deserialize, Serialize};

/// One incarnation's claim on its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The job's id.
    pub job: String,
    /// The incarnation's generation: drawn at random by the worker that claims, the same for every
    /// worker of the incarnation.
    pub generation: u64,
    /// When it was claimed (Unix ms), to say so.
    pub claimed_at_ms: u64,
}

impl Claim {
    /// Its stored form: one line of JSON.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a claim serializes")
    }

    /// A stored claim, or `None` when `text` is not one.
    pub fn decode(text: &[u8]) -> Option<Self> {
        serde_json::from_slice(text).ok()
    }

    /// The rule: whether this claim, made after generation `mine` claimed job `job`, takes the job
    /// away from it. A claim of another job, or one's own, does not.
    pub fn supersedes(&self, job: &str, mine: u64) -> bool {
        self.job == job && self.generation != mine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_of_the_same_job_by_another_generation_supersedes_and_nothing_else_does() {
        let claim = Claim {
            job: "run-1".into(),
            generation: 7,
            claimed_at_ms: 1_000,
        };
        assert!(claim.supersedes("run-1", 6));
        assert!(!claim.supersedes("run-1", 7));
        assert!(!claim.supersedes("run-2", 6));
        assert_eq!(Claim::decode(claim.encode().as_bytes()), Some(claim));
        assert_eq!(Claim::decode(b"not a claim"), None);
    }
}
