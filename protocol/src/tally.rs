//! The figures a (window, campaign) adds up to ([`Tally`]), and the running tally after each event of
//! one partition ([`Step`]) from which the recount states the tally of any prefix.

use serde::{Deserialize, Serialize};

use crate::wire::{Event, EventType, WindowResult};

/// What a (window, campaign) adds up to: the figures of its result record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tally {
    /// Events.
    pub count: u64,
    /// Of which views.
    pub views: u64,
    /// Of which clicks.
    pub clicks: u64,
    /// Of which purchases.
    pub purchases: u64,
    /// The largest `produce_time`.
    pub max_produce_time: u64,
}

impl Tally {
    /// The figures a result record states.
    pub fn of_result(r: &WindowResult) -> Self {
        Self {
            count: r.count,
            views: r.views,
            clicks: r.clicks,
            purchases: r.purchases,
            max_produce_time: r.max_produce_time,
        }
    }

    pub(crate) fn add(&mut self, e: &Event) {
        self.count += 1;
        self.views += u64::from(e.event_type == EventType::View);
        self.clicks += u64::from(e.event_type == EventType::Click);
        self.purchases += u64::from(e.event_type == EventType::Purchase);
        self.max_produce_time = self.max_produce_time.max(e.produce_time);
    }

    /// The tally of two disjoint sets of events.
    pub(crate) fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.views += other.views;
        self.clicks += other.clicks;
        self.purchases += other.purchases;
        self.max_produce_time = self.max_produce_time.max(other.max_produce_time);
    }
}

/// The running tally of one (window, campaign) in one partition right after the event at `offset`.
/// Counts fit 32 bits within one window, campaign and partition; kept small, as there is one per
/// event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) offset: i64,
    count: u32,
    views: u32,
    clicks: u32,
    purchases: u32,
    max_produce_time: u64,
}

impl Step {
    pub(crate) fn after(previous: Option<&Step>, offset: i64, e: &Event) -> Self {
        let mut step = previous.copied().unwrap_or(Step {
            offset,
            count: 0,
            views: 0,
            clicks: 0,
            purchases: 0,
            max_produce_time: 0,
        });
        step.offset = offset;
        step.count += 1;
        step.views += u32::from(e.event_type == EventType::View);
        step.clicks += u32::from(e.event_type == EventType::Click);
        step.purchases += u32::from(e.event_type == EventType::Purchase);
        step.max_produce_time = step.max_produce_time.max(e.produce_time);
        step
    }

    pub(crate) fn tally(&self) -> Tally {
        Tally {
            count: u64::from(self.count),
            views: u64::from(self.views),
            clicks: u64::from(self.clicks),
            purchases: u64::from(self.purchases),
            max_produce_time: self.max_produce_time,
        }
    }
}
