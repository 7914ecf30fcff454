//! The stream job's logic. This first part holds the pure pieces that decide when a window is final;
//! the timely operators that use them build on it (issue 3).

pub mod input;
pub mod watermark;
