//! The one-line summary a producer ends with.

use std::fmt;

use serde::Serialize;

/// What one producer did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The producer id.
    pub producer: u32,
    /// Events sent.
    pub events: u64,
    /// Events confirmed delivered.
    pub delivered: u64,
    /// Events whose delivery failed.
    pub failed: u64,
    /// Seconds from the first send to the last delivery report.
    pub elapsed_s: f64,
    /// Events per second achieved over `elapsed_s`.
    pub rate: f64,
    /// Whether the producer followed the real-time schedule.
    pub paced: bool,
    /// Largest schedule lag in milliseconds (paced only).
    pub lag_max_ms: f64,
    /// 99th-percentile schedule lag in milliseconds (paced only).
    pub lag_p99_ms: f64,
    /// CPU seconds the producer process used (user + system), when known.
    pub cpu_s: Option<f64>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "producer {}: sent {} events in {:.2} s ({:.0} events/s), delivered {}, failed {}, ",
            self.producer, self.events, self.elapsed_s, self.rate, self.delivered, self.failed
        )?;
        if self.paced {
            write!(
                f,
                "schedule lag max {:.2} ms p99 {:.2} ms",
                self.lag_max_ms, self.lag_p99_ms
            )
        } else {
            f.write_str("unpaced")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_one_line_with_the_figures() {
        let s = Summary {
            producer: 1,
            events: 6_000,
            delivered: 6_000,
            failed: 0,
            elapsed_s: 3.0,
            rate: 2_000.0,
            paced: true,
            lag_max_ms: 0.5,
            lag_p99_ms: 0.25,
            cpu_s: Some(1.5),
        };
        assert_eq!(
            s.to_string(),
            "producer 1: sent 6000 events in 3.00 s (2000 events/s), delivered 6000, failed 0, \
             schedule lag max 0.50 ms p99 0.25 ms"
        );
    }
}
