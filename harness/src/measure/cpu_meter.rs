//! What a run cost in CPU: the job's and producers' own figures from their summaries, the broker's and
//! the harness's read from `/proc` at the start and end of the run.

use adstream_protocol::cpu;

use crate::report::model::{CpuUse, RunSummary};

/// Takes the broker's and the harness's CPU time at the start of a run.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    broker_pid: Option<u32>,
    broker_at_start: Option<f64>,
    harness_at_start: f64,
}

impl CpuMeter {
    /// Starts measuring; `broker_pid` is the local broker's process when the harness started it.
    pub fn start(broker_pid: Option<u32>) -> Self {
        Self {
            broker_pid,
            broker_at_start: broker_pid.and_then(cpu::of_process),
            harness_at_start: cpu::of_this_process().unwrap_or(0.0),
        }
    }

    /// The run's CPU use: the children's from their summaries, the broker's and the harness's since
    /// [`CpuMeter::start`].
    pub fn finish(&self, summary: &RunSummary) -> CpuUse {
        let broker = match (
            self.broker_pid.and_then(cpu::of_process),
            self.broker_at_start,
        ) {
            (Some(now), Some(start)) => Some(now - start),
            _ => None,
        };
        CpuUse {
            broker,
            harness: cpu::of_this_process().unwrap_or(0.0) - self.harness_at_start,
            ..summary.cpu_of_children()
        }
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

    #[test]
    fn a_broker_process_is_measured_from_the_start() {
        let meter = CpuMeter::start(Some(std::process::id()));
        let spin: u64 = (0..20_000_000u64).map(|i| i.rotate_left(7) ^ i).sum();
        assert!(spin > 0);
        let used = meter.finish(&RunSummary::default());
        assert!(used.broker.is_some_and(|b| b >= 0.0));
        assert!(used.harness >= 0.0);
        assert_eq!(
            CpuMeter::start(None).finish(&RunSummary::default()).broker,
            None
        );
    }
}
