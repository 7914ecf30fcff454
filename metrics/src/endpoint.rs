//! One process's metrics endpoint: an HTTP server on a thread of its own answering `GET /metrics` with
//! its registry, encoded at the moment of the scrape, and `GET /healthz` with the process's own
//! verdict on its liveness (200 `ok`, or 503 with the reason) for the probes of systemd or Kubernetes. Dropping the [`Endpoint`] stops it, once the
//! requests already received are answered; a process that ends keeps it to the end
//! ([`Endpoint::serve_until_exit`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::registry::Registry;

/// The content type of the Prometheus text format, served unless the scraper asks for OpenMetrics.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of OpenMetrics text, served to a scraper whose `Accept` names it first.
const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why an endpoint cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The address cannot be bound (in use, not this host's, not an address).
    #[error("cannot serve metrics at {address}: {reason}")]
    Bind {
        /// The address asked for.
        address: String,
        /// What the system said.
        reason: String,
    },
}

/// A process's verdict on its own liveness, asked at each `/healthz`: `Err` says why it is not live.
pub type Health = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// A running metrics endpoint.
pub struct Endpoint {
    /// Held so the server lives as long as the endpoint (its thread holds it too).
    _server: Arc<tiny_http::Server>,
    closing: Arc<AtomicBool>,
    address: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The format a request asks for: OpenMetrics when its `Accept` header names it, else Prometheus text.
fn wants_openmetrics(request: &tiny_http::Request) -> bool {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Accept"))
        .is_some_and(|h| h.value.as_str().contains("application/openmetrics-text"))
}

/// How long the serving thread waits for a request before it looks whether it should close.
const QUIET: Duration = Duration::from_millis(50);

/// Answers one request. A collector that panics fails its scrape, not the endpoint (the default hook
/// reports the panic on stderr).
fn respond(registry: &Registry, health: &Health, request: tiny_http::Request) {
    let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        answer(registry, health, &request)
    }));
    let (status, content_type, body) =
        answered.unwrap_or_else(|_| (500, "text/plain", "a metric could not be read\n".to_owned()));
    let header = tiny_http::Header::from_bytes("Content-Type", content_type).expect("ASCII");
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header);
    // A scraper that hung up has nothing to be told.
    let _ = request.respond(response);
}

/// The answer to one request.
fn answer(
    registry: &Registry,
    health: &Health,
    request: &tiny_http::Request,
) -> (u16, &'static str, String) {
    let path = request.url().split('?').next().unwrap_or_default();
    if path == "/healthz" {
        return match health() {
            Ok(()) => (200, "text/plain", "ok\n".to_owned()),
            Err(why) => (503, "text/plain", format!("{why}\n")),
        };
    }
    if path != "/metrics" {
        return (
            404,
            "text/plain",
            "metrics are at /metrics, liveness at /healthz\n".to_owned(),
        );
    }
    let mut body = String::new();
    let (content_type, encoded) = if wants_openmetrics(request) {
        let encoded = prometheus_client::encoding::text::encode(&mut body, registry);
        (OPENMETRICS_TEXT, encoded)
    } else {
        let encoded = prometheus_client::encoding::prometheus_text::encode(&mut body, registry);
        (PROMETHEUS_TEXT, encoded)
    };
    match encoded {
        Ok(()) => (200, content_type, body),
        Err(_) => (
            500,
            "text/plain",
            "the metrics could not be encoded\n".to_owned(),
        ),
    }
}

impl Endpoint {
    /// Serves `registry` at `address` (`HOST:PORT`; port 0 picks a free one) until dropped; its
    /// `/healthz` always answers `ok`.
    pub fn serve(address: &str, registry: Registry) -> Result<Self, EndpointError> {
        Self::serve_with_health(address, registry, Arc::new(|| Ok(())))
    }

    /// [`Endpoint::serve`], with `/healthz` answered by `health`.
    pub fn serve_with_health(
        address: &str,
        registry: Registry,
        health: Health,
    ) -> Result<Self, EndpointError> {
        let bind = |reason: String| EndpointError::Bind {
            address: address.to_owned(),
            reason,
        };
        let server = Arc::new(tiny_http::Server::http(address).map_err(|e| bind(e.to_string()))?);
        let bound = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| bind("not an IP address".to_owned()))?;
        let serving = Arc::clone(&server);
        let closing = Arc::new(AtomicBool::new(false));
        let told = Arc::clone(&closing);
        let thread = std::thread::Builder::new()
            .name("metrics".to_owned())
            .spawn(move || {
                while !told.load(Ordering::Relaxed) {
                    match serving.recv_timeout(QUIET) {
                        Ok(Some(request)) => respond(&registry, &health, request),
                        Ok(None) => {}
                        // The listener failed: nothing more will come.
                        Err(_) => return,
                    }
                }
                // Told to close: what is queued is answered, so a scrape at the end gets an answer.
                while let Ok(Some(request)) = serving.try_recv() {
                    respond(&registry, &health, request);
                }
            })
            .map_err(|e| bind(e.to_string()))?;
        Ok(Self {
            _server: server,
            closing,
            address: bound,
            thread: Some(thread),
        })
    }

    /// The address it serves at (with the port picked, when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The URL a scraper reads.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.address)
    }

    /// For a process whose work is done: keeps serving for `linger`, so a scrape can see the final
    /// values, and then on until the process exits. The endpoint is not closed: closing it while a
    /// scrape is arriving answers that scrape with an error, while the process's exit simply ends
    /// the connection, as for any target that is gone.
    pub fn serve_until_exit(self, linger: Duration) {
        if !linger.is_zero() {
            std::thread::sleep(linger);
        }
        std::mem::forget(self);
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use prometheus_client::metrics::counter::Counter;

    use super::*;

    fn get(address: SocketAddr, path: &str, accept: &str) -> String {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_the_registry_in_the_format_asked_for() {
        let mut registry = Registry::default();
        let counter: Counter = Counter::default();
        registry.register("adstream_test_things", "Things counted", counter.clone());
        counter.inc_by(7);
        let endpoint = Endpoint::serve("127.0.0.1:0", registry).unwrap();
        let address = endpoint.address();
        let text = get(address, "/metrics", "text/plain");
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("version=0.0.4"), "{text}");
        assert!(text.contains("\nadstream_test_things_total 7\n"), "{text}");
        let open = get(
            address,
            "/metrics",
            "application/openmetrics-text;version=1.0.0",
        );
        assert!(open.contains("application/openmetrics-text"), "{open}");
        assert!(open.trim_end().ends_with("# EOF"), "{open}");
        assert!(get(address, "/", "*/*").starts_with("HTTP/1.1 404"));
        // Returns once the serving thread has ended.
        drop(endpoint);
    }

    #[test]
    fn an_address_in_use_is_one_error_naming_it() {
        let first = Endpoint::serve("127.0.0.1:0", Registry::default()).unwrap();
        let taken = first.address().to_string();
        let error = Endpoint::serve(&taken, Registry::default()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot serve metrics at {taken}: ")),
            "{error}"
        );
    }
}
