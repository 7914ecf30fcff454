//! The real-time schedule: waiting until an event is due, and the schedule lag histogram that guards
//! against coordinated omission (how far each send fell behind its scheduled time).

use std::time::{Duration, Instant};

use adstream_protocol::clock::unix_ns;

use hdrhistogram::Histogram;

/// A monotonic clock that reads as Unix nanoseconds: wall time at creation plus monotonic time since.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    origin_unix_ns: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock reading the current wall time.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            origin_unix_ns: unix_ns(),
        }
    }

    /// Now, in Unix nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.origin_unix_ns + self.origin.elapsed().as_nanos() as u64
    }

    /// Sleeps until Unix time `due_ns` (returns at once if it has passed) and returns the time then.
    pub fn sleep_until(&self, due_ns: u64) -> u64 {
        let now = self.now_ns();
        if due_ns > now {
            std::thread::sleep(Duration::from_nanos(due_ns - now));
            return self.now_ns();
        }
        now
    }
}

/// How far sends fell behind their schedule, in microseconds.
#[derive(Debug, Clone)]
pub struct ScheduleLag {
    histogram: Histogram<u64>,
}

impl Default for ScheduleLag {
    fn default() -> Self {
        Self {
            // 1 µs to an hour, 3 significant digits; longer lags saturate at an hour.
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
        }
    }
}

impl ScheduleLag {
    /// Records a send at `sent_ns` of an event due at `due_ns`.
    pub fn record(&mut self, due_ns: u64, sent_ns: u64) {
        self.histogram
            .saturating_record(sent_ns.saturating_sub(due_ns) / 1_000);
    }

    /// The largest lag in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1_000.0
    }

    /// The lag in milliseconds that `quantile` (0..=1) of sends stayed within.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1_000.0
    }

    /// How many sends were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_measured_from_the_schedule_and_never_negative() {
        let mut lag = ScheduleLag::default();
        for i in 0..99 {
            lag.record(1_000_000 * i, 1_000_000 * i + 100_000);
        }
        lag.record(5_000_000, 12_000_000);
        lag.record(9_000_000, 8_000_000);
        assert_eq!(lag.count(), 101);
        assert!((lag.max_ms() - 7.0).abs() < 0.01, "{}", lag.max_ms());
        assert!((lag.quantile_ms(0.5) - 0.1).abs() < 0.001);
    }

    #[test]
    fn the_clock_reads_wall_time_and_sleeps_until_due() {
        let clock = Clock::new();
        let before = unix_ns();
        let now = clock.now_ns();
        assert!(now.abs_diff(before) < 50_000_000);
        let due = now + 2_000_000;
        assert!(clock.sleep_until(due) >= due);
        assert!(
            clock.sleep_until(now) >= due,
            "a passed time returns at once"
        );
    }
}
