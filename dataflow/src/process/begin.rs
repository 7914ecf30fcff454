//! What every worker of a process does before its dataflow: the job's claim, then the read-back.

use std::sync::{Arc, OnceLock};

use adstream_profile::client::Connection;

use crate::kafka::readback::{Written, written_results};
use crate::operators::claim::claim_job;
use crate::process::WorkerEdges;
use crate::process::error::ProcessError;

/// What every worker does before its dataflow: claim the job for this incarnation (when it has an
/// id), then read back the results earlier incarnations wrote — once per process — so they are not
/// written again. The claim comes first: an older incarnation still running finds it before its next
/// window, so nothing it writes after this read is missed (ARCHITECTURE.md, "Fault tolerance").
pub struct Claiming {
    job: Option<String>,
    kafka: Connection,
    results_topic: String,
    written: Arc<OnceLock<ReadBack>>,
}

/// The (window, campaign) pairs already in the results topic, read once per process, or why not.
type ReadBack = Result<Arc<Written>, String>;

impl Claiming {
    /// The beginning of the workers of a process of job `job` (none: the job has no id and claims
    /// nothing), reading back `results_topic`.
    pub fn new(job: Option<String>, kafka: Connection, results_topic: &str) -> Self {
        Self {
            job,
            kafka,
            results_topic: results_topic.to_owned(),
            written: Arc::new(OnceLock::new()),
        }
    }

    /// Claims (worker 0 stores the claim, every worker follows it) and then gives `edges` the results
    /// already written.
    pub fn begin(
        &self,
        worker: &mut timely::worker::Worker,
        edges: &mut WorkerEdges,
    ) -> Result<(), ProcessError> {
        if let (Some(job), Some(fence)) = (&self.job, edges.fence.as_mut()) {
            claim_job(worker, job, fence.as_mut())?;
        }
        let written = self.written.get_or_init(|| {
            written_results(&self.kafka, &self.results_topic)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        match written {
            Ok(written) => {
                edges.results.skipping(Arc::clone(written));
                Ok(())
            }
            Err(why) => Err(ProcessError::ReadBack(why.clone())),
        }
    }
}
