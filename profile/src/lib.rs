//! adstream's configuration: profiles (the TOML files in `configs/`), their validation, the
//! command-line flags that override them, and the addresses and hostfiles they name.
//!
//! - [`keys`]: a key declared once — its type, default, doc, flag and rule — and the macro that
//!   makes the profile's types and key constants of the table in [`profile`];
//! - [`profile`]: the table of every key, its defaults (the seed's) and loading;
//! - [`choices`]: the values of the keys that choose among a few;
//! - [`validate`]: each key's rule, and the rules between keys;
//! - [`error`]: every problem as one line naming the key (and flag);
//! - [`flags`]: the clap flag groups shared by the binaries, so a flag means the same everywhere;
//!   [`engine_args`]: those of the engine keys, which only the harness takes;
//! - [`address`] and [`hostfile`]: `HOST:PORT` and timely hostfiles, parsed by one rule;
//! - [`properties`]: the `[kafka.*properties]` tables and `--kafka-property`, read as librdkafka names;
//! - [`client`]: what every Kafka client is made from — the broker and the user's properties;
//! - [`served`]: where each kind of process serves its metrics.

pub mod address;
pub mod choices;
pub mod client;
pub mod engine_args;
pub mod error;
pub mod flags;
pub mod hostfile;
pub mod keys;
pub mod profile;
pub mod properties;
pub mod served;
pub mod validate;

pub use error::ConfigError;
pub use profile::{Generator, OutputMode, Profile, WindowMode};
