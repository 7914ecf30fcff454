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
//!    must not precede ([`EventRules::check`]).
//!
//! Control records (a `kind` header) are not events and never counted.

use crate::catalog::AdCatalog;
use crate::window::Windows;
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

/// The rules that need the parsed event and the run's windows (3 and 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRules {
    windows: Windows,
}

impl EventRules {
    /// The rules of a run with these windows.
    pub fn new(windows: Windows) -> Self {
        Self { windows }
    }

    /// The run's windows.
    pub fn windows(&self) -> Windows {
        self.windows
    }

    /// Checks a parsed event; its window when it is valid.
    pub fn check(&self, event: &Event) -> Result<u64, Invalid> {
        if !AdCatalog::is_campaign(event.campaign_id) {
            return Err(Invalid::UnknownCampaign(event.campaign_id));
        }
        let t = event.event_time_ns;
        let actual = self
            .windows
            .window_of(t)
            .ok_or(Invalid::BeforeBase { event_time_ns: t })?;
        if actual != event.window_id {
            return Err(Invalid::WindowMismatch {
                window_id: event.window_id,
                event_time_ns: t,
                actual,
            });
        }
        Ok(actual)
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
        let rules = EventRules::new(Windows::new(1_000, 10));
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
}
