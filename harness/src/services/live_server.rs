//! The live page's server (and `harness report --serve`'s): an HTTP server on a thread of its own,
//! on loopback unless told otherwise, answering `GET /` with the page and `GET /timeline.json` with
//! the run's timeline as last published (the harness publishes a new one about twice a second; the
//! page reads it once a second). The server never touches the run, so a slow browser costs the run
//! nothing. `--ui HOST:PORT` places it, `--ui off` turns it off; by default it serves at
//! 127.0.0.1:4040 (Spark's UI port), or the next free port after it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Where the live page is served unless told otherwise.
const DEFAULT_HOST: &str = "127.0.0.1";
/// Its port, as Spark's UI.
const DEFAULT_PORT: u16 = 4040;
/// How many ports after it are tried when it is taken.
const DEFAULT_TRIES: u16 = 32;
/// How long the serving thread waits for a request before it looks whether it should close.
const QUIET: Duration = Duration::from_millis(50);

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
    timeline: Arc<Mutex<String>>,
    /// Whether the timeline was asked for since it was last replaced: a new one is made only then,
    /// so a page nobody watches costs nothing.
    asked: Arc<AtomicBool>,
    address: String,
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
    /// over for the next, and `note` says so.
    pub fn start(
        place: &UiPlace,
        page: String,
        note: impl Fn(&str),
    ) -> Result<Option<Self>, UiError> {
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
        if *place == UiPlace::Default && address != place.to_string() {
            note(&format!(
                "live page: {place} is taken, serving at {address} instead"
            ));
        }
        let timeline = Arc::new(Mutex::new("{}".to_owned()));
        let closing = Arc::new(AtomicBool::new(false));
        // The first publish is wanted: a page opened before it gets something.
        let asked = Arc::new(AtomicBool::new(true));
        let (shown, told, wanted) = (
            Arc::clone(&timeline),
            Arc::clone(&closing),
            Arc::clone(&asked),
        );
        let page: Arc<str> = page.into();
        let thread = std::thread::Builder::new()
            .name("live page".to_owned())
            .spawn(move || {
                while !told.load(Ordering::Relaxed) {
                    match server.recv_timeout(QUIET) {
                        Ok(Some(request)) => answer(request, &page, &shown, &wanted),
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
            timeline,
            asked,
            address,
            closing,
            thread: Some(thread),
        }))
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Replaces the timeline the page reads with the one `json` makes, if the page asked for the
    /// timeline since the last one (else nothing is made; the page's next request is answered with
    /// the last one and asks for a new one).
    pub fn publish(&self, json: impl FnOnce() -> String) {
        if self.asked.swap(false, Ordering::Relaxed) {
            *self.timeline.lock().expect("live page lock") = json();
        }
    }

    /// Replaces the timeline the page reads with `json` now, asked for or not: the run's last.
    pub fn publish_now(&self, json: String) {
        *self.timeline.lock().expect("live page lock") = json;
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
fn answer(request: tiny_http::Request, page: &str, timeline: &Mutex<String>, asked: &AtomicBool) {
    let path = request.url().split('?').next().unwrap_or_default();
    let (status, content_type, body) = match path {
        "/" | "/index.html" => (200, "text/html; charset=utf-8", page.to_owned()),
        "/timeline.json" => {
            asked.store(true, Ordering::Relaxed);
            (
                200,
                "application/json",
                timeline.lock().expect("live page lock").clone(),
            )
        }
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

    #[test]
    fn a_taken_port_is_an_error_naming_it() {
        let first = LiveServer::start(
            &UiPlace::At {
                host: "127.0.0.1".into(),
                port: 0,
            },
            "page".into(),
            |_| {},
        )
        .unwrap()
        .unwrap();
        let port: u16 = first.address.rsplit_once(':').unwrap().1.parse().unwrap();
        let again = UiPlace::At {
            host: "127.0.0.1".into(),
            port,
        };
        let error = LiveServer::start(&again, "page".into(), |_| {}).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot serve a page at 127.0.0.1:{port}: ")),
            "{error}"
        );
    }
}
