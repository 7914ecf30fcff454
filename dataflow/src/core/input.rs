//! Decoding one record of the events topic: an event (ours, with `producer`/`seq` headers, or a foreign
//! one without them), a control record, or a rejection with the reason the dead-letter topic records.
//!
//! Decoding applies the validity rules that need no run context (size, schema); the rest (campaign,
//! window) are applied with the run's windows by [`crate::core::window_state`]. Both come from
//! [`adstream_protocol::validity`], the rules every recount applies too.

use adstream_protocol::validity::{Invalid, check_size};
use adstream_protocol::wire::{
    CloseMarker, ControlKind, EndMarker, Event, HEADER_KIND, HEADER_PRODUCER, HEADER_SEQ, Watermark,
};

use crate::core::canonical_event;
use crate::core::watermark::ProgressError;

/// Who sent an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// One of our producers: its id and the event's sequence number.
    Ours {
        /// Producer id.
        producer: u32,
        /// Sequence number.
        seq: u64,
    },
    /// A record without our headers (bounded mode).
    Foreign,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// An event.
    Event(Origin, Event),
    /// A watermark record.
    Watermark(Watermark),
    /// An end marker.
    End(EndMarker),
    /// A closing record from the harness, for engines that close windows on later event times: ours
    /// closes them on the producers' watermarks and end markers, and skips it.
    Close(CloseMarker),
}

/// Why a record was rejected; [`Rejection::reason`] is the dead-letter `reason` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The value is not UTF-8.
    #[error("invalid UTF-8: {0}")]
    InvalidUtf8(String),
    /// The value is not JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A required field is absent.
    #[error("missing field: {0}")]
    MissingField(String),
    /// A field has the wrong type or value, or an unknown field is present.
    #[error("wrong type: {0}")]
    WrongType(String),
    /// The event breaks a validity rule (size, campaign, window).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A header of ours is malformed, or a control record's value is.
    #[error("bad control data: {0}")]
    BadControl(String),
    /// An event of ours that event-time progress cannot take (a producer it does not expect).
    #[error(transparent)]
    Progress(#[from] ProgressError),
}

impl Rejection {
    /// The text of the dead-letter record's `reason` header.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// A record's headers as (key, value) pairs.
pub type Headers<'a> = [(&'a str, Option<&'a [u8]>)];

fn header<'a>(headers: &Headers<'a>, key: &str) -> Option<Option<&'a [u8]>> {
    headers.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// A decimal header value (digits only), or `None` when the header is absent.
fn numeric(headers: &Headers<'_>, key: &str) -> Result<Option<u64>, Rejection> {
    let Some(value) = header(headers, key) else {
        return Ok(None);
    };
    let bad = || Rejection::BadControl(format!("header `{key}` is not a number"));
    let digits = value
        .filter(|v| !v.is_empty() && v.iter().all(u8::is_ascii_digit))
        .ok_or_else(bad)?;
    digits
        .iter()
        .try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .map(Some)
        .ok_or_else(bad)
}

fn json_rejection(error: &serde_json::Error) -> Rejection {
    use serde_json::error::Category;
    let message = error.to_string();
    match error.classify() {
        Category::Data if message.starts_with("missing field") => Rejection::MissingField(message),
        Category::Data => Rejection::WrongType(message),
        Category::Syntax | Category::Eof | Category::Io => Rejection::InvalidJson(message),
    }
}

/// Decodes one record of the events topic.
pub fn decode(headers: &Headers<'_>, value: Option<&[u8]>) -> Result<Input, Rejection> {
    let value = value.unwrap_or_default();
    check_size(value.len())?;
    if let Some(kind) = header(headers, HEADER_KIND) {
        let text = std::str::from_utf8(value).map_err(|e| Rejection::InvalidUtf8(e.to_string()))?;
        let kind = kind
            .and_then(ControlKind::parse)
            .ok_or_else(|| Rejection::BadControl("unknown `kind` header".to_owned()))?;
        let bad =
            |e: serde_json::Error| Rejection::BadControl(format!("{} value: {e}", kind.as_str()));
        return match kind {
            ControlKind::Watermark => serde_json::from_str(text)
                .map(Input::Watermark)
                .map_err(bad),
            ControlKind::End => serde_json::from_str(text).map(Input::End).map_err(bad),
            ControlKind::Close => serde_json::from_str(text).map(Input::Close).map_err(bad),
        };
    }
    let origin = match (
        numeric(headers, HEADER_PRODUCER)?,
        numeric(headers, HEADER_SEQ)?,
    ) {
        (Some(producer), Some(seq)) => Origin::Ours {
            producer: u32::try_from(producer)
                .map_err(|_| Rejection::BadControl("producer id out of range".to_owned()))?,
            seq,
        },
        (None, None) => Origin::Foreign,
        _ => {
            return Err(Rejection::BadControl(
                "`producer` and `seq` headers come together".to_owned(),
            ));
        }
    };
    let event = match canonical_event::parse(value) {
        Some(event) => event,
        None => {
            let text =
                std::str::from_utf8(value).map_err(|e| Rejection::InvalidUtf8(e.to_string()))?;
            serde_json::from_str(text).map_err(|e| json_rejection(&e))?
        }
    };
    Ok(Input::Event(origin, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"user_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01","page_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02","ad_id":"6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03","ad_type":"video","event_type":"click","event_time_ns":1700000000000000000,"window_id":3,"ip_address":"10.0.0.1","campaign_id":4,"produce_time":1700000000000}"#;

    fn ours() -> Vec<(&'static str, Option<&'static [u8]>)> {
        vec![(HEADER_PRODUCER, Some(b"2")), (HEADER_SEQ, Some(b"17"))]
    }

    #[test]
    fn our_events_and_foreign_events_decode() {
        let Input::Event(origin, event) = decode(&ours(), Some(EVENT.as_bytes())).unwrap() else {
            panic!("an event");
        };
        assert_eq!(
            origin,
            Origin::Ours {
                producer: 2,
                seq: 17
            }
        );
        assert_eq!(event.campaign_id, 4);
        let Input::Event(origin, _) = decode(&[], Some(EVENT.as_bytes())).unwrap() else {
            panic!("an event");
        };
        assert_eq!(origin, Origin::Foreign);
    }

    #[test]
    fn control_records_decode() {
        let wm = decode(
            &[
                (HEADER_KIND, Some(b"watermark")),
                (HEADER_PRODUCER, Some(b"1")),
            ],
            Some(br#"{"producer":1,"watermark_ns":42}"#),
        );
        assert_eq!(
            wm,
            Ok(Input::Watermark(Watermark {
                producer: 1,
                watermark_ns: 42
            }))
        );
        let end = decode(
            &[(HEADER_KIND, Some(b"end"))],
            Some(br#"{"producer":1,"events":9}"#),
        );
        assert_eq!(
            end,
            Ok(Input::End(EndMarker {
                producer: 1,
                events: 9
            }))
        );
        let close = decode(
            &[(HEADER_KIND, Some(b"close"))],
            Some(br#"{"event_time_ns":7,"window_id":2,"produce_time":3}"#),
        );
        assert_eq!(
            close,
            Ok(Input::Close(CloseMarker {
                event_time_ns: 7,
                window_id: 2,
                produce_time: 3
            }))
        );
    }

    fn rejected(headers: &Headers<'_>, value: &[u8]) -> Rejection {
        decode(headers, Some(value)).unwrap_err()
    }

    #[test]
    fn each_kind_of_bad_input_has_its_reason() {
        assert!(matches!(
            rejected(&ours(), b"\xff\xfe{"),
            Rejection::InvalidUtf8(_)
        ));
        assert!(matches!(
            rejected(&ours(), b"{\"user_id\": "),
            Rejection::InvalidJson(_)
        ));
        let missing = EVENT.replace(r#""ad_type":"video","#, "");
        let r = rejected(&ours(), missing.as_bytes());
        assert!(
            matches!(&r, Rejection::MissingField(m) if m.contains("ad_type")),
            "{r}"
        );
        let wrong = EVENT.replace(r#""campaign_id":4"#, r#""campaign_id":"4""#);
        assert!(matches!(
            rejected(&ours(), wrong.as_bytes()),
            Rejection::WrongType(_)
        ));
        let huge = vec![b' '; 900 * 1024];
        assert!(matches!(
            rejected(&ours(), &huge),
            Rejection::Invalid(Invalid::Oversized { bytes: 921_600, .. })
        ));
        assert!(matches!(
            rejected(
                &[(HEADER_PRODUCER, Some(b"x")), (HEADER_SEQ, Some(b"1"))],
                EVENT.as_bytes()
            ),
            Rejection::BadControl(_)
        ));
        assert!(matches!(
            rejected(&[(HEADER_KIND, Some(b"end"))], b"{}"),
            Rejection::BadControl(_)
        ));
        assert_eq!(
            Rejection::Invalid(Invalid::UnknownCampaign(999)).reason(),
            "unknown campaign: 999"
        );
    }
}
