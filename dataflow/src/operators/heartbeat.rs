//! Heartbeats between the job's processes: each worker broadcasts its process's index and the wall
//! time about twice a second through a small dataflow of its own, over the same connections timely
//! uses for the job, and notes when it last heard from every other process. A peer that is dead, hung
//! (stopped, a frozen VM) or cut off sends nothing; once one has been silent for the liveness limit the
//! worker gives up, so the process exits naming it instead of waiting forever (ARCHITECTURE.md, "Fault
//! tolerance").
//!
//! The same heartbeats are the worker's [`Lease`] to write results: it holds it while the newest
//! heartbeat of every peer was *sent* within [`LEASE`]. Judged by the send time, not the arrival: a
//! process that was stopped or cut off and comes back may find old heartbeats waiting in its
//! connections, and they must not make it believe its peers are alive. A process whose peers are gone
//! — replaced by a new incarnation of the job — therefore writes nothing more.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use adstream_protocol::clock::unix_ms;
use adstream_protocol::liveness::{Liveness, Silence};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandle;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect};
use timely::worker::Worker;

/// How often a worker sends its heartbeat: well inside any liveness limit taken (at least 2 s).
pub const EVERY: Duration = Duration::from_millis(500);

pub use adstream_protocol::liveness::LEASE;

/// A worker's right to write results: every peer process heard from recently, by the peers' own clocks
/// (see the module doc).
#[derive(Debug, Clone)]
pub struct Lease {
    /// Per peer, the send time (Unix ms) of its newest heartbeat.
    sent_ms: Rc<RefCell<BTreeMap<u32, u64>>>,
}

/// Why a worker does not hold its lease: the peer whose newest heartbeat is the oldest, and its age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The peer.
    pub peer: u32,
    /// How old its newest heartbeat is, ms.
    pub age_ms: u64,
}

impl Lease {
    /// A lease over `peers`, each counted as heard from at `now_ms`.
    pub fn new(peers: impl IntoIterator<Item = u32>, now_ms: u64) -> Self {
        let sent_ms = peers.into_iter().map(|p| (p, now_ms)).collect();
        Self {
            sent_ms: Rc::new(RefCell::new(sent_ms)),
        }
    }

    /// Peer `peer` sent a heartbeat at `sent_ms`.
    pub fn heard(&self, peer: u32, sent_ms: u64) {
        if let Some(newest) = self.sent_ms.borrow_mut().get_mut(&peer) {
            *newest = (*newest).max(sent_ms);
        }
    }

    /// Whether the lease holds at `now_ms`; else the peer that lost it.
    pub fn holds(&self, now_ms: u64) -> Result<(), Lost> {
        let oldest = self
            .sent_ms
            .borrow()
            .iter()
            .map(|(&peer, &sent)| Lost {
                peer,
                age_ms: now_ms.saturating_sub(sent),
            })
            .max_by_key(|l| l.age_ms);
        match oldest {
            Some(lost) if lost.age_ms > LEASE.as_millis() as u64 => Err(lost),
            _ => Ok(()),
        }
    }
}

/// One worker's heartbeats: what it sends, and when it last heard from each other process.
pub struct Heartbeats {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<(u32, u64)>>>,
    epoch: u64,
    last_sent: Option<Instant>,
    process: u32,
    heard: Rc<RefCell<Liveness>>,
    lease: Lease,
}

impl Heartbeats {
    /// The heartbeats of a worker of process `process` among `processes`, judged by `limit`: every
    /// other process counts as heard from at `now`, so one that never speaks is found too.
    pub fn new(
        worker: &mut Worker,
        process: u32,
        processes: u32,
        limit: Duration,
        now: Instant,
    ) -> Self {
        let heard = Rc::new(RefCell::new(Liveness::new(limit)));
        let peers: Vec<u32> = (0..processes).filter(|&p| p != process).collect();
        for &peer in &peers {
            heard.borrow_mut().heard(peer, now);
        }
        let lease = Lease::new(peers, unix_ms());
        let (noted, leased) = (Rc::clone(&heard), lease.clone());
        let input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, stream) = scope.new_input::<Vec<(u32, u64)>>();
            stream.broadcast().inspect(move |&(peer, sent_ms)| {
                if peer != process {
                    noted.borrow_mut().heard(peer, Instant::now());
                    leased.heard(peer, sent_ms);
                }
            });
            input
        });
        Self {
            input,
            epoch: 0,
            last_sent: None,
            process,
            heard,
            lease,
        }
    }

    /// Sends this worker's heartbeat if one is due at `now`, and then judges the peers: the peer
    /// silent for the limit, if there is one. Between heartbeats it does nothing, so the worker's loop
    /// pays for neither on most of its turns.
    pub fn beat(&mut self, now: Instant) -> Option<Silence> {
        if self
            .last_sent
            .is_some_and(|at| now.saturating_duration_since(at) < EVERY)
        {
            return None;
        }
        self.input.send((self.process, unix_ms()));
        self.epoch += 1;
        self.input.advance_to(self.epoch);
        self.last_sent = Some(now);
        self.heard.borrow().silent(now)
    }

    /// The worker's lease to write results, renewed by these heartbeats.
    pub fn lease(&self) -> Lease {
        self.lease.clone()
    }

    /// The peer silent the longest at `now`.
    pub fn quietest_peer(&self, now: Instant) -> Option<Silence> {
        self.heard.borrow().quietest(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_holds_while_every_peer_sent_recently_by_its_own_clock() {
        let lease = Lease::new([0, 2], 10_000);
        assert_eq!(lease.holds(12_000), Ok(()));
        lease.heard(0, 11_500);
        // Peer 2's newest heartbeat, sent at the start, is now 2.1 s old.
        assert_eq!(
            lease.holds(12_100),
            Err(Lost {
                peer: 2,
                age_ms: 2_100
            })
        );
        lease.heard(2, 12_050);
        assert_eq!(lease.holds(12_100), Ok(()));
        // A heartbeat arriving late says when it was sent: an old one renews nothing.
        lease.heard(0, 9_000);
        assert_eq!(
            lease.holds(13_600),
            Err(Lost {
                peer: 0,
                age_ms: 2_100
            })
        );
        // A process with no peers always holds it.
        assert_eq!(Lease::new([], 0).holds(u64::MAX), Ok(()));
    }
}
