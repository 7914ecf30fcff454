//! The real-time schedule: waiting until an event is due, at most one wake-up per tick, and the
//! schedule lag histogram that guards against coordinated omission (how far each send fell behind its
//! scheduled time).

use std::time::{Duration, Instant};

use adstream_protocol::clock::unix_ns;

use hdrhistogram::Histogram;

/// What the pacer reads the time from and sleeps on: the wall clock in a producer, a clock the test
/// moves in tests, so no test's verdict depends on how fast the machine is.
pub trait Clock {
    /// Now, in Unix nanoseconds.
    fn now_ns(&self) -> u64;
    /// Sleeps until Unix time `until_ns` (returns at once if it has passed) and returns the time then.
    fn sleep_until(&mut self, until_ns: u64) -> u64;
}

/// A monotonic clock that reads as Unix nanoseconds: wall time at creation plus monotonic time since.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    origin: Instant,
    origin_unix_ns: u64,
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl WallClock {
    /// A clock reading the current wall time.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            origin_unix_ns: unix_ns(),
        }
    }
}

impl Clock for WallClock {
    fn now_ns(&self) -> u64 {
        self.origin_unix_ns + self.origin.elapsed().as_nanos() as u64
    }

    fn sleep_until(&mut self, until_ns: u64) -> u64 {
        let now = self.now_ns();
        if until_ns > now {
            std::thread::sleep(Duration::from_nanos(until_ns - now));
            return self.now_ns();
        }
        now
    }
}

/// A clock the test moves: it stands still until a sleep moves it to the time slept until, plus a
/// fixed oversleep; it remembers every time slept until.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct ManualClock {
    /// Now, Unix ns.
    pub now_ns: u64,
    /// How far past the time slept until a sleep ends.
    pub oversleep_ns: u64,
    /// Every time slept until, in order.
    pub slept_until: Vec<u64>,
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.now_ns
    }

    fn sleep_until(&mut self, until_ns: u64) -> u64 {
        self.slept_until.push(until_ns);
        self.now_ns = self.now_ns.max(until_ns + self.oversleep_ns);
        self.now_ns
    }
}

/// When a producer that last woke at `last_wake_ns` wakes for an event due at `due_ns`: at the due time,
/// but never sooner than one tick after the last wake-up. Events due in between wait for that wake-up,
/// so a busy producer wakes once per tick and sends a tick's events together, while a quiet one (events
/// further apart than a tick) still sends each at its due time.
pub fn wake_at(due_ns: u64, last_wake_ns: u64, tick_ns: u64) -> u64 {
    due_ns.max(last_wake_ns.saturating_add(tick_ns))
}

/// Waits for events to fall due on the real-time schedule, waking at most once per tick.
///
/// Why a tick: on this project's machine (2 cores, a virtual machine) a sleep and wake-up costs tens of
/// microseconds, and work done just after one runs with cold caches. Waking for every event made a
/// paced producer cost 12 µs of CPU per event at 20,000 events/s against 1.8 µs unpaced (BENCHMARKS.md
/// "Paced as cheap as unpaced").
#[derive(Debug)]
pub struct Pacer<C: Clock = WallClock> {
    clock: C,
    tick_ns: u64,
    last_wake_ns: u64,
}

impl<C: Clock> Pacer<C> {
    /// A pacer on `clock` waking at most once per `tick`.
    pub fn new(clock: C, tick: Duration) -> Self {
        Self {
            clock,
            tick_ns: tick.as_nanos() as u64,
            last_wake_ns: 0,
        }
    }

    /// Returns once an event due at `due_ns` may be sent (at once if it is due), with the time then;
    /// `before_sleep` runs first when it must sleep.
    pub fn wait_for<E>(
        &mut self,
        due_ns: u64,
        before_sleep: impl FnOnce() -> Result<(), E>,
    ) -> Result<u64, E> {
        let now = self.clock.now_ns();
        if now >= due_ns {
            return Ok(now);
        }
        before_sleep()?;
        let woke = self
            .clock
            .sleep_until(wake_at(due_ns, self.last_wake_ns, self.tick_ns));
        self.last_wake_ns = woke;
        Ok(woke)
    }

    /// The pacer's clock.
    pub fn clock(&self) -> &C {
        &self.clock
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
            // 1 µs to an hour, 2 significant digits (quantiles within 1%); longer lags saturate at an
            // hour. Two digits keep its counts at 25 KB instead of 190 KB: it is written once per event,
            // and a paced producer writes it just after waking, when a large table misses the cache.
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds"),
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
    fn a_wake_up_waits_for_its_due_time_and_a_tick_after_the_last() {
        let tick = 2_000;
        assert_eq!(
            wake_at(10_000, 9_000, tick),
            11_000,
            "a tick after the last wake-up"
        );
        assert_eq!(
            wake_at(10_000, 5_000, tick),
            10_000,
            "quiet: at the due time"
        );
        assert_eq!(
            wake_at(10_000, 9_000, 0),
            10_000,
            "no tick: every event at its time"
        );
        assert_eq!(wake_at(10_000, u64::MAX, tick), u64::MAX);
    }

    #[test]
    fn a_pacer_never_sends_before_due_and_sends_what_is_due_at_once() {
        let start = 1_000_000_000;
        let clock = ManualClock {
            now_ns: start,
            oversleep_ns: 1_770,
            slept_until: Vec::new(),
        };
        let mut pacer = Pacer::new(clock, Duration::from_millis(5));
        let mut sleeps = 0;
        let mut wait = |pacer: &mut Pacer<ManualClock>, due| {
            pacer
                .wait_for(due, || {
                    sleeps += 1;
                    Ok::<(), ()>(())
                })
                .unwrap()
        };
        // Due now: sent at once, no sleep.
        assert_eq!(wait(&mut pacer, start), start);
        // Due later: one sleep until it is due (the first wake-up has no tick before it).
        let first = start + 1_000_000;
        let woke = wait(&mut pacer, first);
        assert_eq!(woke, first + 1_770);
        // Due by the time the clock is read again: sent at once, however little time has passed.
        assert_eq!(wait(&mut pacer, woke), woke);
        // Due just after a wake-up: waits for the next tick's wake-up, a tick after the last.
        let second = woke + 1_000;
        let sent = wait(&mut pacer, second);
        assert_eq!(sent, woke + 5_000_000 + 1_770);
        assert_eq!(pacer.clock().slept_until, [first, woke + 5_000_000]);
        assert_eq!(sleeps, 2, "no sleep for what is due, one before each wait");
    }

    #[test]
    fn the_clock_reads_wall_time_and_sleeps_until_due() {
        let mut clock = WallClock::new();
        // Between two readings of the system clock, however far apart (1 ms for the two clocks'
        // rounding).
        let before = unix_ns();
        let now = clock.now_ns();
        let after = unix_ns();
        assert!(
            now + 1_000_000 >= before && now <= after + 1_000_000,
            "{before} {now} {after}"
        );
        let due = now + 2_000_000;
        assert!(clock.sleep_until(due) >= due);
        assert!(
            clock.sleep_until(now) >= due,
            "a passed time returns at once"
        );
    }
}
