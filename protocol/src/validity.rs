//! Which events are valid: the one set of rules the job applies to its input and every recount
//! (the harness's verification, the tests, the benchmark scripts through the harness) applies to the
//! events topic. A record that breaks a rule is rejected by the job — counted and sent to the
//! dead-letter topic — and left out of every recount, so the two can never disagree about it.
//!
//! The rules, in the order they are applied:
//! 1. the value is at most [`MAX_EVENT_BYTES`] ([`check_size`]);
//! 2. it is the event JSON of [`crate::wire::Event`] (each reader parses with its own code);
//! 3. its campaign is one of the catalogue's ([`EventRules::check`]);
//! 4. its `window_id` is the window of its `event_time_ns`, counted from the run's base time, which it
//!    must not precede ([`PartitionRules::check`]).
//!
//! Rule 4 when the base time is not given (bounded mode, foreign producers): the base is inferred per
//! partition, in offset order. Each event allows a range of bases ([`BaseRange::of_event`]); the
//! partition's range is what every event it accepted so far allows, and an event whose range misses
//! it contradicts them and is rejected. Because a partition is read in offset order by one worker, the
//! job and every recount take the same decisions, whatever the interleaving of partitions. (Inferring
//! per partition also means the first event of a partition is trusted: if it is the inconsistent one,
//! the partition's consistent events are the ones rejected — visibly, with their reason.)
//!
//! Control records (a `kind` header) are not events and never counted.

use crate::catalog::AdCatalog;
use crate::window::{BaseRange, Windows};
use crate::wire::Event;

/// The largest event value accepted, in bytes (an event is ~300 bytes; anything near a megabyte is
/// not one).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Why an event is not valid; its text is the dead-letter `reason` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The value is too large to be an event.
    #[error("oversized record: {bytes} bytes > {limit}")]
    Oversized {
        /// The record's size.
        bytes: usize,
        /// The limit, [`MAX_EVENT_BYTES`].
        limit: usize,
    },
    /// The campaign id is not one of the catalogue's campaigns.
    #[error("unknown campaign: {0}")]
    UnknownCampaign(u32),
    /// The event time lies before the run's base time, where no window is.
    #[error("inconsistent window: event_time_ns {event_time_ns} is before the run's base time")]
    BeforeBase {
        /// The event's time.
        event_time_ns: u64,
    },
    /// The stated window is not the window of the event time.
    #[error(
        "inconsistent window: window_id {window_id} does not match event_time_ns {event_time_ns} (window {actual})"
    )]
    WindowMismatch {
        /// The event's `window_id`.
        window_id: u64,
        /// The event's time.
        event_time_ns: u64,
        /// The window that time falls in.
        actual: u64,
    },
    /// No base time puts the event time in the stated window: the window would start after it.
    #[error(
        "inconsistent window: window_id {window_id} would start after event_time_ns {event_time_ns}"
    )]
    WindowAfterTime {
        /// The event's `window_id`.
        window_id: u64,
        /// The event's time.
        event_time_ns: u64,
    },
    /// The stated window contradicts the base time the partition's earlier events imply.
    #[error(
        "inconsistent window: window_id {window_id} with event_time_ns {event_time_ns} needs a base time in {}..={} ns, but the partition's earlier events put it in {}..={} ns",
        allows.lo, allows.hi, known.lo, known.hi
    )]
    ContradictsBase {
        /// The event's `window_id`.
        window_id: u64,
        /// The event's time.
        event_time_ns: u64,
        /// The bases the event allows.
        allows: BaseRange,
        /// The bases the partition's events so far allow.
        known: BaseRange,
    },
}

/// Rule 1: a value of `bytes` bytes may be an event.
pub fn check_size(bytes: usize) -> Result<(), Invalid> {
    if bytes > MAX_EVENT_BYTES {
        return Err(Invalid::Oversized {
            bytes,
            limit: MAX_EVENT_BYTES,
        });
    }
    Ok(())
}

/// The rules that need the parsed event (3 and 4) for a run: its window size and, when given, its base
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRules {
    size_ns: u64,
    base_ns: Option<u64>,
}

impl EventRules {
    /// The rules of a run with these windows: the base time is given.
    pub fn new(windows: Windows) -> Self {
        Self {
            size_ns: windows.size_ns(),
            base_ns: Some(windows.base_ns()),
        }
    }

    /// The rules of a run with windows of `size_ns` whose base time the events imply.
    pub fn inferring_base(size_ns: u64) -> Self {
        assert!(size_ns > 0, "window size must be positive");
        Self {
            size_ns,
            base_ns: None,
        }
    }

    /// The window size in nanoseconds.
    pub fn size_ns(&self) -> u64 {
        self.size_ns
    }

    /// The run's windows, when its base time is given.
    pub fn windows(&self) -> Option<Windows> {
        self.base_ns.map(|b| Windows::new(b, self.size_ns))
    }

    /// The rules as one partition applies them, from its first record.
    pub fn partition(&self) -> PartitionRules {
        PartitionRules {
            rules: *self,
            known: self.base_ns.map_or(BaseRange::ANY, BaseRange::exactly),
        }
    }
}

/// The rules as one partition applies them, in offset order: what the partition's events so far say
/// of the base time (with a given base, exactly it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRules {
    rules: EventRules,
    known: BaseRange,
}

impl PartitionRules {
    /// Checks the partition's next event; its window when it is valid. With an inferred base a valid
    /// event narrows what is known of the base.
    pub fn check(&mut self, event: &Event) -> Result<u64, Invalid> {
        let (window, known) = self.judge(event)?;
        self.known = known;
        Ok(window)
    }

    /// Whether an event already taken was valid, leaving what is known as it is: for records read
    /// again after a restart, judged against the range their partition had reached (an event it accepted
    /// allows all of that range, one it rejected none).
    pub fn recheck(&self, event: &Event) -> Result<u64, Invalid> {
        self.judge(event).map(|(window, _)| window)
    }

    /// The base times the partition's events so far allow.
    pub fn known(&self) -> BaseRange {
        self.known
    }

    /// Takes up what a checkpoint knew of the base (ignored when the base is given).
    pub fn restore(&mut self, known: BaseRange) {
        if self.rules.base_ns.is_none() {
            self.known = known;
        }
    }

    fn judge(&self, event: &Event) -> Result<(u64, BaseRange), Invalid> {
        if !AdCatalog::is_campaign(event.campaign_id) {
            return Err(Invalid::UnknownCampaign(event.campaign_id));
        }
        let (w, t) = (event.window_id, event.event_time_ns);
        if let Some(windows) = self.rules.windows() {
            let actual = windows
                .window_of(t)
                .ok_or(Invalid::BeforeBase { event_time_ns: t })?;
            if actual != w {
                return Err(Invalid::WindowMismatch {
                    window_id: w,
                    event_time_ns: t,
                    actual,
                });
            }
            return Ok((w, self.known));
        }
        let allows =
            BaseRange::of_event(w, t, self.rules.size_ns).ok_or(Invalid::WindowAfterTime {
                window_id: w,
                event_time_ns: t,
            })?;
        let known = self
            .known
            .intersect(allows)
            .ok_or(Invalid::ContradictsBase {
                window_id: w,
                event_time_ns: t,
                allows,
                known: self.known,
            })?;
        Ok((w, known))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use uuid::Uuid;

    use super::*;
    use crate::wire::{AdType, EventType};

    fn event(event_time_ns: u64, window_id: u64, campaign_id: u32) -> Event {
        Event {
            user_id: Uuid::nil(),
            page_id: Uuid::nil(),
            ad_id: Uuid::nil(),
            ad_type: AdType::Text,
            event_type: EventType::Click,
            event_time_ns,
            window_id,
            ip_address: Ipv4Addr::LOCALHOST,
            campaign_id,
            produce_time: 0,
        }
    }

    #[test]
    fn size_is_checked_against_the_limit() {
        assert_eq!(check_size(MAX_EVENT_BYTES), Ok(()));
        assert_eq!(
            check_size(MAX_EVENT_BYTES + 1).unwrap_err().to_string(),
            "oversized record: 65537 bytes > 65536"
        );
    }

    #[test]
    fn campaign_and_window_are_checked_against_the_catalogue_and_the_base() {
        let mut rules = EventRules::new(Windows::new(1_000, 10)).partition();
        assert_eq!(rules.check(&event(1_025, 2, 10)), Ok(2));
        assert_eq!(
            rules.check(&event(1_025, 2, 11)),
            Err(Invalid::UnknownCampaign(11))
        );
        assert_eq!(
            rules.check(&event(1_025, 2, 0)),
            Err(Invalid::UnknownCampaign(0))
        );
        assert_eq!(
            rules.check(&event(1_025, 7, 3)).unwrap_err().to_string(),
            "inconsistent window: window_id 7 does not match event_time_ns 1025 (window 2)"
        );
        assert_eq!(
            rules.check(&event(999, 0, 3)),
            Err(Invalid::BeforeBase { event_time_ns: 999 })
        );
    }

    #[test]
    fn an_inferred_base_narrows_with_each_event_and_rejects_contradictions() {
        let mut rules = EventRules::inferring_base(10).partition();
        assert!(rules.known().is_any());
        // Base 1000: time 1025 is in window 2, time 1031 in window 3.
        assert_eq!(rules.check(&event(1_025, 2, 1)), Ok(2));
        assert_eq!(rules.known(), BaseRange { lo: 996, hi: 1_005 });
        assert_eq!(rules.check(&event(1_031, 3, 1)), Ok(3));
        assert_eq!(rules.known(), BaseRange { lo: 996, hi: 1_001 });
        assert_eq!(rules.check(&event(1_009, 0, 1)), Ok(0));
        assert_eq!(
            rules.known(),
            BaseRange {
                lo: 1_000,
                hi: 1_001
            }
        );
        // Window 7 for time 1033 needs a base in 954..=963: contradicts, and changes nothing.
        assert_eq!(
            rules.check(&event(1_033, 7, 1)).unwrap_err().to_string(),
            "inconsistent window: window_id 7 with event_time_ns 1033 needs a base time in 954..=963 ns, \
             but the partition's earlier events put it in 1000..=1001 ns"
        );
        assert_eq!(
            rules.known(),
            BaseRange {
                lo: 1_000,
                hi: 1_001
            }
        );
        assert_eq!(
            rules.check(&event(15, 2, 1)).unwrap_err().to_string(),
            "inconsistent window: window_id 2 would start after event_time_ns 15"
        );
        // Replay judges against the range reached, without narrowing it.
        assert_eq!(rules.recheck(&event(1_005, 0, 1)), Ok(0));
        assert_eq!(
            rules.known(),
            BaseRange {
                lo: 1_000,
                hi: 1_001
            }
        );
        assert!(rules.recheck(&event(1_033, 7, 1)).is_err());
    }

    #[test]
    fn a_given_base_is_not_inferred_or_restored() {
        let mut rules = EventRules::new(Windows::new(1_000, 10)).partition();
        rules.restore(BaseRange::exactly(5));
        assert_eq!(rules.known(), BaseRange::exactly(1_000));
        assert_eq!(rules.check(&event(1_031, 3, 1)), Ok(3));
        assert_eq!(rules.known(), BaseRange::exactly(1_000));
    }
}
