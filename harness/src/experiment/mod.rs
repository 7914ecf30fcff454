//! The experiment layer: runs as a whole. A [`run::Experiment`] starts the job and the producers
//! under a [`supervisor::Supervisor`], follows them ([`drive`]) through their typed messages
//! ([`ledger`]) with a live status line ([`status_line`]) and its own [`metrics`], then verifies and reports; [`sweep`] and
//! [`capacity`] are loops of runs. It uses the measuring, report and services layers below it.

pub mod capacity;
pub mod drive;
pub mod error;
pub mod faults;
pub mod interrupt;
pub mod launch;
pub mod ledger;
pub mod metrics;
pub mod role;
pub mod run;
pub mod search;
pub mod status_line;
pub mod supervisor;
pub mod sweep;
