//! The live page's server (and `harness report --serve`'s): an HTTP server on a thread of its own,
//! on loopback unless told otherwise, answering `GET /` with the page and `GET /timeline.json` with
//! the run's timeline. The harness makes a new timeline at most twice a second, and only when the page
//! asked since the last one, so a page nobody watches costs nothing; a request that finds the
//! timeline older than a second waits for the next (at most [`WAIT_FOR_FRESH`]). The server never
//! touches the run, so a slow browser costs the run nothing. `--ui HOST:PORT` places it, `--ui off` turns it off; by default it serves at
//! 127.0.0.1:4040 (Spark's UI port), or the next free port after it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the live page is served unless told otherwise.
const DEFAULT_HOST: &str = "127.0.0.1";
/// Its port, as Spark's UI.
const DEFAULT_PORT: u16 = 4040;
/// How many ports after it are tried when it is taken.
const DEFAULT_TRIES: u16 = 32;
/// How long the serving thread waits for a request before it looks whether it should close.
const QUIET: Duration = Duration::from_millis(50);
/// A timeline younger than this is answered at once.
const FRESH: Duration = Duration::from_secs(1);
/// How long a request for an older one waits for the next.
const WAIT_FOR_FRESH: Duration = Duration::from_millis(700);

/// The timeline the page reads, shared by the harness (which replaces it) and the server.
#[derive(Debug)]
struct Shared {
    /// The timeline and when it was made.
    timeline: Mutex<(String, Instant)>,
    /// Signalled when it is replaced.
    replaced: Condvar,
    /// Whether it was asked for since it was last replaced.
    asked: AtomicBool,
}

impl Shared {
    fn replace(&self, json: String) {
        *self.timeline.lock().expect("live page lock") = (json, Instant::now());
        self.replaced.notify_all();
    }

    /// The timeline, after waiting for a new one if it is not fresh.
    fn read(&self) -> String {
        self.asked.store(true, Ordering::Relaxed);
        let held = self.timeline.lock().expect("live page lock");
        let made = held.1;
        let (held, _) = self
            .replaced
            .wait_timeout_while(held, WAIT_FOR_FRESH, |(_, at)| {
                *at == made && made.elapsed() > FRESH
            })
            .expect("live page lock");
        held.0.clone()
    }
}

/// Where to serve the live page (`--ui`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UiPlace {
    /// 127.0.0.1:4040, or the next free port after it.
    #[default]
    Default,
    /// Exactly here (port 0: any free port).
    At {
        /// The host to bind.
        host: String,
        /// The port.
        port: u16,
    },
    /// No live page.
    Off,
}

impl UiPlace {
    /// `off`, or `HOST:PORT` (port 0 picks a free one).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "off" {
            return Ok(Self::Off);
        }
        let bad = || format!("must be HOST:PORT (port 0 picks a free one) or off, got \"{text}\"");
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse::<u16>().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self::At {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for UiPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => write!(f, "{DEFAULT_HOST}:{DEFAULT_PORT}"),
            Self::At { host, port } => write!(f, "{host}:{port}"),
            Self::Off => f.write_str("off"),
        }
    }
}

/// Why the live page cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve a page at {address}: {reason}")]
pub struct UiError {
    /// The address asked for.
    pub address: String,
    /// What the system said.
    pub reason: String,
}

/// A running live page.
pub struct LiveServer {
    shared: Arc<Shared>,
    address: String,
    /// The default address, when it was taken.
    instead_of: Option<String>,
    closing: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for LiveServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveServer")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl LiveServer {
    /// Serves `page` at `place` (`None` for `off`); with the default place, a taken port is passed
    /// over for the next (and [`LiveServer::describe`] says so).
    pub fn start(place: &UiPlace, page: String) -> Result<Option<Self>, UiError> {
        let server = match place {
            UiPlace::Off => return Ok(None),
            UiPlace::At { host, port } => bind(host, *port)?,
            UiPlace::Default => {
                let mut tried = None;
                let mut bound = None;
                for port in DEFAULT_PORT..DEFAULT_PORT + DEFAULT_TRIES {
                    match bind(DEFAULT_HOST, port) {
                        Ok(server) => {
                            bound = Some(server);
                            break;
                        }
                        Err(error) => tried = Some(error),
                    }
                }
                match bound {
                    Some(server) => server,
                    None => return Err(tried.expect("at least one port was tried")),
                }
            }
        };
        let address = server
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .unwrap_or_else(|| place.to_string());
        let instead_of =
            (*place == UiPlace::Default && address != place.to_string()).then(|| place.to_string());
        let shared = Arc::new(Shared {
            timeline: Mutex::new(("{}".to_owned(), Instant::now())),
            replaced: Condvar::new(),
            // The first timeline is wanted: a page opened before it gets something.
            asked: AtomicBool::new(true),
        });
        let closing = Arc::new(AtomicBool::new(false));
        let (served, told) = (Arc::clone(&shared), Arc::clone(&closing));
        let page: Arc<str> = page.into();
        let thread = std::thread::Builder::new()
            .name("live page".to_owned())
            .spawn(move || {
                while !told.load(Ordering::Relaxed) {
                    match server.recv_timeout(QUIET) {
                        Ok(Some(request)) => answer(request, &page, &served),
                        Ok(None) => {}
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| UiError {
                address: place.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Some(Self {
            shared,
            address,
            instead_of,
            closing,
            thread: Some(thread),
        }))
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The page's URL, and why it is not the default address when that was taken.
    pub fn describe(&self) -> String {
        match &self.instead_of {
            Some(default) => format!("{} ({default} is taken)", self.url()),
            None => self.url(),
        }
    }

    /// Replaces the timeline the page reads with the one `json` makes, if the page asked for the
    /// timeline since the last one (else nothing is made; the page's next request is answered with
    /// the last one and asks for a new one).
    pub fn publish(&self, json: impl FnOnce() -> String) {
        if self.shared.asked.swap(false, Ordering::Relaxed) {
            self.shared.replace(json());
        }
    }

    /// Replaces the timeline the page reads with `json` now, asked for or not.
    pub fn publish_now(&self, json: String) {
        self.shared.replace(json);
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn bind(host: &str, port: u16) -> Result<tiny_http::Server, UiError> {
    let address = format!("{host}:{port}");
    tiny_http::Server::http(&address).map_err(|e| UiError {
        address,
        reason: e.to_string(),
    })
}

/// Answers one request: the page, the timeline (and a fresh one is asked for), or 404.
fn answer(request: tiny_http::Request, page: &str, shared: &Shared) {
    let path = request.url().split('?').next().unwrap_or_default();
    let (status, content_type, body) = match path {
        "/" | "/index.html" => (200, "text/html; charset=utf-8", page.to_owned()),
        "/timeline.json" => (200, "application/json", shared.read()),
        _ => (
            404,
            "text/plain",
            "the live page is at /, its data at /timeline.json\n".to_owned(),
        ),
    };
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(
            tiny_http::Header::from_bytes("Content-Type", content_type).expect("ASCII header"),
        )
        // Every poll must see the latest timeline.
        .with_header(
            tiny_http::Header::from_bytes("Cache-Control", "no-store").expect("ASCII header"),
        );
    // A browser that went away has nothing to be told.
    let _ = request.respond(response);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_off_or_host_and_port() {
        assert_eq!(UiPlace::parse("off"), Ok(UiPlace::Off));
        assert_eq!(
            UiPlace::parse("127.0.0.1:0"),
            Ok(UiPlace::At {
                host: "127.0.0.1".into(),
                port: 0
            })
        );
        for bad in ["", "4040", ":4040", "localhost:http", "localhost:70000"] {
            let error = UiPlace::parse(bad).unwrap_err();
            assert!(error.starts_with("must be HOST:PORT"), "{bad}: {error}");
        }
    }

    /// The body of `GET path` from `server`.
    fn get(server: &LiveServer, path: &str) -> String {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(&server.address).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn a_timeline_is_made_only_when_the_page_asked_for_one() {
        let at = UiPlace::At {
            host: "127.0.0.1".into(),
            port: 0,
        };
        let server = LiveServer::start(&at, "the page".into()).unwrap().unwrap();
        let made = std::cell::Cell::new(0);
        let make = |text: &str| {
            made.set(made.get() + 1);
            text.to_owned()
        };
        server.publish(|| make("first"));
        server.publish(|| make("second"));
        assert_eq!(made.get(), 1, "nobody asked for the second");
        assert_eq!(get(&server, "/timeline.json"), "first");
        server.publish(|| make("third"));
        assert_eq!(made.get(), 2);
        assert_eq!(get(&server, "/timeline.json"), "third");
        server.publish_now("fourth".into());
        assert_eq!(get(&server, "/timeline.json"), "fourth");
        assert_eq!(get(&server, "/"), "the page");
    }

    #[test]
    fn a_taken_port_is_an_error_naming_it() {
        let first = LiveServer::start(
            &UiPlace::At {
                host: "127.0.0.1".into(),
                port: 0,
            },
            "page".into(),
        )
        .unwrap()
        .unwrap();
        let port: u16 = first.address.rsplit_once(':').unwrap().1.parse().unwrap();
        let again = UiPlace::At {
            host: "127.0.0.1".into(),
            port,
        };
        let error = LiveServer::start(&again, "page".into()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot serve a page at 127.0.0.1:{port}: ")),
            "{error}"
        );
    }
}
