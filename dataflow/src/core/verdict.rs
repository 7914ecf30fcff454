//! What became of one record a worker took — counted, applied, late, rejected or replayed — and, for
//! the records that go to the dead-letter topic, why: typed until the writer renders the reason.

use adstream_protocol::wire::LATE_REASON_PREFIX;

use crate::core::input::Rejection;

/// Why an event came too late to be counted; its text is the dead letter's `reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Late {
    /// Exact mode: a producer sent an event time below what it had promised on the partition.
    #[error(
        "{} producer {producer} sent event time {event_ns} after promising {promised_ns}",
        LATE_REASON_PREFIX
    )]
    Regressed {
        /// The producer.
        producer: u32,
        /// The event's time, ns.
        event_ns: u64,
        /// What the producer had promised, ns.
        promised_ns: u64,
    },
    /// The event's window had already closed here.
    #[error(
        "{} window {window} already closed (open from {open_from})",
        LATE_REASON_PREFIX
    )]
    WindowClosed {
        /// The event's window.
        window: u64,
        /// The lowest window still open here.
        open_from: u64,
    },
}

/// Why a record goes to the dead-letter topic: typed until the writer renders it as the record's
/// `reason` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadLetter {
    /// The record cannot be used.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The event came too late.
    #[error(transparent)]
    Late(#[from] Late),
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An event, counted in its window.
    Counted,
    /// A control record, applied.
    Control,
    /// An event for a window already closed here: sent to the dead letters, counted as late.
    Late(Late),
    /// A record that cannot be used: sent to the dead letters, counted as rejected.
    Rejected(Rejection),
    /// A record processed before a restart, read again to rebuild open windows: nothing else is
    /// done with it (see [`crate::core::checkpoint`]).
    Replayed,
}
