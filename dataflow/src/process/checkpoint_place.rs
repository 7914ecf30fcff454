//! Where this job's checkpoints and its incarnations' claims are kept — a directory every process
//! reaches, or topics of the broker — and loading the newest checkpoint of each partition when a
//! process starts.

use adstream_profile::profile::Profile;

use crate::core::checkpoint::Loaded;
use crate::edges::fence_dir::DirFence;
use crate::edges::{CheckpointStore, Fence, checkpoint_dir::DirStore};
use crate::kafka::checkpoint_topic::TopicStore;
use crate::kafka::fence_topic::TopicFence;
use crate::process::error::ProcessError;

/// Where a job's checkpoints are kept.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// In a directory every process of the job reaches (`job.checkpoint_dir`).
    Dir(&'a std::path::Path),
    /// In the checkpoint topic of the broker (the default).
    Topic,
}

/// The job's id and where its checkpoints are, when it has an id and takes checkpoints.
pub fn checkpoint_place(profile: &Profile) -> Option<(&str, Place<'_>)> {
    if profile.job.checkpoint_interval_ms == 0 {
        return None;
    }
    let id = profile.job.id.as_deref()?;
    let place = profile
        .job
        .checkpoint_dir
        .as_deref()
        .map_or(Place::Topic, Place::Dir);
    Some((id, place))
}

/// A store for this job's checkpoints at `place`.
pub fn store_at(
    profile: &Profile,
    id: &str,
    place: Place<'_>,
) -> Result<Box<dyn CheckpointStore>, ProcessError> {
    Ok(match place {
        Place::Dir(dir) => Box::new(DirStore::new(dir, id).map_err(ProcessError::Checkpoints)?),
        Place::Topic => Box::new(TopicStore::new(
            &profile.kafka.connection(),
            &TopicStore::topic_of(&profile.kafka.events_topic),
        )?),
    })
}

/// The fence of this job at `place`: next to its checkpoints.
pub fn fence_at(
    profile: &Profile,
    id: &str,
    place: Place<'_>,
) -> Result<Box<dyn Fence>, ProcessError> {
    Ok(match place {
        Place::Dir(dir) => Box::new(DirFence::new(dir, id).map_err(ProcessError::Checkpoints)?),
        Place::Topic => Box::new(TopicFence::new(
            &profile.kafka.connection(),
            &TopicFence::topic_of(&profile.kafka.events_topic),
        )),
    })
}

/// The newest checkpoint of every partition of this job, unless `fresh` (reporting unusable files).
pub fn load_checkpoints(profile: &Profile, fresh: bool) -> Result<Loaded, ProcessError> {
    let Some((job, place)) = checkpoint_place(profile).filter(|_| !fresh) else {
        return Ok(Loaded::default());
    };
    let topic = TopicStore::topic_of(&profile.kafka.events_topic);
    let (loaded, from) = match place {
        Place::Dir(dir) => (
            DirStore::load(dir, job).map_err(ProcessError::Checkpoints)?,
            dir.display().to_string(),
        ),
        Place::Topic => (
            TopicStore::load(&profile.kafka.connection(), &topic, job)?,
            format!("topic `{topic}`"),
        ),
    };
    for corrupt in &loaded.corrupt {
        eprintln!("dataflow: skipping an unusable checkpoint: {corrupt}");
    }
    if !loaded.partitions.is_empty() {
        eprintln!(
            "dataflow: job {job} resumes {} partition(s) from its checkpoints in {from}",
            loaded.partitions.len(),
        );
    }
    Ok(loaded)
}
