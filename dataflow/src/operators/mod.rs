//! The timely operators of one worker: the [`claim`] an incarnation makes on its job first, the [`source`] (read, decode, pre-aggregate, hold a capability
//! per open window, take checkpoints on time with [`checkpointing`]), the [`sink`] (write results, hold
//! each window until delivered), the update mode's [`revisions`] writer, and the [`job`] that wires
//! source → consolidate → sink, or source → revisions. Each worker
//! publishes what it keeps on its [`board`] for the process's metrics.

pub mod board;
pub mod checkpointing;
pub mod claim;
pub mod heartbeat;
pub mod job;
pub mod revisions;
pub mod sink;
pub mod source;
