//! The liveness rule (ARCHITECTURE.md, "Fault tolerance"): a process that is expected to say
//! something about once a second and has said nothing for the liveness limit
//! (`job.liveness_timeout_ms`) is dead, hung (stopped, a frozen VM) or cut off, and is treated like
//! one that crashed. The harness judges the job's processes by their messages, and each job process
//! judges its peers by their heartbeats. Free of I/O, with the clock passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A process silent past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// The process.
    pub process: u32,
    /// When the harness last heard from it.
    pub last_heard: Instant,
    /// How long it has been silent.
    pub silent_for: Duration,
}

/// When each process that is still at work was last heard from.
#[derive(Debug, Clone)]
pub struct Liveness {
    limit: Duration,
    last_heard: BTreeMap<u32, Instant>,
}

impl Liveness {
    /// Processes silent for `limit` are found.
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            last_heard: BTreeMap::new(),
        }
    }

    /// Process `process` said something at `at`: from now on it is expected to go on.
    pub fn heard(&mut self, process: u32, at: Instant) {
        self.last_heard.insert(process, at);
    }

    /// Process `process` is done or gone: its silence means nothing.
    pub fn forget(&mut self, process: u32) {
        self.last_heard.remove(&process);
    }

    /// Every process is gone (the job is being restarted).
    pub fn forget_all(&mut self) {
        self.last_heard.clear();
    }

    /// The process silent the longest, if it has been silent for the limit at `now`. A process never
    /// heard from is not judged.
    pub fn silent(&self, now: Instant) -> Option<Silence> {
        self.quietest(now).filter(|s| s.silent_for >= self.limit)
    }

    /// The process silent the longest at `now`, however briefly.
    pub fn quietest(&self, now: Instant) -> Option<Silence> {
        let (&process, &last_heard) = self.last_heard.iter().min_by_key(|(_, at)| **at)?;
        Some(Silence {
            process,
            last_heard,
            silent_for: now.saturating_duration_since(last_heard),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_process_silent_for_the_limit_is_found_and_one_never_heard_is_not_judged() {
        let t0 = Instant::now();
        let mut live = Liveness::new(10 * S);
        assert_eq!(live.silent(t0 + 100 * S), None, "nothing heard yet");
        live.heard(0, t0);
        live.heard(1, t0);
        live.heard(0, t0 + 5 * S);
        assert_eq!(live.silent(t0 + 9 * S), None);
        assert_eq!(
            live.silent(t0 + 10 * S),
            Some(Silence {
                process: 1,
                last_heard: t0,
                silent_for: 10 * S
            })
        );
        live.forget(1);
        assert_eq!(live.silent(t0 + 14 * S), None);
        assert_eq!(live.silent(t0 + 15 * S).map(|s| s.process), Some(0));
        live.forget_all();
        assert_eq!(live.silent(t0 + 100 * S), None);
    }
}
