//! The source operator: reads a worker's partitions, decodes and routes each record, pre-aggregates
//! events per (window, campaign), and holds a capability for the lowest window still open here.
//!
//! It never polls on a timer to notice input: the reader wakes the operator (through a
//! [`timely::scheduling::SyncActivator`], which also unparks the worker) as soon as records arrive, and
//! the operator reads without blocking. When a window closes locally its partial aggregates are sent at
//! that window's time and the capability moves on, so the frontier passes a window in the same
//! activation that read the record that completed it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::JobCounts;

use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{ProbeHandle, Scope, Stream};

use crate::core::aggregate::Aggregate;
use crate::core::input::decode;
use crate::core::verdict::Verdict;
use crate::core::window_state::WindowState;
use crate::edges::{DeadLetters, RecordReader};
use crate::operators::board::{PartitionSnapshot, WorkerBoard, WorkerSnapshot};
use crate::operators::checkpointing::Checkpointer;

/// Records read per activation before the operator yields to the rest of the worker.
const READ_BUDGET: usize = 4096;
/// A safety net against a lost wake-up (and the clock of bounded mode's idle timeout).
const RECHECK: Duration = Duration::from_millis(50);

/// An update of the aggregate collection: (campaign, window, partial aggregate).
pub type Update = (u32, u64, Aggregate);

/// Checkpoints of a source: when to take them, and the delivered frontier they record.
pub struct SourceCheckpoints {
    /// Takes them on time.
    pub checkpointer: Checkpointer,
    /// The results sink's frontier: every window below it is in the results topic.
    pub delivered: ProbeHandle<u64>,
}

/// What a source publishes for the metrics, from what it keeps anyway (no semantic change).
fn publish(into: &mut WorkerSnapshot, state: &WindowState, counts: &JobCounts, now_ms: u64) {
    into.partitions.clear();
    into.partitions
        .extend(
            state
                .positions()
                .map(|(partition, next_offset, counts)| PartitionSnapshot {
                    partition,
                    next_offset,
                    counts,
                }),
        );
    into.frontier_ns = state.event_frontier_ns(now_ms);
    into.windows_open = state.windows_open() as u64;
    into.windows_closed = counts.closed_at_ms.len() as u64;
}

/// Builds the source of one worker, reading with `reader` (shared so that its owner, not the operator's
/// shutdown, decides when it closes); it publishes on `board` after every activation, when given.
pub fn events_source<'s, R: RecordReader, D: DeadLetters>(
    scope: Scope<'s, u64>,
    mut state: WindowState,
    reader: Rc<RefCell<R>>,
    dead_letters: Rc<RefCell<D>>,
    counts: Rc<RefCell<JobCounts>>,
    mut checkpoints: Option<SourceCheckpoints>,
    board: Option<Arc<WorkerBoard>>,
) -> Stream<'s, u64, Vec<Update>> {
    source(scope, "EventsSource", move |capability, info| {
        let wake = scope.worker().sync_activator_for(info.address.to_vec());
        reader.borrow_mut().on_arrival(Box::new(move || {
            // Fails only once the dataflow is gone, when there is nothing left to wake.
            let _ = wake.activate();
        }));
        let activator = scope.activator_for(info.address);
        let mut capability = Some(capability);
        let mut finishing = false;
        move |output| {
            let Some(cap) = capability.as_mut() else {
                return;
            };
            if finishing {
                capability = None;
                return;
            }
            let now = unix_ms();
            let mut m = counts.borrow_mut();
            let mut dead_letters = dead_letters.borrow_mut();
            let read = reader.borrow_mut().read(READ_BUDGET, &mut |record| {
                let decoded = decode(record.headers, record.value);
                match state.take(record.partition, record.offset, decoded, now) {
                    Verdict::Replayed => m.replayed += 1,
                    Verdict::Counted => m.processed += 1,
                    Verdict::Control => m.control += 1,
                    Verdict::Late(late) => {
                        m.late += 1;
                        dead_letters.send(&record, &late.into());
                    }
                    Verdict::Rejected(rejection) => {
                        m.rejected += 1;
                        dead_letters.send(&record, &rejection.into());
                    }
                }
            });
            let advance = state.advance(now);
            // Asking the sink's frontier and the dead-letter producer costs a little: only when due.
            if let Some(c) = checkpoints.as_mut().filter(|c| c.checkpointer.is_due(now)) {
                let delivered = c
                    .delivered
                    .with_frontier(|f| f.first().copied())
                    .unwrap_or(u64::MAX);
                let settled = dead_letters.settled();
                let started = Instant::now();
                if c.checkpointer
                    .maybe_take(now, &mut state, delivered, settled)
                    && let Some(board) = &board
                {
                    board.checkpoint_taken(now, started.elapsed());
                }
            }
            if !advance.closed.is_empty() {
                let closed_at = unix_ms();
                for (window, _) in &advance.closed {
                    m.closed_at_ms.insert(*window, closed_at);
                }
            }
            if let Some(board) = &board {
                board.publish(|s| publish(s, &state, &m, now));
            }
            for (window, aggregates) in &advance.closed {
                let at = cap.delayed(window);
                let mut session = output.session(&at);
                for (campaign, aggregate) in (1..).zip(aggregates) {
                    if aggregate.count > 0 {
                        session.give((campaign, *window, *aggregate));
                    }
                }
            }
            match advance.open_from {
                Some(window) => cap.downgrade(&window),
                None => {
                    // Input is over. Moving the capability past every window releases the last results
                    // at once (dropping it outright only takes effect at the worker's next wake-up);
                    // it is dropped on the next activation. Dead letters are flushed after the
                    // dataflow completes, so waiting for them never delays the last results.
                    m.read_to = state.read_to();
                    let past = advance.closed.last().map_or(*cap.time(), |(w, _)| w + 1);
                    cap.downgrade(&past.max(*cap.time()));
                    finishing = true;
                    activator.activate();
                    return;
                }
            }
            if read == READ_BUDGET {
                activator.activate();
            } else {
                activator.activate_after(RECHECK);
            }
        }
    })
    .container::<Vec<Update>>()
}
