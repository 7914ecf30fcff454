//! One worker's dataflow. Append mode: source → the aggregate collection, consolidated → results;
//! beside it, where each source has read, broadcast to every sink for the results' `as_of`. Update
//! mode: source → changes, by campaign → revisions.
//!
//! The formulation, and why it is right: every valid event becomes the update `(campaign, window,
//! Aggregate::of(event))` at timely time `window`. Summing the differences of equal `(campaign,
//! window)` pairs is exactly the per-window, per-campaign aggregation, and differential's
//! `consolidate` does that sum: it exchanges updates by campaign, accumulates them in an
//! arrangement, and releases each `(campaign, window)` once, with its total, when the frontier
//! passes `window` — that is, when every worker's source has closed the window. Nothing is emitted
//! early (the frontier is exact) and nothing twice (a time is released once). What it costs: each
//! worker pre-sums its events per (window, campaign) before the exchange, so the network and the
//! arrangement see at most workers × campaigns updates per window, not events; the arrangement
//! holds only open windows' updates, so memory does not grow with the run.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adstream_protocol::messages::JobCounts;
use differential_dataflow::AsCollection;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe as _;
use timely::dataflow::operators::vec::Broadcast as _;
use timely::worker::Worker;

use crate::core::fence::Claim;
use crate::core::window_state::WindowState;
use crate::edges::{DeadLetters, Fence, RecordReader, ResultWriter};
use crate::operators::board::{ALIVE_EVERY, WorkerBoard};
use crate::operators::checkpointing::Checkpointer;
use crate::operators::heartbeat::Heartbeats;
use crate::operators::revisions::{RevisionRules, write_revisions};
use crate::operators::sink::{Fenced, TakenOver, deliver_results};
use crate::operators::source::{Emit, SourceCheckpoints, Vitals, events_source};

/// How long a parked worker sleeps at most when nothing wakes it.
const PARK: Duration = Duration::from_millis(100);
/// How often a worker reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A worker's edges: where its records come from, where rejected ones go, where results go, where its
/// checkpoints and metrics go.
pub struct Edges<R, D, W> {
    /// The worker's partitions of the events topic.
    pub reader: R,
    /// The dead-letter topic.
    pub dead_letters: D,
    /// The results topic.
    pub results: W,
    /// Where the worker's checkpoints go, if the job takes them.
    pub checkpoints: Option<Checkpointer>,
    /// Where the worker publishes its metrics, if its process serves them.
    pub metrics: Option<Arc<WorkerBoard>>,
    /// The other processes of the job to watch, if there are any.
    pub peers: Option<Peers>,
    /// The job's fence, following this incarnation's claim ([`crate::operators::claim`]), if the job
    /// has an id.
    pub fence: Option<Box<dyn Fence>>,
}

/// The job's processes, as one of them watches the others.
#[derive(Debug, Clone, Copy)]
pub struct Peers {
    /// This process's index.
    pub process: u32,
    /// How many processes the job has.
    pub processes: u32,
    /// How long a peer may stay silent before it counts as gone.
    pub limit: Duration,
}

/// A peer process that went silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("job process {peer} sent nothing for {:.1} s: gone, hung or cut off", silent_for.as_secs_f64())]
pub struct PeerSilent {
    /// The silent process.
    pub peer: u32,
    /// How long it had been silent.
    pub silent_for: Duration,
}

/// Why a worker stopped before its work was done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// A peer process went silent.
    #[error(transparent)]
    PeerSilent(#[from] PeerSilent),
    /// Another incarnation of the job claimed it: this one writes nothing more.
    #[error(
        "job {} was taken over by a newer incarnation (generation {:016x}, claimed at Unix ms {}): \
         this process writes nothing more",
        .0.job, .0.generation, .0.claimed_at_ms
    )]
    TakenOver(Claim),
}

/// Builds this worker's dataflow over `state` — its results written as `emit` says: finals from the
/// consolidated collection (append mode) or revisions ([`crate::operators::revisions`], update mode) —
/// runs it until every source is over and every result delivered, and returns what the worker did,
/// counted from `start` (a restored worker's counters).
/// `progress` sees the worker's counts and its source's vitals about once a second.
pub fn run_worker<R: RecordReader, D: DeadLetters, W: ResultWriter>(
    worker: &mut Worker,
    state: WindowState,
    edges: Edges<R, D, W>,
    emit: Emit,
    start: JobCounts,
    mut progress: impl FnMut(&JobCounts, Vitals),
) -> Result<JobCounts, Stopped> {
    let window_size_ns = state.window_size_ns();
    let board = edges.metrics.clone();
    let counts = Rc::new(RefCell::new(start));
    let vitals = Rc::new(Cell::new(Vitals::default()));
    let writer = Rc::new(RefCell::new(edges.results));
    let dead_letters = Rc::new(RefCell::new(edges.dead_letters));
    // The reader outlives the dataflow: closing a Kafka consumer blocks the closing thread for
    // about 100 ms (librdkafka joins its threads), and if the source operator closed it when its
    // input ended, this worker's share of the last window would wait that long for the other
    // workers' progress (BENCHMARKS.md, "A worker without partitions"). It is closed here once
    // every result is delivered.
    let reader = Rc::new(RefCell::new(edges.reader));
    let probe = ProbeHandle::new();
    // The heartbeats' dataflow comes first in every worker (timely matches dataflows by their order).
    let mut heartbeats = edges
        .peers
        .map(|p| Heartbeats::new(worker, p.process, p.processes, p.limit, Instant::now()));
    let taken_over = TakenOver::default();
    let fenced = edges.fence.map(|fence| Fenced {
        fence,
        taken_over: Rc::clone(&taken_over),
    });
    {
        let counts = Rc::clone(&counts);
        let reader = Rc::clone(&reader);
        let writer = Rc::clone(&writer);
        let dead_letters = Rc::clone(&dead_letters);
        worker.dataflow::<u64, _, _>(|scope| {
            let checkpoints = edges.checkpoints.map(|checkpointer| SourceCheckpoints {
                checkpointer,
                delivered: probe.clone(),
            });
            let emitted = events_source(
                scope,
                state,
                reader,
                dead_letters,
                Rc::clone(&counts),
                checkpoints,
                edges.metrics.clone(),
                Rc::clone(&vitals),
                emit,
            );
            let delivered = match emit {
                Emit::Windows => {
                    let released = emitted.updates.as_collection().consolidate().inner;
                    deliver_results(
                        released,
                        emitted.positions.broadcast(),
                        window_size_ns,
                        writer,
                        counts,
                        edges.metrics,
                        fenced,
                    )
                }
                Emit::Changes { interval_ms } => write_revisions(
                    emitted.changes,
                    RevisionRules {
                        window_size_ns,
                        interval: Duration::from_millis(interval_ms),
                        sources: scope.peers() as u32,
                    },
                    writer,
                    counts,
                    edges.metrics,
                    fenced,
                ),
            };
            delivered.probe_with(&probe);
        });
    }
    let mut reported = Instant::now();
    let mut said_alive: Option<Instant> = None;
    while !probe.done() {
        worker.step_or_park(Some(PARK));
        let now = Instant::now();
        if let Some(silence) = heartbeats.as_mut().and_then(|h| h.beat(now)) {
            return Err(Stopped::PeerSilent(PeerSilent {
                peer: silence.process,
                silent_for: silence.silent_for,
            }));
        }
        if let Some(claim) = taken_over.borrow_mut().take() {
            return Err(Stopped::TakenOver(claim));
        }
        if let Some(board) = &board
            && said_alive.is_none_or(|at| now.saturating_duration_since(at) >= ALIVE_EVERY)
        {
            let quietest = heartbeats
                .as_ref()
                .and_then(|h| h.quietest_peer(now))
                .map(|s| (s.process, s.silent_for.as_millis() as u64));
            board.alive(adstream_protocol::clock::unix_ms(), quietest);
            said_alive = Some(now);
        }
        if now.saturating_duration_since(reported) >= PROGRESS_EVERY {
            progress(&counts.borrow(), vitals.get());
            reported = now;
        }
    }
    if let Some(board) = &board {
        board.done();
    }
    let failures = writer.borrow_mut().flush() + dead_letters.borrow_mut().flush();
    drop(reader);
    let mut c = counts.take();
    c.delivery_failures += failures;
    Ok(c)
}
