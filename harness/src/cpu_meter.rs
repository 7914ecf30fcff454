//! What a run cost in CPU: the job's and producers' own figures from their summaries, the broker's and
//! the harness's read from `/proc` at the start and end of the run.

use adstream_common::cpu;
use serde::Serialize;
use serde_json::Value;

/// CPU seconds (user + system) used during a run, per part.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuUse {
    /// All job processes together.
    pub job: f64,
    /// All producers together.
    pub producers: f64,
    /// The broker, when the harness started it (an external broker's CPU is not visible to it).
    pub broker: Option<f64>,
    /// The harness itself: its collectors, the probe and the verification recount.
    pub harness: f64,
}

impl CpuUse {
    /// The sum of the `cpu_s` fields of the children's summaries, job and producers apart.
    pub fn of_children<'a>(
        job: impl IntoIterator<Item = &'a Value>,
        producers: impl IntoIterator<Item = &'a Value>,
    ) -> Self {
        let sum = |summaries: &mut dyn Iterator<Item = &'a Value>| {
            summaries
                .filter_map(|s| s.get("cpu_s").and_then(Value::as_f64))
                .sum()
        };
        Self {
            job: sum(&mut job.into_iter()),
            producers: sum(&mut producers.into_iter()),
            ..Self::default()
        }
    }
}

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
    pub fn finish<'a>(
        &self,
        job: impl IntoIterator<Item = &'a Value>,
        producers: impl IntoIterator<Item = &'a Value>,
    ) -> CpuUse {
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
            ..CpuUse::of_children(job, producers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_figures_are_summed_per_part_and_missing_ones_skipped() {
        let job = [
            serde_json::json!({"process": 0, "cpu_s": 1.25}),
            serde_json::json!({"process": 1, "cpu_s": 2.0}),
        ];
        let producers = [
            serde_json::json!({"producer": 0, "cpu_s": 0.5}),
            serde_json::json!({"producer": 1}),
        ];
        let use_ = CpuUse::of_children(&job, &producers);
        assert_eq!(use_.job, 3.25);
        assert_eq!(use_.producers, 0.5);
        assert_eq!(use_.broker, None);
    }

    #[test]
    fn a_broker_process_is_measured_from_the_start() {
        let meter = CpuMeter::start(Some(std::process::id()));
        let spin: u64 = (0..20_000_000u64).map(|i| i.rotate_left(7) ^ i).sum();
        assert!(spin > 0);
        let used = meter.finish([], []);
        assert!(used.broker.is_some_and(|b| b >= 0.0));
        assert!(used.harness >= 0.0);
        assert_eq!(CpuMeter::start(None).finish([], []).broker, None);
    }
}
