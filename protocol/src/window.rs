//! Window arithmetic: which tumbling window an event time falls in, and where a window starts and ends.
//!
//! Windows are counted from the run's base time, shared by all producers: window `w` covers event time
//! `[base + w·size, base + (w+1)·size)`. When nobody says what the base is (foreign producers), the
//! events say it: each event's `window_id` and `event_time_ns` allow a range of bases ([`BaseRange`]),
//! and the bases every event allows are the ones a consistent stream can have had.

use serde::{Deserialize, Serialize};

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

/// The base times (ns) a set of events allows: every base in `lo..=hi` puts each of them in the window
/// it states. A given base is the range of one value; an unknown one starts as [`BaseRange::ANY`] and
/// narrows with every event ([`BaseRange::narrow`]).
///
/// Narrowing is intersection, which is associative, commutative and has `ANY` as its identity, so the
/// ranges of partial aggregates may be combined in any order (an empty range, `lo > hi`, stays empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BaseRange {
    /// The earliest base allowed.
    pub lo: u64,
    /// The latest base allowed.
    pub hi: u64,
}

impl Default for BaseRange {
    fn default() -> Self {
        Self::ANY
    }
}

impl BaseRange {
    /// Nothing known: every base is allowed.
    pub const ANY: Self = Self {
        lo: 0,
        hi: u64::MAX,
    };

    /// Exactly `base_ns`.
    pub fn exactly(base_ns: u64) -> Self {
        Self {
            lo: base_ns,
            hi: base_ns,
        }
    }

    /// The bases under which `event_time_ns` falls in window `window_id` of windows of `size_ns`:
    /// `(t − (w+1)·size, t − w·size]`; `None` when the window would start after the time under every
    /// base.
    pub fn of_event(window_id: u64, event_time_ns: u64, size_ns: u64) -> Option<Self> {
        let hi = event_time_ns.checked_sub(window_id.checked_mul(size_ns)?)?;
        Some(Self {
            lo: hi.saturating_sub(size_ns - 1),
            hi,
        })
    }

    /// The bases both allow, or `None` when they contradict each other.
    pub fn intersect(self, other: Self) -> Option<Self> {
        let both = self.narrow(other);
        (both.lo <= both.hi).then_some(both)
    }

    /// The intersection, empty or not (`lo > hi`): the combining step of partial aggregates.
    pub fn narrow(self, other: Self) -> Self {
        Self {
            lo: self.lo.max(other.lo),
            hi: self.hi.min(other.hi),
        }
    }

    /// Whether nothing has narrowed it yet.
    pub fn is_any(&self) -> bool {
        *self == Self::ANY
    }

    /// The base to state window bounds with: the roundest time in the range — the one with the most
    /// trailing decimal zeros in nanoseconds, the earliest of those. A producer's base is usually a
    /// whole second or millisecond (the seed's is `int(time.time())`), so once the events pin the base
    /// closer than that, this is the producer's own base. An empty range gives `lo`.
    pub fn roundest(&self) -> u64 {
        if self.lo >= self.hi {
            return self.lo;
        }
        let mut unit: u64 = 10_000_000_000_000_000_000; // 10^19, the largest power of ten in a u64
        loop {
            if let Some(m) = self.lo.div_ceil(unit).checked_mul(unit)
                && m <= self.hi
            {
                return m;
            }
            unit /= 10;
        }
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

    #[test]
    fn an_event_allows_the_bases_that_put_it_in_its_window() {
        // Window 2 of size 10 holds time 1025 for the bases in (1025 − 30, 1025 − 20].
        let r = BaseRange::of_event(2, 1_025, 10).unwrap();
        assert_eq!(r, BaseRange { lo: 996, hi: 1_005 });
        for base in r.lo..=r.hi {
            assert_eq!(Windows::new(base, 10).window_of(1_025), Some(2));
        }
        assert_eq!(Windows::new(r.lo - 1, 10).window_of(1_025), Some(3));
        assert_eq!(Windows::new(r.hi + 1, 10).window_of(1_025), Some(1));
        // Window 200 of size 10 would start after time 1025 whatever the base.
        assert_eq!(BaseRange::of_event(200, 1_025, 10), None);
        assert_eq!(BaseRange::of_event(u64::MAX, 1_025, 10), None);
    }

    #[test]
    fn ranges_narrow_by_intersection_in_any_order() {
        let a = BaseRange { lo: 10, hi: 20 };
        let b = BaseRange { lo: 15, hi: 30 };
        let c = BaseRange { lo: 25, hi: 40 };
        assert_eq!(a.intersect(b), Some(BaseRange { lo: 15, hi: 20 }));
        assert_eq!(a.intersect(c), None);
        assert_eq!(BaseRange::ANY.narrow(a), a);
        assert_eq!(a.narrow(b).narrow(c), c.narrow(a).narrow(b));
        assert!(
            a.narrow(c).lo > a.narrow(c).hi,
            "an empty range stays empty"
        );
    }

    #[test]
    fn the_roundest_base_is_the_producers_whole_second() {
        let s = 1_000_000_000;
        let base = 1_764_403_200 * s; // a whole second
        assert_eq!(
            BaseRange {
                lo: base - 3_217,
                hi: base + 999_999
            }
            .roundest(),
            base
        );
        assert_eq!(BaseRange::exactly(base + 7).roundest(), base + 7);
        assert_eq!(
            BaseRange {
                lo: 1_234,
                hi: 1_299
            }
            .roundest(),
            1_240
        );
        assert_eq!(
            BaseRange {
                lo: 1_231,
                hi: 1_239
            }
            .roundest(),
            1_231
        );
        assert_eq!(BaseRange::ANY.roundest(), 0);
        assert_eq!(BaseRange { lo: 20, hi: 10 }.roundest(), 20);
    }
}
