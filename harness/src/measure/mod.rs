//! The measuring layer: readers of the topics that run beside an experiment or after it — the results
//! collector and broker probe, the exactness check, the catch-up baseline — and the CPU meter. Each
//! fills the report layer's types.

pub mod broker_probe;
pub mod collectors;
pub mod cpu_meter;
pub mod drain;
pub mod topic_reader;
pub mod verify;
