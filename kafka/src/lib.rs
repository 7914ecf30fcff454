//! adstream's Kafka client utilities, shared by the producers, the job and the harness.
//!
//! - [`admin`]: creating a topic a binary needs, and the largest batch a topic takes;
//! - [`settings`]: every client setting, each with the reason it has its value (ARCHITECTURE.md,
//!   "The broker"), and the [`settings::Connection`] every client is made from;
//! - [`error`] and [`metadata`]: problems worded for the person running the command, and the
//!   reachability check every binary runs before it relies on the broker;
//! - [`delivery`]: delivery reports counted, and sends that wait for room instead of failing;
//! - [`lag`]: a consumer's lag, from librdkafka's statistics;
//! - [`offset_order`] and [`ordered`]: reading each partition's offsets strictly in order, which the
//!   local broker needs (it can serve a later batch before an earlier one).

pub mod admin;
pub mod delivery;
pub mod error;
pub mod lag;
pub mod metadata;
pub mod offset_order;
pub mod ordered;
pub mod settings;

pub use error::KafkaError;
