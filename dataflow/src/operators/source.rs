//! The source operator: reads a worker's partitions, decodes and routes each record, pre-aggregates
//! events per (window, campaign), and holds a capability for the lowest window still open here.
//! Whenever that capability moves it first sends, on a second output, where it has read
//! ([`Positions`]): the results of the windows it closed state it as the input they count.
//!
//! It never polls on a timer to notice input: the reader wakes the operator (through a
//! [`timely::scheduling::SyncActivator`], which also unparks the worker) as soon as records arrive, and
//! the operator reads without blocking. When a window closes locally its partial aggregates are sent at
//! that window's time and the capability moves on, so the frontier passes a window in the same
//! activation that read the record that completed it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::JobCounts;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::{ProbeHandle, Scope, Stream};

use crate::core::aggregate::Aggregate;
use crate::core::input::decode;
use crate::core::verdict::Verdict;
use crate::core::window_state::WindowState;
use crate::edges::{DeadLetters, RecordReader};
use crate::operators::board::{PartitionSnapshot, WorkerBoard, WorkerSnapshot};
use crate::operators::checkpointing::Checkpointer;
use crate::operators::revisions::{Change, next_tick};
use crate::operators::sink::Positions;

/// Records read per activation before the operator yields to the rest of the worker.
const READ_BUDGET: usize = 4096;
/// A safety net against a lost wake-up (and the clock of bounded mode's idle timeout).
const RECHECK: Duration = Duration::from_millis(50);
/// How often a source refreshes its [`Vitals`] (at the end of an activation, when due): often enough
/// for a progress message a second, rarely enough to cost nothing per record.
const VITALS_EVERY_MS: u64 = 250;

/// What a source tells its worker's progress messages beyond the counts, from what it keeps anyway
/// (no semantic change): where its event time is and how many checkpoints it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vitals {
    /// The event time below which the source expects nothing more, Unix ms (`None`: not known yet,
    /// or its input is over).
    pub event_time_ms: Option<u64>,
    /// Checkpoints it took and stored.
    pub checkpoints: u64,
    /// Records in its partitions it has not read yet, as far as its reader knows the ends (`None`
    /// while it knows none).
    pub lag: Option<u64>,
}

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

/// Where a worker has read: each of its partitions with the offset below which it took every record.
fn positions_of(partitions: &[i32], state: &WindowState) -> Positions {
    let read = state.read_to();
    Positions(
        partitions
            .iter()
            .map(|p| (*p, read.get(p).copied().unwrap_or(0)))
            .collect(),
    )
}

/// What a source sends on: in append mode its pre-summed updates at window times and its positions;
/// in update mode its changes at its clock's time (Unix ms), every `interval_ms` and whenever windows
/// pass their horizon ([`crate::operators::revisions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// Append mode.
    Windows,
    /// Update mode.
    Changes {
        /// How often what was counted is sent.
        interval_ms: u64,
    },
}

/// A source's streams; only those of its [`Emit`] carry anything.
pub struct Emitted<'s> {
    /// Pre-summed updates, at window times (append mode).
    pub updates: Stream<'s, u64, Vec<Update>>,
    /// Where the source had read when its frontier moved, at window times (append mode).
    pub positions: Stream<'s, u64, Vec<Positions>>,
    /// Changes, at Unix ms (update mode).
    pub changes: Stream<'s, u64, Vec<Change>>,
}

/// The capabilities a source holds: per window on its two append-mode outputs, or per millisecond on
/// its update-mode one.
enum Held {
    Windows {
        updates: Capability<u64>,
        positions: Capability<u64>,
    },
    Changes {
        changes: Capability<u64>,
        interval_ms: u64,
        next_drain_ms: u64,
        horizon: Option<Option<u64>>,
    },
}

/// Builds the source of one worker, reading with `reader` (shared so that its owner, not the operator's
/// shutdown, decides when it closes) and sending what `emit` says; it publishes on `board` after every
/// activation, when given.
#[allow(clippy::too_many_arguments)]
pub fn events_source<'s, R: RecordReader, D: DeadLetters>(
    scope: Scope<'s, u64>,
    mut state: WindowState,
    reader: Rc<RefCell<R>>,
    dead_letters: Rc<RefCell<D>>,
    counts: Rc<RefCell<JobCounts>>,
    mut checkpoints: Option<SourceCheckpoints>,
    board: Option<Arc<WorkerBoard>>,
    vitals: Rc<Cell<Vitals>>,
    emit: Emit,
) -> Emitted<'s> {
    let mut builder = OperatorBuilder::new("EventsSource".to_owned(), scope);
    let info = builder.operator_info();
    let (updates_out, updates) = builder.new_output::<Vec<Update>>();
    let (positions_out, positions) = builder.new_output::<Vec<Positions>>();
    let (changes_out, changes) = builder.new_output::<Vec<Change>>();
    let mut updates_out =
        OutputBuilder::<_, CapacityContainerBuilder<Vec<Update>>>::from(updates_out);
    let mut positions_out =
        OutputBuilder::<_, CapacityContainerBuilder<Vec<Positions>>>::from(positions_out);
    let mut changes_out =
        OutputBuilder::<_, CapacityContainerBuilder<Vec<Change>>>::from(changes_out);
    let partitions = reader.borrow().partitions().to_vec();
    let (me, peers) = (scope.index() as u32, scope.peers() as u32);
    builder.build(move |mut capabilities| {
        let wake = scope.worker().sync_activator_for(info.address.to_vec());
        reader.borrow_mut().on_arrival(Box::new(move || {
            // Fails only once the dataflow is gone, when there is nothing left to wake.
            let _ = wake.activate();
        }));
        let activator = scope.activator_for(info.address);
        let changes_cap = capabilities.pop().expect("the changes output's capability");
        let positions_cap = capabilities
            .pop()
            .expect("the positions output's capability");
        let updates_cap = capabilities.pop().expect("the updates output's capability");
        // The outputs of the other mode are done at once.
        let mut held = Some(match emit {
            Emit::Windows => Held::Windows {
                updates: updates_cap,
                positions: positions_cap,
            },
            Emit::Changes { interval_ms } => Held::Changes {
                changes: changes_cap,
                interval_ms,
                next_drain_ms: next_tick(unix_ms(), Duration::from_millis(interval_ms)),
                horizon: None,
            },
        });
        let mut finishing = false;
        let mut vitals_due_ms = 0;
        move |_frontiers| {
            let Some(capabilities) = held.as_mut() else {
                return;
            };
            if finishing {
                held = None;
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
                {
                    let mut v = vitals.get();
                    v.checkpoints += 1;
                    vitals.set(v);
                    if let Some(board) = &board {
                        board.checkpoint_taken(now, started.elapsed());
                    }
                }
            }
            if now >= vitals_due_ms {
                vitals_due_ms = now + VITALS_EVERY_MS;
                let mut v = vitals.get();
                // A frontier at 0 is "nothing read yet", not an event time.
                v.event_time_ms = state
                    .event_frontier_ns(now)
                    .filter(|&ns| ns > 0)
                    .map(|ns| ns / 1_000_000);
                v.lag = reader.borrow().lag();
                vitals.set(v);
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
            let over = match capabilities {
                Held::Windows { updates, positions } => {
                    let mut output = updates_out.activate();
                    for (window, aggregates) in &advance.closed {
                        let at = updates.delayed(window);
                        let mut session = output.session(&at);
                        for (campaign, aggregate) in (1..).zip(aggregates) {
                            if aggregate.count > 0 {
                                session.give((campaign, *window, *aggregate));
                            }
                        }
                    }
                    if advance.open_from != Some(*updates.time()) {
                        // The frontier moves: say where this worker has read, before it does.
                        positions_out
                            .activate()
                            .session(&*positions)
                            .give(positions_of(&partitions, &state));
                    }
                    // Input over: moving the capability past every window releases the last results
                    // at once (dropping it outright only takes effect at the worker's next wake-up);
                    // it is dropped on the next activation.
                    let to = advance.open_from.unwrap_or_else(|| {
                        advance
                            .closed
                            .last()
                            .map_or(*updates.time(), |(w, _)| w + 1)
                    });
                    let to = to.max(*updates.time());
                    updates.downgrade(&to);
                    positions.downgrade(&to);
                    advance.open_from.is_none()
                }
                Held::Changes {
                    changes,
                    interval_ms,
                    next_drain_ms,
                    horizon,
                } => {
                    // This source's time follows its clock, so the writers can apply what every
                    // source sent up to a moment once each has passed it — but stops at the end of
                    // the update interval until what was counted in it is sent, at that time.
                    let at = now.min(*next_drain_ms).max(*changes.time());
                    changes.downgrade(&at);
                    let drained = if now >= *next_drain_ms {
                        *next_drain_ms = next_tick(now, Duration::from_millis(*interval_ms));
                        state.drain_changes()
                    } else {
                        Vec::new()
                    };
                    // While records of a failed incarnation are read again, what they add up to is
                    // not sent (it would be a partial count), so neither is where this source has
                    // read: a writer's positions never run ahead of the counts it holds.
                    let moved = !state.replaying() && *horizon != Some(advance.open_from);
                    if moved || !advance.closed.is_empty() || !drained.is_empty() {
                        let mut output = changes_out.activate();
                        let mut session = output.session(&*changes);
                        for (window, aggregates) in advance.closed.iter().chain(&drained) {
                            for (campaign, aggregate) in (1..).zip(aggregates) {
                                if aggregate.count > 0 {
                                    session.give(Change::Counted {
                                        campaign,
                                        window: *window,
                                        aggregate: *aggregate,
                                    });
                                }
                            }
                        }
                        let Positions(read) = positions_of(&partitions, &state);
                        for to in 0..peers {
                            session.give(Change::Read {
                                to,
                                source: me,
                                positions: read.clone(),
                                horizon: advance.open_from,
                                closed: state.closed_from(now),
                            });
                        }
                        *horizon = Some(advance.open_from);
                    }
                    // Nothing more is sent at this millisecond or before.
                    let past = (now + 1).min(*next_drain_ms).max(*changes.time());
                    changes.downgrade(&past);
                    advance.open_from.is_none()
                }
            };
            if over {
                // Dead letters are flushed after the dataflow completes, so waiting for them never
                // delays the last results.
                m.read_to = state.read_to();
                finishing = true;
                activator.activate();
                return;
            }
            if read == READ_BUDGET {
                activator.activate();
            } else {
                activator.activate_after(RECHECK);
            }
        }
    });
    Emitted {
        updates,
        positions,
        changes,
    }
}
