//! A TCP relay in front of a broker that reads the `client_id` of every Kafka request passing through:
//! the broker's view of which clients connect, for tests that a client property reached every client.
//! The broker must advertise the tap's address, so that clients come back through it after bootstrap.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A relay to one upstream broker, recording client ids.
pub struct WireTap {
    /// Where clients connect: `127.0.0.1:PORT`.
    pub address: String,
    client_ids: Arc<Mutex<BTreeSet<String>>>,
}

impl WireTap {
    /// Listens on a free loopback port and relays every connection to `upstream`.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tap");
        let address = listener.local_addr().unwrap().to_string();
        let client_ids = Arc::new(Mutex::new(BTreeSet::new()));
        let ids = Arc::clone(&client_ids);
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(broker) = TcpStream::connect(&upstream) else {
                    continue;
                };
                relay(client, broker, Arc::clone(&ids));
            }
        });
        Self {
            address,
            client_ids,
        }
    }

    /// Every client id seen so far.
    pub fn client_ids(&self) -> BTreeSet<String> {
        self.client_ids.lock().unwrap().clone()
    }
}

/// Relays one connection both ways, reading the requests' headers on the way in.
fn relay(client: TcpStream, broker: TcpStream, ids: Arc<Mutex<BTreeSet<String>>>) {
    let (mut client_in, mut broker_out) =
        (client.try_clone().unwrap(), broker.try_clone().unwrap());
    std::thread::spawn(move || {
        while let Some(frame) = read_frame(&mut client_in) {
            if let Some(id) = client_id(&frame) {
                ids.lock().unwrap().insert(id);
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
