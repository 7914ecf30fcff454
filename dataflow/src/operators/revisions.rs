//! The update output mode's writer: revisions of each (window, campaign) while its window is open, and
//! a final one once every source has passed its horizon (ARCHITECTURE.md, "Output modes").
//!
//! Sources send [`Change`]s at their own wall-clock time (Unix ms, their capability following their
//! clock): what they counted since their last change, exchanged by campaign, and where they have read
//! with the lowest window they still take events for, addressed to every writer. A writer applies the
//! changes of each millisecond only once its input frontier has passed it — once every source has sent
//! all it will send up to then — so its totals and the positions it holds are always a cut of the same
//! instant: each total is the tally of exactly the events below those positions (those declared late
//! left out), which is the revision's `as_of`. Update intervals are aligned to the clock: each source
//! sends what it counted when it passes an interval's end, and once every source has passed it a
//! writer writes each total that changed as a new revision — fresh up to that moment. Once every
//! source's horizon has passed a window, it writes each of its totals as the final revision and
//! forgets the window.
//!
//! Its output, in window ids, passes a window once every writer has that window's finals delivered:
//! the delivered frontier checkpoints record, as in append mode.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::JobCounts;
use adstream_protocol::wire::AsOf;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::{Scope, Stream};

use crate::core::aggregate::Aggregate;
use crate::edges::ResultWriter;
use crate::operators::board::WorkerBoard;
use crate::operators::sink::{
    DELIVERY_RECHECK, FENCE_RECHECK, Fenced, Verdict, advance_as_of, count_final, result_of,
    verdict,
};

/// What a source tells the revision writers in update mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Events of (`campaign`, `window`) counted since the source's last change.
    Counted {
        /// The campaign.
        campaign: u32,
        /// The window.
        window: u64,
        /// What they add up to.
        aggregate: Aggregate,
    },
    /// Where source `source` has read, for writer `to`: per partition the offset below which it took
    /// every record, and the lowest window it still takes events for (`None`: its input is over).
    Read {
        /// The writer it is for.
        to: u32,
        /// The source (its worker index).
        source: u32,
        /// Its partitions' offsets.
        positions: Vec<(i32, i64)>,
        /// Its horizon.
        horizon: Option<u64>,
        /// The lowest window whose end its event time has not passed: below it, revisions are for
        /// late events.
        closed: u64,
    },
}

/// The end of the update interval `now_ms` is in: intervals are aligned to the clock, the same for
/// every source and writer, so what the sources send at an interval's end is what the writers write.
pub fn next_tick(now_ms: u64, interval: Duration) -> u64 {
    let every = (interval.as_millis() as u64).max(1);
    (now_ms / every + 1) * every
}

/// The writer a change goes to: a campaign's writer, or the one it is addressed to.
fn route(change: &Change) -> u64 {
    match change {
        Change::Counted { campaign, .. } => u64::from(*campaign),
        Change::Read { to, .. } => u64::from(*to),
    }
}

/// One (window, campaign)'s total and where its revisions stand.
#[derive(Debug, Clone, Copy)]
struct Total {
    aggregate: Aggregate,
    next_revision: u32,
    changed: bool,
}

/// How a revision writer works: its window size, update interval and the number of sources.
#[derive(Debug, Clone, Copy)]
pub struct RevisionRules {
    /// Window size (ns).
    pub window_size_ns: u64,
    /// Update interval.
    pub interval: Duration,
    /// How many sources send changes: every worker of the job.
    pub sources: u32,
}

/// The state of one writer.
struct Writer {
    rules: RevisionRules,
    arrived: BTreeMap<u64, Vec<Change>>,
    totals: BTreeMap<(u64, u32), Total>,
    as_of: AsOf,
    horizons: BTreeMap<u32, Option<u64>>,
    closed: BTreeMap<u32, u64>,
    next_revisions_ms: u64,
    in_flight: BTreeSet<u64>,
    told: bool,
}

impl Writer {
    /// Applies the changes of every millisecond the frontier has passed, in order.
    fn apply_passed<W: ResultWriter>(&mut self, passed: impl Fn(u64) -> bool, writer: &W) {
        let later = match self.arrived.keys().find(|t| !passed(**t)) {
            Some(&t) => self.arrived.split_off(&t),
            None => BTreeMap::new(),
        };
        for (_, changes) in std::mem::replace(&mut self.arrived, later) {
            for change in changes {
                match change {
                    Change::Counted {
                        campaign,
                        window,
                        aggregate,
                    } => {
                        let total = self.totals.entry((window, campaign)).or_insert(Total {
                            aggregate: Aggregate::default(),
                            next_revision: writer.first_revision(window, campaign),
                            changed: false,
                        });
                        total.aggregate += aggregate;
                        total.changed = true;
                    }
                    Change::Read {
                        source,
                        positions,
                        horizon,
                        closed,
                        ..
                    } => {
                        self.closed.insert(source, closed);
                        advance_as_of(&mut self.as_of, positions);
                        self.horizons.insert(source, horizon);
                    }
                }
            }
        }
    }

    /// The lowest window some source's event time has not passed the end of.
    fn closed(&self) -> u64 {
        (0..self.rules.sources)
            .map(|s| self.closed.get(&s).copied().unwrap_or(0))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// The lowest window some source still takes events for (`u64::MAX` once every input is over).
    fn horizon(&self) -> u64 {
        (0..self.rules.sources)
            .map(|s| match self.horizons.get(&s) {
                None => 0,
                Some(None) => u64::MAX,
                Some(Some(h)) => *h,
            })
            .min()
            .unwrap_or(u64::MAX)
    }
}

/// Writes the revisions of the `changes` every source sends (see the module doc) with `writer`, unless
/// `fenced` finds the job taken over; returns the delivered frontier, in window ids.
pub fn write_revisions<'s, W: ResultWriter>(
    changes: Stream<'s, u64, Vec<Change>>,
    rules: RevisionRules,
    writer: Rc<RefCell<W>>,
    counts: Rc<RefCell<JobCounts>>,
    board: Option<Arc<WorkerBoard>>,
    mut fenced: Option<Fenced>,
) -> Stream<'s, u64, Vec<()>> {
    let scope: Scope<'s, u64> = changes.scope();
    let mut builder = OperatorBuilder::new("WriteRevisions".to_owned(), scope);
    let info = builder.operator_info();
    let mut input = builder.new_input(changes, Exchange::new(route));
    // Not connected to the input: its frontier is the finals delivered, in window ids.
    let (delivered_out, delivered) = builder.new_output_connection::<Vec<()>, _>([]);
    // Nothing is sent on it; it is kept with the operator.
    let delivered_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<()>>>::from(delivered_out);
    builder.build(move |mut capabilities| {
        let activator = scope.activator_for(info.address);
        let mut capability = capabilities.pop();
        let mut state = Writer {
            rules,
            arrived: BTreeMap::new(),
            totals: BTreeMap::new(),
            as_of: AsOf::new(),
            horizons: BTreeMap::new(),
            closed: BTreeMap::new(),
            next_revisions_ms: next_tick(unix_ms(), rules.interval),
            in_flight: BTreeSet::new(),
            told: false,
        };
        move |frontiers| {
            let _ = &delivered_out;
            input.for_each(|stamp, data| {
                if let Some(&time) = stamp.least() {
                    state.arrived.entry(time).or_default().append(data);
                }
            });
            let frontier = &frontiers[0];
            let mut writer = writer.borrow_mut();
            state.apply_passed(|t| !frontier.less_equal(&t), &*writer);
            let horizon = state.horizon();
            let closed = state.closed();
            let now = unix_ms();
            let finals_due = state
                .totals
                .keys()
                .next()
                .is_some_and(|(w, _)| *w < horizon);
            // Revisions are due once every source has passed the interval's end, where each sent what
            // it had counted: then the totals count everything read up to that moment.
            let revisions_due = !frontier.less_equal(&state.next_revisions_ms);
            if finals_due || revisions_due {
                match verdict(fenced.as_mut()) {
                    Verdict::Write => {
                        let mut write = |window: u64, campaign: u32, total: &mut Total, last| {
                            let mut result = result_of(
                                rules.window_size_ns,
                                window,
                                campaign,
                                &total.aggregate,
                                &state.as_of,
                            );
                            result.revision = total.next_revision;
                            result.is_final = last;
                            total.next_revision += 1;
                            total.changed = false;
                            let written = writer.write(&result);
                            if written && !last && window < closed {
                                counts.borrow_mut().late_revisions += 1;
                            }
                            if written && last {
                                count_final(&counts, board.as_deref(), &result);
                            }
                        };
                        let open = state.totals.split_off(&(horizon, 0));
                        for ((window, campaign), mut total) in
                            std::mem::replace(&mut state.totals, open)
                        {
                            write(window, campaign, &mut total, true);
                            state.in_flight.insert(window);
                        }
                        if revisions_due {
                            for (&(window, campaign), total) in &mut state.totals {
                                if total.changed {
                                    write(window, campaign, total, false);
                                }
                            }
                            state.next_revisions_ms = next_tick(now, rules.interval);
                        }
                    }
                    Verdict::Wait(why) => {
                        if !state.told {
                            eprintln!(
                                "not writing revisions yet: cannot look at the job's fence ({why})"
                            );
                            state.told = true;
                        }
                        activator.activate_after(FENCE_RECHECK);
                    }
                    Verdict::TakenOver(claim) => {
                        state.totals.clear();
                        if let Some(f) = &fenced {
                            *f.taken_over.borrow_mut() = Some(claim);
                        }
                    }
                }
            }
            state.in_flight.retain(|w| !writer.delivered(*w));
            // Every window below both the horizon and the finals still in flight is delivered here.
            let delivered_below = state
                .in_flight
                .first()
                .copied()
                .unwrap_or(u64::MAX)
                .min(horizon);
            let done = delivered_below == u64::MAX && frontier.is_empty();
            match capability.as_mut() {
                Some(_) if done => capability = None,
                Some(cap) if delivered_below > *cap.time() && delivered_below < u64::MAX => {
                    cap.downgrade(&delivered_below)
                }
                _ => {}
            }
            if !state.in_flight.is_empty() {
                activator.activate_after(DELIVERY_RECHECK);
            }
        }
    });
    delivered
}
