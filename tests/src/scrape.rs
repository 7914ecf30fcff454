//! Scraping a metrics endpoint as Prometheus would — `GET /metrics` over HTTP — and reading the answer
//! with an independent parser of the Prometheus text format (`prometheus-parse`), not the encoder's.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use prometheus_parse::{Scrape, Value};

/// `GET path` at `address` with `accept`: the response's head and body, or `None` when nothing
/// answers there (yet, or any more).
fn get(address: &str, path: &str, accept: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.to_owned(), body.to_owned()))
}

/// One scrape of `address` (`HOST:PORT`), parsed: `None` when nothing answers there (yet, or any
/// more), an error when something answers other than 200 with the Prometheus text format.
pub fn scrape(address: &str) -> Option<Result<Scrape, String>> {
    let (head, body) = get(address, "/metrics", "text/plain")?;
    if !head.starts_with("HTTP/1.1 200") || !head.contains("text/plain; version=0.0.4") {
        return Some(Err(format!("{address}: {head} {body}")));
    }
    Some(
        Scrape::parse(body.lines().map(|l| Ok(l.to_owned())))
            .map_err(|e| format!("{address}: not the Prometheus text format: {e}")),
    )
}

/// The value of a counter or gauge sample.
pub fn number(value: &Value) -> f64 {
    match value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map_or(0.0, |b| b.count),
        Value::Summary(_) => panic!("no summaries are served"),
    }
}

/// Every sample of `metric` as (value of `label`, value); for a histogram its count.
pub fn samples(scrape: &Scrape, metric: &str, label: &str) -> Vec<(String, f64)> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .map(|s| {
            (
                s.labels.get(label).unwrap_or_default().to_owned(),
                number(&s.value),
            )
        })
        .collect()
}

/// The sum of every sample of `metric`.
pub fn total(scrape: &Scrape, metric: &str) -> f64 {
    samples(scrape, metric, "").iter().map(|(_, v)| v).sum()
}

/// `GET /healthz` at `address`: the status code and the body, or `None` when nothing answers.
pub fn healthz(address: &str) -> Option<(u16, String)> {
    let (head, body) = get(address, "/healthz", "*/*")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.trim_end().to_owned()))
}
