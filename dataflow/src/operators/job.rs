//! One worker's dataflow: source → the aggregate collection, consolidated → results.
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

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adstream_protocol::messages::JobCounts;
use differential_dataflow::AsCollection;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe as _;
use timely::worker::Worker;

use crate::core::window_state::WindowState;
use crate::edges::{DeadLetters, RecordReader, ResultWriter};
use crate::operators::board::WorkerBoard;
use crate::operators::checkpointing::Checkpointer;
use crate::operators::sink::deliver_results;
use crate::operators::source::{SourceCheckpoints, events_source};

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
}

/// Builds this worker's dataflow over `state`, runs it until every source is over and every result
/// delivered, and returns what the worker did, counted from `start` (a restored worker's counters).
/// `progress` sees the worker's counts about once a second.
pub fn run_worker<R: RecordReader, D: DeadLetters, W: ResultWriter>(
    worker: &mut Worker,
    state: WindowState,
    edges: Edges<R, D, W>,
    start: JobCounts,
    mut progress: impl FnMut(&JobCounts),
) -> JobCounts {
    let window_size_ns = state.window_size_ns();
    let counts = Rc::new(RefCell::new(start));
    let writer = Rc::new(RefCell::new(edges.results));
    let dead_letters = Rc::new(RefCell::new(edges.dead_letters));
    // The reader outlives the dataflow: closing a Kafka consumer blocks the closing thread for
    // about 100 ms (librdkafka joins its threads), and if the source operator closed it when its
    // input ended, this worker's share of the last window would wait that long for the other
    // workers' progress (BENCHMARKS.md, "A worker without partitions"). It is closed here once
    // every result is delivered.
    let reader = Rc::new(RefCell::new(edges.reader));
    let probe = ProbeHandle::new();
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
            let released = events_source(
                scope,
                state,
                reader,
                dead_letters,
                Rc::clone(&counts),
                checkpoints,
                edges.metrics.clone(),
            )
            .as_collection()
            .consolidate()
            .inner;
            deliver_results(released, window_size_ns, writer, counts, edges.metrics)
                .probe_with(&probe);
        });
    }
    let mut reported = Instant::now();
    while !probe.done() {
        worker.step_or_park(Some(PARK));
        if reported.elapsed() >= PROGRESS_EVERY {
            progress(&counts.borrow());
            reported = Instant::now();
        }
    }
    let failures = writer.borrow_mut().flush() + dead_letters.borrow_mut().flush();
    drop(reader);
    let mut c = counts.take();
    c.delivery_failures += failures;
    c
}
