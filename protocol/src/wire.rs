//! The wire format of ARCHITECTURE.md, "Wire format": event values, control records, results and
//! the headers that mark them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Header naming the producer id of an event or control record.
pub const HEADER_PRODUCER: &str = "producer";
/// Header carrying an event's per-producer sequence number.
pub const HEADER_SEQ: &str = "seq";
/// Header marking a control record; its value is one of [`ControlKind`]'s names.
pub const HEADER_KIND: &str = "kind";
/// Header on a dead-letter record saying why it was rejected.
pub const HEADER_REASON: &str = "reason";
/// Header on a dead-letter record: the events-topic partition it was read from (decimal).
pub const HEADER_SOURCE_PARTITION: &str = "source_partition";
/// Header on a dead-letter record: its offset in that partition (decimal).
pub const HEADER_SOURCE_OFFSET: &str = "source_offset";
/// The start of the `reason` of an event the job declared late.
pub const LATE_REASON_PREFIX: &str = "late:";

/// The kind of ad shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdType {
    /// A still image.
    Image,
    /// A video.
    Video,
    /// A carousel of images.
    Carousel,
    /// Plain text.
    Text,
    /// A story.
    Story,
    /// A shopping ad.
    Shopping,
    /// A collection.
    Collection,
}

impl AdType {
    /// Every ad type, in the seed's order.
    pub const ALL: [AdType; 7] = [
        AdType::Image,
        AdType::Video,
        AdType::Carousel,
        AdType::Text,
        AdType::Story,
        AdType::Shopping,
        AdType::Collection,
    ];
}

/// What the user did with the ad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The ad was shown.
    View,
    /// The ad was clicked.
    Click,
    /// The ad led to a purchase.
    Purchase,
}

impl EventType {
    /// Every event type, in the seed's order.
    pub const ALL: [EventType; 3] = [EventType::View, EventType::Click, EventType::Purchase];
}

/// One ad event: the value of a record on the events topic, exactly the seed's fields and types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The user who saw the ad.
    pub user_id: Uuid,
    /// The page the ad was on.
    pub page_id: Uuid,
    /// The ad.
    pub ad_id: Uuid,
    /// The kind of ad.
    pub ad_type: AdType,
    /// What happened.
    pub event_type: EventType,
    /// Event time, nanoseconds since the Unix epoch.
    pub event_time_ns: u64,
    /// The window of `event_time_ns` counted from the run's base time.
    pub window_id: u64,
    /// The user's address.
    pub ip_address: Ipv4Addr,
    /// The campaign the ad belongs to, 1..=10.
    pub campaign_id: u32,
    /// Wall-clock milliseconds since the Unix epoch when the producer sent the event.
    pub produce_time: u64,
}

/// The kinds of control record our producers write to every partition of the events topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    /// A [`Watermark`]: the producer sends nothing earlier to this partition.
    Watermark,
    /// An [`EndMarker`]: the producer has finished.
    End,
    /// A [`CloseMarker`]: written by the harness to every partition once the producers are done, so
    /// that an engine whose windows close on later event times closes the last ones. It counts in no
    /// window.
    Close,
}

impl ControlKind {
    /// The value of the `kind` header for this control record.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlKind::Watermark => "watermark",
            ControlKind::End => "end",
            ControlKind::Close => "close",
        }
    }

    /// The control kind named by a `kind` header value, if it names one.
    pub fn parse(value: &[u8]) -> Option<Self> {
        match value {
            b"watermark" => Some(ControlKind::Watermark),
            b"end" => Some(ControlKind::End),
            b"close" => Some(ControlKind::Close),
            _ => None,
        }
    }
}

/// A watermark record: producer `producer` will send nothing with event time below `watermark_ns` to
/// the partition this record is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The producer id.
    pub producer: u32,
    /// Event-time lower bound of everything this producer still sends to this partition.
    pub watermark_ns: u64,
}

/// An end marker: producer `producer` has finished, having sent `events` events to this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndMarker {
    /// The producer id.
    pub producer: u32,
    /// How many events this producer sent to the partition the marker is on.
    pub events: u64,
}

/// A closing record (ARCHITECTURE.md, "Any engine"): an event time past the last window of the run and
/// any lateness the job declared, with no campaign. An engine that closes windows when its event time
/// passes them takes it into its watermark and counts it nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseMarker {
    /// Event time, nanoseconds since the Unix epoch.
    pub event_time_ns: u64,
    /// The window of `event_time_ns`, counted from the run's base time.
    pub window_id: u64,
    /// Wall-clock milliseconds since the Unix epoch when the harness wrote it.
    pub produce_time: u64,
}

/// One record of the results topic: the aggregate of one (window, campaign), keyed
/// `"{window_id}/{campaign_id}"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowResult {
    /// The window.
    pub window_id: u64,
    /// Its first millisecond (Unix ms).
    pub window_start_ms: u64,
    /// The first millisecond after it (Unix ms).
    pub window_end_ms: u64,
    /// The campaign.
    pub campaign_id: u32,
    /// Events of the campaign in the window.
    pub count: u64,
    /// Of which views.
    pub views: u64,
    /// Of which clicks.
    pub clicks: u64,
    /// Of which purchases.
    pub purchases: u64,
    /// The largest `produce_time` among them (Unix ms).
    pub max_produce_time: u64,
    /// When the job emitted the result (Unix ms).
    pub emitted_at_ms: u64,
    /// Which revision of the (window, campaign) this is: 0, 1, … — in append mode 0, the only one.
    pub revision: u32,
    /// Whether it is the last revision: the window is past its lateness horizon and its state gone.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// For each source partition, the offset up to which this revision counts the input: its figures
    /// are the tally of exactly the valid events below these offsets (those declared late left out).
    pub as_of: AsOf,
}

/// Per events-topic partition, an offset: the input a result counts is every record below it.
pub type AsOf = BTreeMap<i32, i64>;

impl WindowResult {
    /// The record key of a (window, campaign).
    pub fn key(window_id: u64, campaign_id: u32) -> String {
        format!("{window_id}/{campaign_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        Event {
            user_id: Uuid::from_u128(1),
            page_id: Uuid::from_u128(2),
            ad_id: Uuid::from_u128(3),
            ad_type: AdType::Carousel,
            event_type: EventType::Purchase,
            event_time_ns: 1_700_000_000_123_456_789,
            window_id: 42,
            ip_address: Ipv4Addr::new(192, 168, 1, 1),
            campaign_id: 5,
            produce_time: 1_700_000_000_123,
        }
    }

    #[test]
    fn event_json_has_exactly_the_seed_fields_and_types() {
        let json = serde_json::to_string(&sample()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let object = value.as_object().unwrap();
        // Keys in the seed's order, as written on the wire.
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_by_key(|k| json.find(&format!("\"{k}\":")).unwrap());
        assert_eq!(
            keys,
            [
                "user_id",
                "page_id",
                "ad_id",
                "ad_type",
                "event_type",
                "event_time_ns",
                "window_id",
                "ip_address",
                "campaign_id",
                "produce_time"
            ]
        );
        assert_eq!(object["user_id"], "00000000-0000-0000-0000-000000000001");
        assert_eq!(object["ad_type"], "carousel");
        assert_eq!(object["event_type"], "purchase");
        assert_eq!(object["event_time_ns"], 1_700_000_000_123_456_789u64);
        assert_eq!(object["window_id"], 42);
        assert_eq!(object["ip_address"], "192.168.1.1");
        assert_eq!(object["campaign_id"], 5);
        assert_eq!(object["produce_time"], 1_700_000_000_123u64);
    }

    #[test]
    fn event_json_round_trips() {
        let json = serde_json::to_string(&sample()).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), sample());
    }

    #[test]
    fn results_have_the_spec_fields_and_key() {
        let r = WindowResult {
            window_id: 3,
            window_start_ms: 30_000,
            window_end_ms: 40_000,
            campaign_id: 7,
            count: 6,
            views: 3,
            clicks: 2,
            purchases: 1,
            max_produce_time: 39_999,
            emitted_at_ms: 40_010,
            revision: 2,
            is_final: true,
            as_of: BTreeMap::from([(0, 120), (1, 98)]),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"window_id":3,"window_start_ms":30000,"window_end_ms":40000,"campaign_id":7,"count":6,"views":3,"clicks":2,"purchases":1,"max_produce_time":39999,"emitted_at_ms":40010,"revision":2,"final":true,"as_of":{"0":120,"1":98}}"#
        );
        assert_eq!(serde_json::from_str::<WindowResult>(&json).unwrap(), r);
        assert_eq!(WindowResult::key(3, 7), "3/7");
    }

    #[test]
    fn control_kinds_round_trip_through_their_header_values() {
        for kind in [ControlKind::Watermark, ControlKind::End] {
            assert_eq!(ControlKind::parse(kind.as_str().as_bytes()), Some(kind));
        }
        assert_eq!(ControlKind::parse(b"other"), None);
    }
}
