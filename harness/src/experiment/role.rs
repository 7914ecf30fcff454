//! What a child process is in a run: a job process or a producer, by index, the local broker, or another engine's job. Errors, the supervisor and
//! the ledger all name children by it.

use std::fmt;

/// What a child is in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Job process `I`.
    Job(u32),
    /// Producer `I`.
    Producer(u32),
    /// The local broker the harness started (not a child the supervisor starts).
    Broker,
    /// Another engine's job (`--job`, `--engine`), under its guard: one child however many
    /// processes it has.
    Engine,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Job(i) => write!(f, "job {i}"),
            Role::Producer(i) => write!(f, "producer {i}"),
            Role::Broker => f.write_str("broker"),
            Role::Engine => f.write_str("the job"),
        }
    }
}
