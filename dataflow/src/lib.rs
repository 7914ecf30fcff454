//! The stream job (SPEC §5): the events topic in, per-campaign aggregates of event-time windows out.
//!
//! Bottom to top — each layer uses only those below it:
//! - pure cores, free of I/O and timely, with the clock passed in: [`input`] (decoding a record),
//!   [`canonical_event`] (the fast path for our producers' layout), [`watermark`] (event-time
//!   progress), [`aggregate`] (the aggregate as a differential monoid), [`window_state`] (one worker's
//!   open windows), [`assignment`] (which partitions a worker reads), [`checkpoint`] and [`resume`]
//!   (what a restarted worker needs, and resuming from it);
//! - the edges as small traits ([`io`]) with Kafka versions ([`kafka_reader`], [`kafka_writers`],
//!   [`readback`] of results already written, [`checkpoint_store`]) and in-memory ones for tests
//!   ([`memory`]);
//! - the timely operators: [`source`] (read, decode, pre-aggregate, hold a capability per open
//!   window, checkpoint), [`sink`] (write results, hold each window until delivered) and [`job`]
//!   (source → consolidate → sink);
//! - what the workers publish for Prometheus ([`metrics`]);
//! - one process of the job: its cluster configuration ([`cluster`]) and its run ([`process`]); the
//!   `dataflow` binary parses its command line and calls them.

pub mod aggregate;
pub mod assignment;
pub mod canonical_event;
pub mod checkpoint;
pub mod checkpoint_store;
pub mod cluster;
pub mod input;
pub mod io;
pub mod job;
pub mod kafka_reader;
pub mod kafka_writers;
pub mod memory;
pub mod metrics;
pub mod process;
pub mod readback;
pub mod resume;
pub mod sink;
pub mod source;
pub mod watermark;
pub mod window_state;
