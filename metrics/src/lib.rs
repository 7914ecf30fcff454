//! adstream's metrics endpoints (ARCHITECTURE.md, "Metrics"): each process that is asked to
//! (`--metrics-listen`) serves a [`prometheus_client`] registry over HTTP at `/metrics`, in the
//! Prometheus text format (0.0.4) or, when the scraper asks for it, OpenMetrics.
//!
//! - [`endpoint`]: the HTTP server on its own thread, so a scrape never runs on a thread that does
//!   the pipeline's work;
//! - [`families`]: writing metric families from values read at scrape time, for the collectors of the
//!   job, whose workers only publish what they have and never touch a metric on their hot path.
//!
//! The metrics themselves are defined where their values are: the job's in `adstream-dataflow`, the
//! producers' in `adstream-producers`, the harness's in `adstream-harness`.

pub mod endpoint;
pub mod families;

pub use endpoint::{Endpoint, EndpointError, Health};
pub use prometheus_client;
