//! adstream's configuration: profiles (the TOML files in `configs/`), their validation, the
//! command-line flags that override them, and the addresses and hostfiles they name.
//!
//! - [`profile`]: the types of a profile, its defaults (the seed's) and loading;
//! - [`validate`]: values of the right type that are still out of range;
//! - [`error`]: every problem as one line naming the key (and flag);
//! - [`flags`]: the clap flag groups shared by the binaries, so a flag means the same everywhere;
//! - [`address`] and [`hostfile`]: `HOST:PORT` and timely hostfiles, parsed by one rule;
//! - [`properties`]: the `[kafka.*properties]` tables and `--kafka-property`, read as librdkafka names.

pub mod address;
pub mod client;
pub mod error;
pub mod flags;
pub mod hostfile;
pub mod profile;
pub mod properties;
pub mod validate;

pub use error::ConfigError;
pub use profile::{Generator, Profile, WindowMode};
