//! What every adstream binary agrees on: the event and control-record wire format, the ad→campaign
//! catalogue, window arithmetic, configuration profiles and the Kafka client settings.
//!
//! The crate lives in `configs/`, next to the TOML profiles it loads, so there is one place to look for
//! "what does a run mean".

pub mod catalog;
pub mod cli;
pub mod config;
pub mod cpu;
pub mod kafka;
pub mod offset_order;
pub mod schema;
pub mod window;

pub use catalog::AdCatalog;
pub use config::{ConfigError, Generator, Profile, WindowMode};
pub use schema::{AdType, Event, EventType};
