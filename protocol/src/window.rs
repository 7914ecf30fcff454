//! Window arithmetic: which tumbling window an event time falls in, and where a window starts and ends.
//!
//! Windows are counted from the run's base time, shared by all producers: window `w` covers event time
//! `[base + w·size, base + (w+1)·size)`.

/// Tumbling event-time windows of a fixed size, counted from a base time (all in nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    base_ns: u64,
    size_ns: u64,
}

impl Windows {
    /// Windows of `size_ns` nanoseconds counted from `base_ns`. `size_ns` must be positive.
    pub fn new(base_ns: u64, size_ns: u64) -> Self {
        assert!(size_ns > 0, "window size must be positive");
        Self { base_ns, size_ns }
    }

    /// The run's base time in nanoseconds.
    pub fn base_ns(&self) -> u64 {
        self.base_ns
    }

    /// The window size in nanoseconds.
    pub fn size_ns(&self) -> u64 {
        self.size_ns
    }

    /// The window holding `event_time_ns`, or `None` for a time before the base.
    pub fn window_of(&self, event_time_ns: u64) -> Option<u64> {
        event_time_ns
            .checked_sub(self.base_ns)
            .map(|since_base| since_base / self.size_ns)
    }

    /// The first nanosecond of window `w`.
    pub fn start_ns(&self, w: u64) -> u64 {
        self.base_ns + w * self.size_ns
    }

    /// The first nanosecond after window `w`.
    pub fn end_ns(&self, w: u64) -> u64 {
        self.start_ns(w + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_half_open_intervals_from_the_base() {
        let w = Windows::new(1_000, 10);
        assert_eq!(w.window_of(999), None);
        assert_eq!(w.window_of(1_000), Some(0));
        assert_eq!(w.window_of(1_009), Some(0));
        assert_eq!(w.window_of(1_010), Some(1));
        assert_eq!(w.start_ns(3), 1_030);
        assert_eq!(w.end_ns(3), 1_040);
        for t in 1_000..1_100 {
            let id = w.window_of(t).unwrap();
            assert!(w.start_ns(id) <= t && t < w.end_ns(id));
        }
    }
}
