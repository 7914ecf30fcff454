//! The end-to-end tests, one binary with a module per area: every test talks to a real broker over TCP
//! and runs the real binaries as separate processes (see the crate's library for the shared parts).

mod bad_input;
mod broker_faults;
mod broker_requests;
mod checkpoints;
mod client_properties;
mod dead_letter_topic;
mod engines;
mod failures;
mod fault_schedule;
mod foreign_producers;
mod hostfile;
mod idle_workers;
mod job_exactness;
mod live_page;
mod metrics;
mod network_faults;
mod ownership;
mod peer_liveness;
mod producers_to_broker;
mod recovery;
mod report;
mod scaling;
mod secured_clusters;
mod ssh_launch;
mod topics;
mod update_mode;
mod verify;
mod zombie;
