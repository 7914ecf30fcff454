//! What a followed run shows as it goes: the harness's metrics, the live timeline (samples and
//! marks) and the status line, all from what the run's children said and the collectors saw.

use crate::experiment::live_feed::Processes;
use crate::experiment::status_line::Snapshot;
use crate::measure::collectors::RunCollectors;

use super::Follow;

impl Follow<'_> {
    /// Marks `label` of `kind` on the run's timeline.
    pub(super) fn mark(&self, kind: &str, label: String) {
        self.shown.live.borrow_mut().mark(kind, label);
    }

    /// `what` was restarted after a failure.
    pub(super) fn restarted(&self, what: &str) {
        self.shown.metrics.restarted();
        self.mark("restart", format!("{what} restarted"));
    }

    /// Shows progress from the children's messages and the collectors; what the producers sent when
    /// they are ours.
    pub(super) fn show(&mut self, collectors: &RunCollectors, ours: bool) {
        let results = &collectors.results;
        let live = results.live();
        self.shown
            .metrics
            .progress(self.ledger.sent(), self.ledger.processed(), live.windows());
        let processes = Processes {
            children: self.supervisor.running(),
            broker: self.broker.map(|b| b.borrow().pid()),
        };
        self.shown
            .live
            .borrow_mut()
            .sample(&self.ledger, collectors, &processes, ours);
        self.display.update(Snapshot {
            sent: ours.then(|| self.ledger.sent()),
            processed: self.ledger.processed(),
            windows: live.windows(),
            latency_last_ms: live.last_ms(),
            latency_max_ms: live.max_ms(),
            restarts: self.faults.restarts() as usize,
        });
    }
}
