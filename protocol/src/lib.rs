//! What flows between adstream's processes, and what makes it right.
//!
//! The pipeline is `producer → events topic → dataflow → results topic`, watched by the harness.
//! Every one of those parts agrees on what is here, and on nothing else:
//!
//! - [`wire`]: the records on the topics (ARCHITECTURE.md, "Wire format") — events, control
//!   records, results, their headers;
//! - [`catalog`] and [`window`]: the run's ads and campaigns, and window arithmetic;
//! - [`validity`]: which events are valid — the one set of rules the job applies and every recount
//!   applies too;
//! - [`exactness`]: the expected result of a set of valid events, computed with its own code (not the
//!   job's) as [`tally`]s, and the comparison of a results topic — every revision — with it; [`once`]: that each event of our
//!   producers is in the events topic once; [`answers`]: another engine's results and their verdict
//!   against the same recount;
//! - [`messages`] and [`outbox`]: the typed lines a child process (job or producer) writes for the
//!   harness, on a stdout kept for them alone;
//! - [`liveness`]: when a process that should speak about once a second counts as gone;
//! - [`clock`] and [`cpu`]: wall-clock time and the CPU a process used, as every process reports
//!   them.
//!
//! Modules lower in that list depend on those above, never the other way round.

pub mod answers;
pub mod catalog;
pub mod clock;
pub mod cpu;
pub mod exactness;
pub mod liveness;
pub mod messages;
pub mod once;
pub mod outbox;
pub mod tally;
pub mod validity;
pub mod window;
pub mod wire;

pub use catalog::AdCatalog;
pub use wire::{AdType, Event, EventType};
