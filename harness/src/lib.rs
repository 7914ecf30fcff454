//! The harness library: everything behind the `harness` binary, in layers whose dependencies point
//! one way (each uses only those below it):
//!
//! 1. [`experiment`] — whole runs: the plan of the job's processes and their launch, supervising the
//!    job and the producers, following their messages, sweeps and capacity searches;
//! 2. [`measure`] — readers of the topics beside and after a run: the results collector, the broker
//!    probe, the exactness check, the catch-up baseline, CPU;
//! 3. [`report`] — plain data of what was measured and how it is shown: the report, its files and
//!    table, the sweep's grid, plots;
//! 4. [`services`] — what runs beside an experiment: the local broker and its topics, and the
//!    ownership of every started process.
//!
//! The command-line front end lives in the binary (`src/cli/`, one file per subcommand, named after
//! it: `cli/sweep.rs` is `harness sweep`, which drives [`experiment::sweep`]). The integration tests
//! use this library too, so they start brokers the same way the harness does.

pub mod experiment;
pub mod measure;
pub mod report;
pub mod services;
