//! The job's pure core, free of I/O and of timely, with the clock passed in: everything here is tested
//! directly.
//!
//! Bottom to top: [`input`] decodes a record (with [`canonical_event`], the fast path for our
//! producers' layout); [`watermark`] tracks event-time progress per partition and [`progress`] over a worker's
//! partitions; [`aggregate`] is the aggregate as a
//! differential monoid; [`book`] keeps what a worker remembers of each partition for its checkpoints;
//! [`window_state`] is one worker's open windows, taking records and closing windows, and
//! [`verdict`] what became of each record; [`checkpoint`] is
//! what a restarted worker needs and its stored format; [`fence`] is how an incarnation claims its job
//! and when a claim takes it away; [`assignment`] says which partitions a worker reads.

pub mod aggregate;
pub mod assignment;
pub mod book;
pub mod canonical_event;
pub mod checkpoint;
pub mod fence;
pub mod input;
pub mod progress;
pub mod verdict;
pub mod watermark;
pub mod window_state;
