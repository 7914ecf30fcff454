//! What a run cost in CPU: the job's and producers' own figures from their summaries, the broker's and
//! the harness's read from `/proc` at the start and end of the run, and again after the verification's
//! recount, so that the run's cost and its checking are told apart.

use adstream_protocol::cpu;

use crate::report::model::{CpuUse, RunSummary, Spent};

/// Takes the broker's and the harness's CPU time from the start of a run, lap by lap.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    broker_pid: Option<u32>,
    broker_at_lap: Option<f64>,
    harness_at_lap: f64,
}

impl CpuMeter {
    /// Starts measuring; `broker_pid` is the local broker's process when the harness started it (a
    /// broker restarted during the run is then not measured: its first process is gone).
    pub fn start(broker_pid: Option<u32>) -> Self {
        Self {
            broker_pid,
            broker_at_lap: broker_pid.and_then(cpu::of_process),
            harness_at_lap: cpu::of_this_process().unwrap_or(0.0),
        }
    }

    /// What the harness and the broker used since the start or the previous lap; the next lap counts
    /// from now.
    pub fn lap(&mut self) -> Spent {
        let broker_now = self.broker_pid.and_then(cpu::of_process);
        let harness_now = cpu::of_this_process().unwrap_or(0.0);
        let spent = Spent {
            broker: broker_now
                .zip(self.broker_at_lap)
                .map(|(now, then)| now - then),
            harness: harness_now - self.harness_at_lap,
        };
        self.broker_at_lap = broker_now;
        self.harness_at_lap = harness_now;
        spent
    }
}

/// The CPU use of a run: the children's from `summary`, the harness's and the broker's `during` the run
/// and while `verifying` it.
pub fn cpu_use(summary: &RunSummary, during: Spent, verifying: Spent) -> CpuUse {
    CpuUse {
        broker: during.broker,
        harness: during.harness,
        verification: verifying,
        ..summary.cpu_of_children()
    }
}

#[cfg(test)]
mod tests {
    use adstream_protocol::messages::{JobCounts, JobSummary, ProducerSummary};

    use super::*;

    fn producer(id: u32, cpu_s: Option<f64>) -> ProducerSummary {
        ProducerSummary {
            producer: id,
            events: 0,
            delivered: 0,
            resumed: 0,
            failed: 0,
            elapsed_s: 0.0,
            rate: 0.0,
            paced: true,
            lag_max_ms: 0.0,
            lag_p99_ms: 0.0,
            cpu_s,
        }
    }

    #[test]
    fn children_figures_are_summed_per_part_and_missing_ones_skipped() {
        let job = [1.25, 2.0].map(|cpu| JobSummary {
            process: 0,
            counts: JobCounts::default(),
            cpu_s: Some(cpu),
        });
        let summary = RunSummary::of(
            vec![producer(0, Some(0.5)), producer(1, None)],
            job.to_vec(),
            0,
        );
        let use_ = summary.cpu_of_children();
        assert_eq!(use_.job, 3.25);
        assert_eq!(use_.producers, 0.5);
        assert_eq!(use_.broker, None);
    }

    fn spin() {
        let spun: u64 = (0..20_000_000u64).map(|i| i.rotate_left(7) ^ i).sum();
        assert!(spun > 0);
    }

    #[test]
    fn a_broker_process_is_measured_lap_by_lap() {
        let mut meter = CpuMeter::start(Some(std::process::id()));
        spin();
        let during = meter.lap();
        let verifying = meter.lap();
        assert!(during.broker.is_some_and(|b| b > 0.0), "{during:?}");
        assert!(during.harness > 0.0);
        // The second lap counts from the first: it cannot hold the spin.
        assert!(
            verifying.harness < during.harness,
            "{verifying:?} {during:?}"
        );
        let used = cpu_use(&RunSummary::default(), during.clone(), verifying.clone());
        assert_eq!((used.harness, used.broker), (during.harness, during.broker));
        assert_eq!(used.verification, verifying);
        assert_eq!(CpuMeter::start(None).lap().broker, None);
    }
}
