//! One process's metrics endpoint: an HTTP server on a thread of its own answering `GET /metrics` with
//! its registry, encoded at the moment of the scrape. Dropping the [`Endpoint`] stops it.

use std::net::SocketAddr;
use std::sync::Arc;
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

/// A running metrics endpoint.
pub struct Endpoint {
    server: Arc<tiny_http::Server>,
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

/// The answer to one request.
fn answer(registry: &Registry, request: &tiny_http::Request) -> (u16, &'static str, String) {
    let path = request.url().split('?').next().unwrap_or_default();
    if path != "/metrics" {
        return (404, "text/plain", "metrics are at /metrics\n".to_owned());
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
    /// Serves `registry` at `address` (`HOST:PORT`; port 0 picks a free one) until dropped.
    pub fn serve(address: &str, registry: Registry) -> Result<Self, EndpointError> {
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
        let thread = std::thread::Builder::new()
            .name("metrics".to_owned())
            .spawn(move || {
                // Ends when `unblock` is called on drop.
                for request in serving.incoming_requests() {
                    let (status, content_type, body) = answer(&registry, &request);
                    let header =
                        tiny_http::Header::from_bytes("Content-Type", content_type).expect("ASCII");
                    let response = tiny_http::Response::from_string(body)
                        .with_status_code(status)
                        .with_header(header);
                    // A scraper that hung up has nothing to be told.
                    let _ = request.respond(response);
                }
            })
            .map_err(|e| bind(e.to_string()))?;
        Ok(Self {
            server,
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

    /// Keeps serving for `linger` (a process whose work is done, so a scrape can see its final values),
    /// then stops.
    pub fn linger(self, linger: Duration) {
        if !linger.is_zero() {
            std::thread::sleep(linger);
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.unblock();
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
