//! adstream's event producer: traffic shapes, event contents, pacing and the sinks it writes to.

pub mod event_factory;
pub mod generator;
pub mod kafka_sink;
pub mod pacer;
pub mod produce;
pub mod producer_metrics;
pub mod resume;
pub mod sink;
pub mod stdout_sink;
