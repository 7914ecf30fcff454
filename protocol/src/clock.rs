//! Wall-clock time as Unix milliseconds and nanoseconds: the one clock every process stamps records
//! with (`produce_time`, `emitted_at_ms`) and measures latency against.

use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (0 for a clock set before 1970).
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Microseconds since the Unix epoch.
pub fn unix_us() -> u64 {
    unix_ns() / 1_000
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    unix_ns() / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_agree() {
        let (ms, us, ns) = (unix_ms(), unix_us(), unix_ns());
        assert!(ms > 1_600_000_000_000, "after 2020");
        assert!(us / 1_000 >= ms && ns / 1_000 >= us);
    }
}
