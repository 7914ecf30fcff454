//! The results sink: the operator that turns each released (campaign, window, aggregate) into a result
//! record and holds the window's timestamp until the broker has confirmed every record of it. Its
//! output frontier is therefore the *delivered* frontier — every window below it is in the results
//! topic — which is what a job may safely forget, and what tells a worker its job is done.
//!
//! In a job with an id it looks at the job's fence ([`crate::core::fence`]) right before it writes
//! released results: once another incarnation has claimed the job, it writes nothing more and the
//! worker stops ([`TakenOver`]). When the fence cannot be read, the results wait, and the window with
//! them.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::JobCounts;
use adstream_protocol::window::Windows;
use adstream_protocol::wire::{AsOf, WindowResult};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;

use crate::core::aggregate::Aggregate;
use crate::core::fence::Claim;
use crate::edges::{Fence, ResultWriter};
use crate::operators::board::WorkerBoard;

/// How soon a sink with results in flight looks at its delivery reports again.
pub(crate) const DELIVERY_RECHECK: Duration = Duration::from_millis(1);
/// How soon a sink whose results wait because the fence could not be read looks at it again.
pub(crate) const FENCE_RECHECK: Duration = Duration::from_millis(50);

/// The claim that took the job away from this worker's incarnation, once the sink has found one.
pub type TakenOver = Rc<RefCell<Option<Claim>>>;

/// The fence a sink looks at, and where it says the job was taken over.
pub struct Fenced {
    /// The job's fence, followed for this incarnation.
    pub fence: Box<dyn Fence>,
    /// Set when a newer claim is found.
    pub taken_over: TakenOver,
}

/// What the fence says about writing now.
pub(crate) enum Verdict {
    Write,
    Wait(String),
    TakenOver(Claim),
}

pub(crate) fn verdict(fenced: Option<&mut Fenced>) -> Verdict {
    let Some(fenced) = fenced else {
        return Verdict::Write;
    };
    if let Some(claim) = fenced.taken_over.borrow().clone() {
        return Verdict::TakenOver(claim);
    }
    match fenced.fence.superseded() {
        Ok(None) => Verdict::Write,
        Ok(Some(claim)) => Verdict::TakenOver(claim),
        Err(error) => Verdict::Wait(error.to_string()),
    }
}

/// One released update of the consolidated collection: (campaign, window, aggregate) — the window is
/// the update's timely time.
pub type Released = (u32, u64, Aggregate);

/// The result record of `aggregate` for (`window`, `campaign`) of windows of `size_ns`, its bounds
/// stated with the roundest base its events allow ([`adstream_protocol::window::BaseRange::roundest`]).
pub(crate) fn result_of(
    size_ns: u64,
    window: u64,
    campaign: u32,
    aggregate: &Aggregate,
    as_of: &AsOf,
) -> WindowResult {
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
        revision: 0,
        is_final: true,
        as_of: as_of.clone(),
    }
}

/// Moves `as_of` on to `positions`: per partition, the furthest offset either names.
pub(crate) fn advance_as_of(as_of: &mut AsOf, positions: impl IntoIterator<Item = (i32, i64)>) {
    for (partition, offset) in positions {
        let at = as_of.entry(partition).or_insert(offset);
        *at = (*at).max(offset);
    }
}

/// Counts `result`, a final result just written, in the worker's counts and on its `board`.
pub(crate) fn count_final(
    counts: &RefCell<JobCounts>,
    board: Option<&WorkerBoard>,
    result: &WindowResult,
) {
    let mut c = counts.borrow_mut();
    c.results += 1;
    c.windows.insert(result.window_id);
    if let Some(board) = board {
        board.result_written(result.emitted_at_ms.saturating_sub(result.max_produce_time));
    }
}

/// Where the workers' sources had read when they closed windows: per partition, the offset below
/// which they had taken every record ([`crate::operators::source`] sends one whenever its frontier
/// moves, to every sink).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Positions(pub Vec<(i32, i64)>);

/// Writes every released result with `writer` — unless `fenced`, when given, finds the job taken
/// over — stating as its `as_of` the newest `positions` the sources sent, and returns a stream whose
/// frontier passes a window only once all of its results are delivered; each result written is
/// counted on `board`, when given.
///
/// Why that `as_of` is right: a window's results are released once every source has closed it, and
/// each source sends its positions before it lets its frontier pass the window, so once the positions'
/// frontier has passed the window too, every source's positions at its close are in. Each partition's
/// offset is then at or after where its source closed the window: every event of the window below it
/// is counted, and any of the window's events between the close and that offset was declared late.
#[allow(clippy::too_many_arguments)]
pub fn deliver_results<'s, W: ResultWriter>(
    released: Stream<'s, u64, Vec<Released>>,
    positions: Stream<'s, u64, Vec<Positions>>,
    window_size_ns: u64,
    writer: Rc<RefCell<W>>,
    counts: Rc<RefCell<JobCounts>>,
    board: Option<Arc<WorkerBoard>>,
    mut fenced: Option<Fenced>,
) -> Stream<'s, u64, Vec<()>> {
    let scope = released.scope();
    released.binary_frontier::<_, CapacityContainerBuilder<Vec<()>>, _, _, _, _>(
        positions,
        Pipeline,
        Pipeline,
        "DeliverResults",
        move |_, info| {
            let activator = scope.activator_for(info.address);
            let mut held = BTreeMap::new();
            let mut waiting: Vec<Released> = Vec::new();
            let mut as_of = AsOf::new();
            let mut told = BTreeSet::new();
            move |(input, frontier), (positions, positions_frontier), output| {
                let mut writer = writer.borrow_mut();
                input.for_each_stamp(|cap, data| {
                    if let Some(cap) = cap.retain_least(output.output_index()) {
                        held.entry(*cap.time()).or_insert(cap);
                    }
                    for batch in data {
                        waiting.append(batch);
                    }
                });
                positions.for_each(|_, data| {
                    for Positions(read) in data.drain(..) {
                        advance_as_of(&mut as_of, read);
                    }
                });
                // Results of a window whose sources' positions may still be on their way wait.
                let complete = |window: u64| !positions_frontier.frontier().less_equal(&window);
                let verdict = if waiting.iter().any(|&(_, w, _)| complete(w)) {
                    verdict(fenced.as_mut())
                } else {
                    Verdict::Write
                };
                match verdict {
                    Verdict::Write => {
                        let (ready, later): (Vec<Released>, Vec<Released>) =
                            waiting.drain(..).partition(|&(_, w, _)| complete(w));
                        waiting = later;
                        for (campaign, window, aggregate) in ready {
                            let result =
                                result_of(window_size_ns, window, campaign, &aggregate, &as_of);
                            if writer.write(&result) {
                                count_final(&counts, board.as_deref(), &result);
                            }
                        }
                    }
                    Verdict::Wait(why) => {
                        for &(_, window, _) in &waiting {
                            if told.insert(window) {
                                eprintln!(
                                    "not writing window {window}'s results yet: cannot look at the \
                                     job's fence ({why})"
                                );
                            }
                        }
                        activator.activate_after(FENCE_RECHECK);
                    }
                    Verdict::TakenOver(claim) => {
                        // Nothing more is written; the worker sees the claim and stops.
                        waiting.clear();
                        if let Some(f) = &fenced {
                            *f.taken_over.borrow_mut() = Some(claim);
                        }
                    }
                }
                // A window is done once no more of its results can come (the input frontier passed it),
                // none waits, and the broker confirmed every one written.
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
    use crate::edges::memory::{MemoryFence, MemoryResults};

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

    /// A sink writes while its incarnation's claim is the newest; once another incarnation has claimed
    /// the job, it writes nothing more and says which claim took the job over.
    #[test]
    fn once_another_incarnation_claims_the_job_nothing_more_is_written() {
        timely::execute_directly(|worker| {
            let written = Arc::new(Mutex::new(Vec::new()));
            let writer = Rc::new(RefCell::new(MemoryResults(Arc::clone(&written))));
            let claims = Arc::new(Mutex::new(Vec::new()));
            let claim = |generation| Claim {
                job: "j".into(),
                generation,
                claimed_at_ms: 0,
            };
            let mut fence = MemoryFence::over(Arc::clone(&claims));
            let at = fence.claim(&claim(1)).unwrap();
            fence.follow("j", 1, at).unwrap();
            let taken_over = TakenOver::default();
            let fenced = Fenced {
                fence: Box::new(fence),
                taken_over: Rc::clone(&taken_over),
            };
            let mut input = InputHandle::new();
            let mut positions = InputHandle::new();
            let probe = worker.dataflow::<u64, _, _>(|scope| {
                let released = scope.input_from(&mut input);
                deliver_results(
                    released,
                    scope.input_from(&mut positions),
                    1_000_000_000,
                    writer,
                    Rc::new(RefCell::new(JobCounts::default())),
                    None,
                    Some(fenced),
                )
                .probe()
                .0
            });
            input.send((7, 0, aggregate(3)));
            input.advance_to(1);
            for _ in 0..100 {
                worker.step();
            }
            assert!(
                written.lock().unwrap().is_empty(),
                "a window's results wait for its sources' positions"
            );
            positions.send(Positions(vec![(0, 3), (1, 5)]));
            positions.advance_to(1);
            while probe.less_than(&1) {
                worker.step();
            }
            assert_eq!(written.lock().unwrap().len(), 1);
            assert_eq!(
                written.lock().unwrap()[0].as_of,
                AsOf::from([(0, 3), (1, 5)])
            );
            // A claim of another job changes nothing; the next incarnation's claim of this one does.
            MemoryFence::over(Arc::clone(&claims))
                .claim(&Claim {
                    job: "other".into(),
                    ..claim(5)
                })
                .unwrap();
            MemoryFence::over(Arc::clone(&claims))
                .claim(&claim(2))
                .unwrap();
            input.send((7, 1, aggregate(4)));
            input.advance_to(2);
            positions.advance_to(2);
            while taken_over.borrow().is_none() {
                worker.step();
            }
            assert_eq!(*taken_over.borrow(), Some(claim(2)));
            for _ in 0..100 {
                worker.step();
            }
            let written = written.lock().unwrap();
            assert_eq!(written.len(), 1, "nothing written after the takeover");
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
