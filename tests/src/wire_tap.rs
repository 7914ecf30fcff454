//! A TCP relay in front of a broker that reads the header of every Kafka request passing through: the
//! broker's view of which clients connect, for tests that a client property reached every client, and
//! of how often they fetch what, for tests of our clients' request pattern. The broker must advertise
//! the tap's address, so that clients come back through it after bootstrap.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use adstream_harness::services::broker::{LocalBroker, free_port};
use adstream_profile::profile::KafkaSection;

use crate::TestBroker;

/// What a Fetch request asks for: its first topic (by id: librdkafka sends Fetch v13 and later) and
/// how many of that topic's partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fetched {
    /// The topic's id.
    pub topic: [u8; 16],
    /// Partitions of it the request names.
    pub partitions: u32,
}

/// What the tap has seen.
#[derive(Debug, Default)]
struct Seen {
    client_ids: BTreeSet<String>,
    /// Fetch requests by what they ask for; `None`: a version this tap does not read.
    fetches: BTreeMap<Option<Fetched>, u64>,
}

/// A relay to one upstream broker, recording client ids and fetches.
pub struct WireTap {
    /// Where clients connect: `127.0.0.1:PORT`.
    pub address: String,
    seen: Arc<Mutex<Seen>>,
}

impl WireTap {
    /// Listens on a free loopback port and relays every connection to `upstream`.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tap");
        let address = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(broker) = TcpStream::connect(&upstream) else {
                    continue;
                };
                relay(client, broker, Arc::clone(&shared));
            }
        });
        Self { address, seen }
    }

    /// A fresh local broker that tells its clients to connect through a new tap, with the topics
    /// created (`partitions` each) through the tap: every connection to it passes the tap.
    pub fn before_a_broker(partitions: u32) -> (Self, TestBroker) {
        let listen = format!("127.0.0.1:{}", free_port().expect("a free port"));
        let tap = Self::start(&listen);
        let broker =
            LocalBroker::start_advertising(&listen, &tap.address).expect("start the local broker");
        let kafka = KafkaSection {
            bootstrap: tap.address.clone(),
            partitions,
            ..KafkaSection::default()
        };
        (tap, TestBroker::create_topics(broker, kafka))
    }

    /// Every client id seen so far.
    pub fn client_ids(&self) -> BTreeSet<String> {
        self.seen.lock().unwrap().client_ids.clone()
    }

    /// Fetch requests so far, by what they asked for (`None`: of a version the tap does not read).
    pub fn fetches(&self) -> BTreeMap<Option<Fetched>, u64> {
        self.seen.lock().unwrap().fetches.clone()
    }
}

/// Relays one connection both ways, reading the requests' headers on the way in.
fn relay(client: TcpStream, broker: TcpStream, seen: Arc<Mutex<Seen>>) {
    let (mut client_in, mut broker_out) =
        (client.try_clone().unwrap(), broker.try_clone().unwrap());
    std::thread::spawn(move || {
        while let Some(frame) = read_frame(&mut client_in) {
            if let Some(id) = client_id(&frame) {
                let mut seen = seen.lock().unwrap();
                if frame[..2] == FETCH {
                    *seen.fetches.entry(fetched(&frame, id.len())).or_default() += 1;
                }
                seen.client_ids.insert(id);
            }
            let size = (frame.len() as u32).to_be_bytes();
            if broker_out
                .write_all(&size)
                .and_then(|()| broker_out.write_all(&frame))
                .is_err()
            {
                break;
            }
        }
        let _ = broker_out.shutdown(Shutdown::Both);
    });
    let (mut broker_in, mut client_out) = (broker, client);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut broker_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Both);
    });
}

/// One size-prefixed Kafka frame, without its size.
fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let mut frame = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut frame).ok()?;
    Some(frame)
}

/// The client id of a request (header v1 and later: api key, version, correlation id, then the id as
/// a nullable 16-bit-length string).
fn client_id(frame: &[u8]) -> Option<String> {
    let len = i16::from_be_bytes(frame.get(8..10)?.try_into().ok()?);
    let bytes = frame.get(10..10 + usize::try_from(len).ok()?)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// The API key of Fetch.
const FETCH: [u8; 2] = [0, 1];

/// What a Fetch request of version 15 or later asks for first (`client_id_len`: the length of its
/// header's client id). Its header (v2) ends with tagged fields (librdkafka sends none: one byte);
/// its body starts with max wait, min bytes, max bytes, isolation level and the session's id and
/// epoch (21 bytes), then the topics as a compact array, each an id and a compact array of partitions.
fn fetched(frame: &[u8], client_id_len: usize) -> Option<Fetched> {
    let version = i16::from_be_bytes(frame.get(2..4)?.try_into().ok()?);
    if version < 15 {
        return None;
    }
    let topics = 10 + client_id_len + 1 + 21;
    // Compact arrays say their length plus one, as an unsigned varint: one byte below 127.
    (frame.get(topics)?.checked_sub(1)? > 0).then_some(())?;
    let topic = frame.get(topics + 1..topics + 17)?.try_into().ok()?;
    let partitions = u32::from(frame.get(topics + 17)?.checked_sub(1)?);
    Some(Fetched { topic, partitions })
}
