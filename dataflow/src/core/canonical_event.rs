//! A fast path for the byte layouts the job meets most: our producers' (serde_json's compact output of
//! [`Event`]) and the seed's (Python's `json.dumps` of the same fields in the same order, a space after
//! each `:` and `,`) — the fields in [`Event`]'s declaration order, any JSON whitespace between tokens,
//! strings without escapes. [`parse`] reads such bytes directly and declines (`None`) anything else,
//! which then goes through serde — so the fast path may only ever agree with serde or step aside, never
//! decide differently (the tests hold it to that). It is the job's hottest code: catch-up throughput is
//! bounded by it.

use std::net::Ipv4Addr;

use adstream_protocol::wire::{AdType, Event, EventType};
use uuid::Uuid;

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Steps over JSON whitespace (space, tab, line feed, carriage return: serde_json's set).
    fn whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// `compact` — a `{`, `,` or `}`, then `"key":` for the first two — with any whitespace between its
    /// tokens and after it. Our producers' bytes match `compact` as it is: one comparison.
    fn structure(&mut self, compact: &[u8]) -> Option<()> {
        if self.literal(compact).is_none() {
            let (punctuation, key) = compact.split_at(1);
            self.whitespace();
            self.literal(punctuation)?;
            if let Some((colon, quoted_key)) = key.split_last() {
                self.whitespace();
                self.literal(quoted_key)?;
                self.whitespace();
                self.literal(std::slice::from_ref(colon))?;
            }
        }
        self.whitespace();
        Some(())
    }

    fn literal(&mut self, expected: &[u8]) -> Option<()> {
        let end = self.at + expected.len();
        (self.bytes.get(self.at..end)? == expected).then(|| self.at = end)
    }

    /// A string without escapes or control characters; its bytes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.literal(b"\"")?;
        let rest = self.bytes.get(self.at..)?;
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        self.at += len + 1;
        Some(&rest[..len])
    }

    /// A JSON unsigned integer: digits, no leading zero, no overflow.
    fn uint(&mut self) -> Option<u64> {
        let (value, len) = ascii_uint(self.bytes.get(self.at..)?)?;
        // A number followed by '.', 'e' or 'E' is a float: not ours.
        if matches!(self.bytes.get(self.at + len), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.at += len;
        Some(value)
    }

    /// A quoted hyphenated UUID. Its 36 characters are all hex digits and hyphens once parsed, so no
    /// quote or escape can hide inside and the closing quote sits at a fixed place. Other forms, which
    /// serde would accept too, fall back.
    fn uuid(&mut self) -> Option<Uuid> {
        let quoted = self.bytes.get(self.at..self.at + 38)?;
        if quoted[0] != b'"' || quoted[37] != b'"' {
            return None;
        }
        let uuid = Uuid::try_parse_ascii(&quoted[1..37]).ok()?;
        self.at += 38;
        Some(uuid)
    }

    /// A quoted IPv4 address, by the rules of `std`'s parser: four decimal octets up to 255, no leading
    /// zeros.
    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        self.literal(b"\"")?;
        let mut octets = [0u8; 4];
        for (i, octet) in octets.iter_mut().enumerate() {
            if i > 0 {
                self.literal(b".")?;
            }
            let rest = self.bytes.get(self.at..)?;
            let len = rest
                .iter()
                .take(4)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if len == 0 || len > 3 || (len > 1 && rest[0] == b'0') {
                return None;
            }
            let value = rest[..len]
                .iter()
                .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
            *octet = u8::try_from(value).ok()?;
            self.at += len;
        }
        self.literal(b"\"")?;
        Some(Ipv4Addr::from(octets))
    }
}

/// The unsigned integer at the start of `bytes` by JSON's rules (no sign, no leading zero) and how many
/// bytes it took; `None` for no digits, a leading zero or an overflow of `u64`.
pub fn ascii_uint(bytes: &[u8]) -> Option<(u64, usize)> {
    let len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || (len > 1 && bytes[0] == b'0') || len > 20 {
        return None;
    }
    let digits = &bytes[..len];
    if len < 20 {
        // At most 19 digits: cannot overflow.
        return Some((
            digits
                .iter()
                .fold(0u64, |v, d| v * 10 + u64::from(d - b'0')),
            len,
        ));
    }
    let mut value: u64 = 0;
    for &digit in digits {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some((value, len))
}

fn ad_type(name: &[u8]) -> Option<AdType> {
    Some(match name {
        b"image" => AdType::Image,
        b"video" => AdType::Video,
        b"carousel" => AdType::Carousel,
        b"text" => AdType::Text,
        b"story" => AdType::Story,
        b"shopping" => AdType::Shopping,
        b"collection" => AdType::Collection,
        _ => return None,
    })
}

fn event_type(name: &[u8]) -> Option<EventType> {
    Some(match name {
        b"view" => EventType::View,
        b"click" => EventType::Click,
        b"purchase" => EventType::Purchase,
        _ => return None,
    })
}

/// The event in `bytes` if they are in a layout of the module doc; `None` otherwise (not an error: the
/// caller then parses with serde).
pub fn parse(bytes: &[u8]) -> Option<Event> {
    let mut c = Cursor { bytes, at: 0 };
    c.structure(b"{\"user_id\":")?;
    let user_id = c.uuid()?;
    c.structure(b",\"page_id\":")?;
    let page_id = c.uuid()?;
    c.structure(b",\"ad_id\":")?;
    let ad_id = c.uuid()?;
    c.structure(b",\"ad_type\":")?;
    let ad_type = ad_type(c.string()?)?;
    c.structure(b",\"event_type\":")?;
    let event_type = event_type(c.string()?)?;
    c.structure(b",\"event_time_ns\":")?;
    let event_time_ns = c.uint()?;
    c.structure(b",\"window_id\":")?;
    let window_id = c.uint()?;
    c.structure(b",\"ip_address\":")?;
    let ip_address = c.ipv4()?;
    c.structure(b",\"campaign_id\":")?;
    let campaign_id = u32::try_from(c.uint()?).ok()?;
    c.structure(b",\"produce_time\":")?;
    let produce_time = c.uint()?;
    c.structure(b"}")?;
    (c.at == bytes.len()).then_some(Event {
        user_id,
        page_id,
        ad_id,
        ad_type,
        event_type,
        event_time_ns,
        window_id,
        ip_address,
        campaign_id,
        produce_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency needed for test data).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 11
        }
    }

    fn random_event(r: &mut Lcg) -> Event {
        Event {
            user_id: Uuid::from_u128(u128::from(r.next()) << 64 | u128::from(r.next())),
            page_id: Uuid::from_u128(u128::from(r.next())),
            ad_id: Uuid::new_v4(),
            ad_type: AdType::ALL[(r.next() % 7) as usize],
            event_type: EventType::ALL[(r.next() % 3) as usize],
            event_time_ns: (r.next() << 11) | (r.next() % 2048),
            window_id: r.next() % 1_000,
            ip_address: Ipv4Addr::from(r.next() as u32),
            campaign_id: (r.next() % 12) as u32,
            produce_time: if r.next().is_multiple_of(10) {
                0
            } else {
                r.next()
            },
        }
    }

    #[test]
    fn our_layout_parses_to_what_serde_parses() {
        let mut r = Lcg(1);
        for _ in 0..10_000 {
            let event = random_event(&mut r);
            let bytes = serde_json::to_vec(&event).unwrap();
            assert_eq!(parse(&bytes), Some(event));
        }
    }

    #[test]
    fn addresses_and_numbers_follow_std_and_json() {
        let mut r = Lcg(4);
        let alphabet = b"0123456789.";
        for _ in 0..50_000 {
            let len = 1 + (r.next() % 17) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(r.next() as usize) % alphabet.len()])
                .collect();
            let quoted = [b"\"", &text[..], b"\""].concat();
            let mut c = Cursor {
                bytes: &quoted,
                at: 0,
            };
            let fast = c.ipv4().filter(|_| c.at == quoted.len());
            let std: Option<Ipv4Addr> = std::str::from_utf8(&text).unwrap().parse().ok();
            assert_eq!(fast, std, "{}", String::from_utf8_lossy(&text));
        }
        for text in [
            "0",
            "7",
            "10",
            "007",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
        ] {
            let json: Option<u64> = serde_json::from_str(text).ok();
            let fast = ascii_uint(text.as_bytes())
                .filter(|(_, len)| *len == text.len())
                .map(|(v, _)| v);
            assert_eq!(fast, json, "{text}");
        }
    }

    #[test]
    fn the_seeds_layout_and_other_whitespace_parse_to_what_serde_parses() {
        let mut r = Lcg(5);
        for _ in 0..1_000 {
            let event = random_event(&mut r);
            // Python's json.dumps: ", " and ": " between tokens.
            let compact = serde_json::to_string(&event).unwrap();
            let seed = compact.replace(",\"", ", \"").replace("\":", "\": ");
            let pretty = serde_json::to_string_pretty(&event).unwrap();
            let loose = format!(" \t{}\r\n", seed.replace('{', "{ ").replace('}', " }"));
            for text in [seed, pretty, loose] {
                assert_eq!(parse(text.as_bytes()), Some(event.clone()), "{text}");
                assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
            }
        }
        let seed = r#"{"user_id": "6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a01", "page_id": "6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a02", "ad_id": "6f1c1b8e-8d5f-4a43-9a57-0a5b4f1f2a03", "ad_type": "video", "event_type": "click", "event_time_ns": 1700000000000000000, "window_id": 3, "ip_address": "10.0.0.1", "campaign_id": 4, "produce_time": 1700000000000}"#;
        assert_eq!(
            parse(seed.as_bytes()),
            Some(serde_json::from_str(seed).unwrap())
        );
    }

    #[test]
    fn other_layouts_are_left_to_serde() {
        let event = random_event(&mut Lcg(2));
        // Whitespace inside a token is not JSON's whitespace between tokens.
        let split_key =
            serde_json::to_string(&event)
                .unwrap()
                .replacen("\"page_id\"", "\"page_id \"", 1);
        assert_eq!(parse(split_key.as_bytes()), None);
        let mut reordered: serde_json::Value = serde_json::to_value(&event).unwrap();
        reordered.as_object_mut().unwrap().remove("user_id");
        reordered["user_id"] = event.user_id.to_string().into();
        assert_eq!(parse(&serde_json::to_vec(&reordered).unwrap()), None);
        let simple_uuid = serde_json::to_string(&event).unwrap().replacen(
            &event.user_id.to_string(),
            &event.user_id.simple().to_string(),
            1,
        );
        assert_eq!(parse(simple_uuid.as_bytes()), None);
    }

    #[test]
    fn the_fast_path_never_accepts_what_serde_would_not_or_reads_it_differently() {
        let mut r = Lcg(3);
        let alphabet = b"0123456789abcdef-\"{},:.eE \t\n\r\x0b\\x\x00\xff";
        for _ in 0..20_000 {
            let mut bytes = serde_json::to_vec(&random_event(&mut r)).unwrap();
            for _ in 0..=(r.next() % 3) {
                let at = (r.next() as usize) % bytes.len();
                match r.next() % 3 {
                    0 => bytes[at] = alphabet[(r.next() as usize) % alphabet.len()],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[(r.next() as usize) % alphabet.len()]),
                }
            }
            if let Some(fast) = parse(&bytes) {
                let slow: Event = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                    panic!(
                        "fast path accepted what serde rejects ({e}): {}",
                        String::from_utf8_lossy(&bytes)
                    )
                });
                assert_eq!(fast, slow, "{}", String::from_utf8_lossy(&bytes));
            }
        }
    }
}
