//! An incarnation of the job claims it before anything else ([`crate::core::fence`]): the first worker
//! draws the incarnation's generation, stores the claim, and tells every worker of every process the
//! generation and where the claim stands, through a small dataflow of its own; each worker then follows
//! the fence from there. Only after this does a process read back the results already written, so a
//! zombie that looks at the fence after that read finds the claim.

use std::cell::RefCell;
use std::rc::Rc;

use adstream_protocol::clock::unix_ms;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

use crate::core::fence::Claim;
use crate::edges::Fence;

/// Why an incarnation could not claim its job.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// This worker could not store the claim, or not follow it.
    #[error("cannot claim job {job}: {source}")]
    Fence {
        /// The job.
        job: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The worker that claims for the incarnation could not.
    #[error("job {0} was not claimed: the first process of the job could not store its claim")]
    NotClaimed(String),
}

/// What the claiming worker tells the others: the generation and the position after its claim, or
/// nothing when it failed.
type Told = Option<(u64, u64)>;

/// Claims job `job` at `fence` for this incarnation (worker 0 claims, every worker learns of it) and
/// leaves `fence` following the claim; returns the generation.
pub fn claim_job(worker: &mut Worker, job: &str, fence: &mut dyn Fence) -> Result<u64, ClaimError> {
    let told: Rc<RefCell<Told>> = Rc::new(RefCell::new(None));
    let heard = Rc::clone(&told);
    let mut input: InputHandle<u64, CapacityContainerBuilder<Vec<Told>>> = InputHandle::new();
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .broadcast()
            .inspect(move |t| *heard.borrow_mut() = *t)
            .probe_with(&probe);
    });
    let mut failed = None;
    if worker.index() == 0 {
        let claim = Claim {
            job: job.to_owned(),
            generation: uuid::Uuid::new_v4().as_u64_pair().0,
            claimed_at_ms: unix_ms(),
        };
        match fence.claim(&claim) {
            Ok(position) => input.send(Some((claim.generation, position))),
            Err(source) => {
                input.send(None);
                failed = Some(source);
            }
        }
    }
    input.close();
    while !probe.done() {
        worker.step_or_park(None);
    }
    if let Some(source) = failed {
        return Err(ClaimError::Fence {
            job: job.to_owned(),
            source,
        });
    }
    let Some((generation, position)) = *told.borrow() else {
        return Err(ClaimError::NotClaimed(job.to_owned()));
    };
    fence
        .follow(job, generation, position)
        .map_err(|source| ClaimError::Fence {
            job: job.to_owned(),
            source,
        })?;
    Ok(generation)
}
