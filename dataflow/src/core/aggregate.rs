//! The per-(window, campaign) aggregate: counts by event type, the latest `produce_time`, and the base
//! times its events' partitions allowed when they were counted (which the result's window bounds are
//! stated with; with a given base it is exactly that base).
//!
//! It is a commutative monoid — merging is associative and commutative and `default` is its identity —
//! which is what differential dataflow asks of a difference type ([`Semigroup`]). The job therefore
//! carries each event as the update `(campaign, window, Aggregate::of(event))`: the collection's
//! *differences* are the aggregates, and consolidating the collection (summing the differences of equal
//! `(campaign, window)` pairs) *is* the aggregation. Because the sum may be taken in any order and in
//! pieces, each worker pre-sums its own events before the exchange, so the network carries at most one
//! partial aggregate per (window, campaign, worker) instead of every event.

use std::ops::AddAssign;

use adstream_protocol::window::BaseRange;
use adstream_protocol::wire::{Event, EventType};
use differential_dataflow::difference::{IsZero, Monoid, Semigroup};
use serde::{Deserialize, Serialize};

/// Counts and max produce time of a set of events.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Aggregate {
    /// Events.
    pub count: u64,
    /// Views among them.
    pub views: u64,
    /// Clicks among them.
    pub clicks: u64,
    /// Purchases among them.
    pub purchases: u64,
    /// The largest `produce_time` (0 for no events).
    pub max_produce_time: u64,
    /// The base times allowed: the intersection of what each event's partition knew (any for no
    /// events).
    pub base: BaseRange,
}

impl Aggregate {
    /// The aggregate of one event.
    pub fn of(event: &Event) -> Self {
        let is = |t: EventType| u64::from(event.event_type == t);
        Self {
            count: 1,
            views: is(EventType::View),
            clicks: is(EventType::Click),
            purchases: is(EventType::Purchase),
            max_produce_time: event.produce_time,
            base: BaseRange::ANY,
        }
    }

    /// The same, with its events counted where the base lies in `base`.
    pub fn within(mut self, base: BaseRange) -> Self {
        self.base = self.base.narrow(base);
        self
    }
}

impl AddAssign for Aggregate {
    fn add_assign(&mut self, other: Self) {
        self.count += other.count;
        self.views += other.views;
        self.clicks += other.clicks;
        self.purchases += other.purchases;
        self.max_produce_time = self.max_produce_time.max(other.max_produce_time);
        self.base = self.base.narrow(other.base);
    }
}

impl IsZero for Aggregate {
    /// The aggregate of no events; differential drops updates that sum to it.
    fn is_zero(&self) -> bool {
        self.count == 0
    }
}

impl Semigroup for Aggregate {
    fn plus_equals(&mut self, rhs: &Self) {
        *self += *rhs;
    }
}

impl Monoid for Aggregate {
    fn zero() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use adstream_protocol::wire::AdType;
    use uuid::Uuid;

    use super::*;

    fn event(event_type: EventType, produce_time: u64) -> Event {
        Event {
            user_id: Uuid::nil(),
            page_id: Uuid::nil(),
            ad_id: Uuid::nil(),
            ad_type: AdType::Text,
            event_type,
            event_time_ns: 0,
            window_id: 0,
            ip_address: Ipv4Addr::LOCALHOST,
            campaign_id: 1,
            produce_time,
        }
    }

    #[test]
    fn merging_counts_by_type_and_keeps_the_latest_produce_time() {
        let events = [
            event(EventType::View, 5),
            event(EventType::Click, 9),
            event(EventType::View, 7),
            event(EventType::Purchase, 3),
        ];
        let mut total = Aggregate::default();
        for e in &events {
            total += Aggregate::of(e);
        }
        assert_eq!(
            total,
            Aggregate {
                count: 4,
                views: 2,
                clicks: 1,
                purchases: 1,
                max_produce_time: 9,
                base: BaseRange::ANY,
            }
        );
    }

    #[test]
    fn partial_aggregates_merge_in_any_order() {
        let parts: Vec<Aggregate> = [
            (EventType::View, 4),
            (EventType::Click, 8),
            (EventType::Purchase, 6),
        ]
        .iter()
        .zip([
            BaseRange { lo: 0, hi: 9 },
            BaseRange { lo: 3, hi: 12 },
            BaseRange::ANY,
        ])
        .map(|(&(t, p), base)| Aggregate::of(&event(t, p)).within(base))
        .collect();
        let fold = |order: &[usize]| {
            order.iter().fold(Aggregate::default(), |mut acc, &i| {
                acc += parts[i];
                acc
            })
        };
        let expected = fold(&[0, 1, 2]);
        assert_eq!(expected.base, BaseRange { lo: 3, hi: 9 });
        for order in [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            assert_eq!(fold(&order), expected);
        }
        let mut with_identity = expected;
        with_identity += Aggregate::default();
        assert_eq!(with_identity, expected);
    }
}
