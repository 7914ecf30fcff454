//! Heartbeats between the job's processes: each worker broadcasts its process's index about twice a
//! second through a small dataflow of its own, over the same connections timely
//! uses for the job, and notes when it last heard from every other process. A peer that is dead, hung
//! (stopped, a frozen VM) or cut off sends nothing; once one has been silent for the liveness limit the
//! worker gives up, so the process exits naming it instead of waiting forever (ARCHITECTURE.md, "Fault
//! tolerance").

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use adstream_protocol::liveness::{Liveness, Silence};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandle;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect};
use timely::worker::Worker;

/// How often a worker sends its heartbeat: well inside any liveness limit taken (at least 2 s).
pub const EVERY: Duration = Duration::from_millis(500);

/// How late a worker's own heartbeat must be for the worker to count itself as having been paused.
pub const PAUSED: Duration = Duration::from_secs(2);

/// One worker's heartbeats: what it sends, and when it last heard from each other process.
pub struct Heartbeats {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<u32>>>,
    epoch: u64,
    last_sent: Option<Instant>,
    process: u32,
    heard: Rc<RefCell<Liveness>>,
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
        for peer in (0..processes).filter(|&p| p != process) {
            heard.borrow_mut().heard(peer, now);
        }
        let noted = Rc::clone(&heard);
        let input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, stream) = scope.new_input::<Vec<u32>>();
            stream.broadcast().inspect(move |&peer| {
                if peer != process {
                    noted.borrow_mut().heard(peer, Instant::now());
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
        }
    }

    /// Sends this worker's heartbeat if one is due at `now`, and then judges the peers: the peer
    /// silent for the limit, if there is one. Between heartbeats it does nothing, so the worker's loop
    /// pays for neither on most of its turns.
    ///
    /// A worker that was itself not running (stopped, a frozen VM: its previous heartbeat is
    /// [`PAUSED`] old) judges no one on that turn: what its peers sent meanwhile waits, unread, in its
    /// connections, and it takes that in first.
    pub fn beat(&mut self, now: Instant) -> Option<Silence> {
        let since = self.last_sent.map(|at| now.saturating_duration_since(at));
        if since.is_some_and(|s| s < EVERY) {
            return None;
        }
        self.input.send(self.process);
        self.epoch += 1;
        self.input.advance_to(self.epoch);
        self.last_sent = Some(now);
        if since.is_some_and(|s| s >= PAUSED) {
            return None;
        }
        self.heard.borrow().silent(now)
    }

    /// The peer silent the longest at `now`.
    pub fn quietest_peer(&self, now: Instant) -> Option<Silence> {
        self.heard.borrow().quietest(now)
    }
}
