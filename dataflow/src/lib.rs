//! The stream job: the events topic in, per-campaign aggregates of event-time windows out
//! (ARCHITECTURE.md, "The stream job").
//!
//! Its layers are its folders, bottom to top — each uses only those below it:
//! - [`core`]: decoding, event-time progress, the aggregate, a worker's windows and books,
//!   checkpoints and partition assignment — no I/O, no timely, the clock passed in;
//! - [`edges`]: where records come from and results, dead letters and checkpoints go, as small
//!   traits, with in-memory versions for tests and the checkpoint directory;
//! - [`kafka`]: the same edges over Kafka, and the topics the job reads back or creates;
//! - [`operators`]: the timely operators of one worker (source, sink, the job that wires them);
//! - [`process`]: one process of the job — its cluster, its Kafka edges made before timely starts,
//!   its metrics endpoint, its run. The `dataflow` binary parses its command line and calls it.

pub mod core;
pub mod edges;
pub mod kafka;
pub mod operators;
pub mod process;
