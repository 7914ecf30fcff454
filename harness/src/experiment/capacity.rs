//! `harness capacity`: runs the search of [`crate::experiment::search`] with real experiments, one
//! directory per rate tried, and writes `capacity.json` and `capacity.html`.

use adstream_profile::profile::Profile;

use crate::experiment::error::RunError;
use crate::experiment::search::{Capacity, Criteria, Evidence, search};
use crate::experiment::single_run::Experiment;
use crate::report::comparison::capacity_page;

/// A capacity search of a configuration.
#[derive(Debug, Clone)]
pub struct CapacitySearch<'a> {
    /// The configuration searched (its rate is replaced by each run's).
    pub base: &'a Profile,
    /// Total events per second of the first run.
    pub from: u64,
    /// Highest total rate to try.
    pub max_rate: u64,
    /// Bisections between the last sustained rate and the first that was not.
    pub steps: u32,
    /// When a run counts as sustained.
    pub criteria: Criteria,
    /// How runs are made; its `out` is the search's directory.
    pub experiment: Experiment<'a>,
}

/// Why a capacity search stopped short.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// A run could not be made, or was interrupted.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A run completed but its results were not exact: capacity means nothing then.
    #[error("results not exact at {rate} events/s: see {dir}")]
    NotExact {
        /// The rate.
        rate: u64,
        /// Its run directory.
        dir: String,
    },
}

impl CapacitySearch<'_> {
    /// Searches, printing each run's evidence; writes `capacity.json`.
    pub fn run(&self) -> Result<Capacity, CapacityError> {
        let producers = u64::from(self.base.producers.count);
        let result = search(self.from, self.max_rate, self.steps, producers, |total| {
            let mut profile = self.base.clone();
            profile.producers.rate = total / producers;
            let dir = self.experiment.out.join(format!("rate-{total}"));
            let experiment = Experiment {
                out: &dir,
                ..self.experiment
            };
            let evidence = match experiment.run_fresh(&profile) {
                Ok(outcome) => {
                    let evidence =
                        Evidence::judge(total, &outcome.summary, &outcome.report, &self.criteria);
                    eprintln!("  {evidence}");
                    if !evidence.exact {
                        return Err(CapacityError::NotExact {
                            rate: total,
                            dir: dir.display().to_string(),
                        });
                    }
                    evidence
                }
                Err(error) if error.is_interrupted() => return Err(error.into()),
                Err(error) => {
                    let failed = Evidence::run_failed(total, &error.to_string());
                    eprintln!("  {failed}");
                    failed
                }
            };
            Ok(evidence)
        })?;
        let value = serde_json::to_value(&result).expect("the capacity serialises");
        let json = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
        for (name, text) in [
            ("capacity.json", json),
            ("capacity.html", capacity_page(&value)),
        ] {
            let path = self.experiment.out.join(name);
            std::fs::write(&path, text)
                .map_err(RunError::io(format!("write {}", path.display())))?;
        }
        Ok(result)
    }
}
