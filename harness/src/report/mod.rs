//! The report layer: plain data of what runs measured and how it is shown — latency statistics, the
//! report model, an update-mode run's revisions, its files and table, the sweep's rows, plots, and the report page. It knows nothing of processes or
//! Kafka; the layers above fill it.

pub mod comparison;
pub mod engine;
pub mod engines_compared;
pub mod fault_record;
pub mod files;
pub mod grid;
pub mod latency;
pub mod model;
pub mod page;
pub mod plot;
pub mod revisions;
pub mod sweep_plot;
pub mod table;
pub mod timeline;
