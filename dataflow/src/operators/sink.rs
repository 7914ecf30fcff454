//! The results sink: the operator that turns each released (campaign, window, aggregate) into a result
//! record and holds the window's timestamp until the broker has confirmed every record of it. Its
//! output frontier is therefore the *delivered* frontier — every window below it is in the results
//! topic — which is what a job may safely forget, and what tells a worker its job is done.
//!
//! In a job of several processes it writes only while the worker holds its [`Lease`] (every peer
//! heard from recently); without it the results wait, and the window with them. A process cut off
//! from its peers, or stopped and continued after its job was restarted elsewhere, so writes nothing
//! the new incarnation writes too.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::JobCounts;
use adstream_protocol::window::Windows;
use adstream_protocol::wire::WindowResult;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;

use crate::core::aggregate::Aggregate;
use crate::edges::ResultWriter;
use crate::operators::board::WorkerBoard;
use crate::operators::heartbeat::Lease;

/// How soon a sink with results in flight looks at its delivery reports again.
const DELIVERY_RECHECK: Duration = Duration::from_millis(1);
/// How soon a sink whose results wait for the lease looks at it again.
const LEASE_RECHECK: Duration = Duration::from_millis(50);

/// One released update of the consolidated collection: (campaign, window, aggregate) — the window is
/// the update's timely time.
pub type Released = (u32, u64, Aggregate);

/// The result record of `aggregate` for (`window`, `campaign`) of windows of `size_ns`, its bounds
/// stated with the roundest base its events allow ([`adstream_protocol::window::BaseRange::roundest`]).
fn result_of(size_ns: u64, window: u64, campaign: u32, aggregate: &Aggregate) -> WindowResult {
    let windows = Windows::new(aggregate.base.roundest(), size_ns);
    WindowResult {
        window_id: window,
        window_start_ms: windows.start_ns(window) / 1_000_000,
        window_end_ms: windows.end_ns(window) / 1_000_000,
        campaign_id: campaign,
        count: aggregate.count,
        views: aggregate.views,
        clicks: aggregate.clicks,
        purchases: aggregate.purchases,
        max_produce_time: aggregate.max_produce_time,
        emitted_at_ms: unix_ms(),
    }
}

/// Writes every released result with `writer` — while `lease`, when given, holds — and returns a
/// stream whose frontier passes a window only once all of its results are delivered; each result
/// written is counted on `board`, when given.
pub fn deliver_results<'s, W: ResultWriter>(
    released: Stream<'s, u64, Vec<Released>>,
    window_size_ns: u64,
    writer: Rc<RefCell<W>>,
    counts: Rc<RefCell<JobCounts>>,
    board: Option<Arc<WorkerBoard>>,
    lease: Option<Lease>,
) -> Stream<'s, u64, Vec<()>> {
    let scope = released.scope();
    released.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "DeliverResults",
        move |_, info| {
            let activator = scope.activator_for(info.address);
            let mut held = BTreeMap::new();
            let mut waiting: Vec<Released> = Vec::new();
            let mut told = BTreeSet::new();
            move |(input, frontier), output| {
                let mut writer = writer.borrow_mut();
                input.for_each_stamp(|cap, data| {
                    if let Some(cap) = cap.retain_least(output.output_index()) {
                        held.entry(*cap.time()).or_insert(cap);
                    }
                    for batch in data {
                        waiting.append(batch);
                    }
                });
                let leased = lease.as_ref().map_or(Ok(()), |l| l.holds(unix_ms()));
                match leased {
                    Ok(()) => {
                        for (campaign, window, aggregate) in waiting.drain(..) {
                            let result = result_of(window_size_ns, window, campaign, &aggregate);
                            if writer.write(&result) {
                                let mut c = counts.borrow_mut();
                                c.results += 1;
                                c.windows.insert(window);
                                if let Some(board) = &board {
                                    board.result_written(
                                        result
                                            .emitted_at_ms
                                            .saturating_sub(result.max_produce_time),
                                    );
                                }
                            }
                        }
                    }
                    Err(lost) => {
                        for &(_, window, _) in &waiting {
                            if told.insert(window) {
                                eprintln!(
                                    "not writing window {window}'s results: the newest heartbeat \
                                     of job process {} is {:.1} s old, so this process has lost \
                                     its lease to write (another incarnation of the job may be \
                                     writing them)",
                                    lost.peer,
                                    lost.age_ms as f64 / 1_000.0
                                );
                            }
                        }
                        activator.activate_after(LEASE_RECHECK);
                    }
                }
                // A window is done once no more of its results can come (the input frontier passed it),
                // none waits for the lease, and the broker confirmed every one written.
                held.retain(|window, _| {
                    frontier.frontier().less_equal(window)
                        || waiting.iter().any(|(_, w, _)| w == window)
                        || !writer.delivered(*window)
                });
                if !held.is_empty() {
                    activator.activate_after(DELIVERY_RECHECK);
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use adstream_protocol::window::BaseRange;
    use timely::dataflow::InputHandle;
    use timely::dataflow::operators::{Input, Probe};

    use super::*;
    use crate::edges::memory::MemoryResults;

    fn aggregate(count: u64) -> Aggregate {
        Aggregate {
            count,
            views: count,
            clicks: 0,
            purchases: 0,
            max_produce_time: 1,
            base: BaseRange::exactly(0),
        }
    }

    /// A worker whose lease is lost writes nothing and holds the window; once a peer's heartbeat
    /// renews it, the results go out and the window passes.
    #[test]
    fn without_the_lease_results_wait_and_so_does_the_window() {
        timely::execute_directly(|worker| {
            let written = Arc::new(Mutex::new(Vec::new()));
            let writer = Rc::new(RefCell::new(MemoryResults(Arc::clone(&written))));
            let lease = Lease::new([1], 0);
            let mut input = InputHandle::new();
            let probe = worker.dataflow::<u64, _, _>(|scope| {
                let released = scope.input_from(&mut input);
                deliver_results(
                    released,
                    1_000_000_000,
                    writer,
                    Rc::new(RefCell::new(JobCounts::default())),
                    None,
                    Some(lease.clone()),
                )
                .probe()
                .0
            });
            // Peer 1 was last heard from at the Unix epoch: the lease is long lost.
            input.send((7, 0, aggregate(3)));
            input.advance_to(1);
            for _ in 0..100 {
                worker.step();
            }
            assert!(written.lock().unwrap().is_empty());
            assert!(
                probe.less_than(&1),
                "window 0 is held while its results wait"
            );
            lease.heard(1, unix_ms());
            while probe.less_than(&1) {
                worker.step();
            }
            let written = written.lock().unwrap();
            assert_eq!(written.len(), 1);
            assert_eq!(
                (
                    written[0].window_id,
                    written[0].campaign_id,
                    written[0].count
                ),
                (0, 7, 3)
            );
        });
    }
}
