//! The experiment layer: runs as a whole. A [`single_run::Experiment`] plans the job's processes
//! ([`launch`]), starts them and the producers under a [`supervisor::Supervisor`], follows them
//! ([`drive`]) through their typed messages ([`ledger`]) with a live [`status_line`] and its own
//! [`harness_metrics`], then verifies and reports; [`sweep`] and [`capacity`] are loops of runs. It
//! uses the measuring, report and services layers below it.

pub mod capacity;
pub mod compare;
pub mod drive;
pub mod engine_job;
pub mod engine_run;
pub mod error;
pub mod fault_plan;
pub mod faults;
pub mod harness_metrics;
pub mod interrupt;
pub mod launch;
pub mod ledger;
pub mod live_feed;
pub mod random_faults;
pub mod role;
pub mod search;
pub mod single_run;
pub mod status_line;
pub mod supervisor;
pub mod sweep;
