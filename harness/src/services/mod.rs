//! The harness's bottom layer: what it runs beside the experiment — the local broker and its topics —
//! and the rule that every process it starts dies with it, another engine's whole process tree included.

pub mod broker;
pub mod broker_install;
pub mod broker_watch;
pub mod cut;
pub mod engine_guard;
pub mod engines;
pub mod live_server;
pub mod ownership;
pub mod process_tree;
pub mod signals;
pub mod topics;
