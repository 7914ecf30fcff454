//! The harness library: the local broker and its provisioning, topic administration, and the pieces of a
//! run. The `harness` binary and the integration tests share it, so both start brokers the same way.

pub mod broker;
pub mod capacity;
pub mod collectors;
pub mod cpu_meter;
pub mod drain;
pub mod hostfile;
pub mod latency;
pub mod plot;
pub mod processes;
pub mod progress;
pub mod report;
pub mod run;
pub mod sweep;
pub mod topic_reader;
pub mod topics;
pub mod verify;
