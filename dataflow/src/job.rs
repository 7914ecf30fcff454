//! One worker's dataflow: source → the aggregate collection, consolidated → results.
//!
//! The formulation, and why it is right: every valid event becomes the update `(campaign, window,
//! Aggregate::of(event))` at timely time `window`. Summing the differences of equal `(campaign,
//! window)` pairs is exactly the per-window, per-campaign aggregation, and differential's
//! `consolidate` does that sum: it exchanges updates by campaign, accumulates them in an arrangement, and
//! releases each `(campaign, window)` once, with its total, when the frontier passes `window` — that is,
//! when every worker's source has closed the window. Nothing is emitted early (the frontier is exact)
//! and nothing twice (a time is released once). What it costs: each worker pre-sums its events per
//! (window, campaign) before the exchange, so the network and the arrangement see at most
//! workers × campaigns updates per window, not events; the arrangement holds only open windows'
//! updates, so memory does not grow with the run.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use adstream_common::schema::WindowResult;
use adstream_common::window::Windows;
use differential_dataflow::AsCollection;
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use crate::io::{DeadLetters, RecordReader, ResultWriter};
use crate::metrics::Metrics;
use crate::source::{events_source, now_ms};
use crate::window_state::WindowState;

/// How long a parked worker sleeps at most when nothing wakes it.
const PARK: Duration = Duration::from_millis(100);
/// How often a worker reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Builds this worker's dataflow, runs it until every source is over and every result written, and
/// returns what the worker did. `progress` sees the worker's metrics about once a second.
pub fn run_worker<R: RecordReader, D: DeadLetters, W: ResultWriter>(
    worker: &mut Worker,
    windows: Windows,
    state: WindowState,
    reader: R,
    dead_letters: D,
    writer: W,
    mut progress: impl FnMut(&Metrics),
) -> Metrics {
    let metrics = Rc::new(RefCell::new(Metrics::default()));
    let writer = Rc::new(RefCell::new(writer));
    let dead_letters = Rc::new(RefCell::new(dead_letters));
    let probe = ProbeHandle::new();
    {
        let metrics = Rc::clone(&metrics);
        let writer = Rc::clone(&writer);
        let dead_letters = Rc::clone(&dead_letters);
        worker.dataflow::<u64, _, _>(|scope| {
            events_source(scope, state, reader, dead_letters, Rc::clone(&metrics))
                .as_collection()
                .consolidate()
                .inspect(move |&(campaign, window, aggregate)| {
                    let result = WindowResult {
                        window_id: window,
                        window_start_ms: windows.start_ns(window) / 1_000_000,
                        window_end_ms: windows.end_ns(window) / 1_000_000,
                        campaign_id: campaign,
                        count: aggregate.count,
                        views: aggregate.views,
                        clicks: aggregate.clicks,
                        purchases: aggregate.purchases,
                        max_produce_time: aggregate.max_produce_time,
                        emitted_at_ms: now_ms(),
                    };
                    writer.borrow_mut().write(&result);
                    let mut m = metrics.borrow_mut();
                    m.results += 1;
                    m.windows.insert(window);
                })
                .probe_with(&probe);
        });
    }
    let mut reported = std::time::Instant::now();
    while !probe.done() {
        worker.step_or_park(Some(PARK));
        if reported.elapsed() >= PROGRESS_EVERY {
            progress(&metrics.borrow());
            reported = std::time::Instant::now();
        }
    }
    let failures = writer.borrow_mut().flush() + dead_letters.borrow_mut().flush();
    let mut m = metrics.take();
    m.delivery_failures += failures;
    m
}
