//! The stream job's logic. This first part holds its pure pieces: input decoding, the aggregate, and
//! event-time progress that decides when a window is final; the timely operators build on them (issue 3).

pub mod aggregate;
pub mod assignment;
pub mod canonical_event;
pub mod cluster;
pub mod input;
pub mod io;
pub mod job;
pub mod kafka_reader;
pub mod kafka_writers;
pub mod memory;
pub mod metrics;
pub mod source;
pub mod watermark;
pub mod window_state;
