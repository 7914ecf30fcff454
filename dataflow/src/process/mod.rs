//! One process of the stream job: its configuration completed, its timely [`cluster`], the Kafka edges
//! of its workers made before timely starts (so a broker problem is one error, not a worker that fails
//! while the others wait for it), its [`job_metrics`] endpoint, the workers run (each [`begin`]s by
//! claiming the job and reading back the results already written), and their counts summed and sent to
//! the harness.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adstream_kafka::KafkaError;
use adstream_kafka::metadata::partition_count;
use adstream_kafka::settings::consumer_config;
use adstream_metrics::prometheus_client::registry::Registry;
use adstream_metrics::{Endpoint, Health};
use adstream_profile::profile::{OutputMode, Profile, WindowMode, keys};
use adstream_profile::served::Served;
use adstream_protocol::messages::{ChildMessage, JobCounts, JobSummary, PeerSilence, WorkerReady};
use adstream_protocol::outbox::Outbox;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::core::assignment::partitions_of;
use crate::core::checkpoint::PartitionCheckpoint;
use crate::core::progress::Progress;
use crate::core::watermark::{BoundedProgress, ExactProgress, IdleClose};
use crate::core::window_state::WindowState;
use crate::edges::RecordReader as _;
use crate::kafka::checkpoint_topic::TopicStore;
use crate::kafka::fence_topic::TopicFence;
use crate::kafka::reader::KafkaReader;
use crate::kafka::topics::create_dead_letter_topic;
use crate::kafka::writers::{KafkaDeadLetters, KafkaResults};
use crate::operators::board::WorkerBoard;
use crate::operators::checkpointing::Checkpointer;
use crate::operators::job::{Edges, PeerSilent, Peers, Stopped, run_worker};
use crate::operators::source::{Emit, Vitals};
use begin::Claiming;
use checkpoint_place::{Place, checkpoint_place, fence_at, load_checkpoints, store_at};
use cluster::timely_config;
pub use error::ProcessError;
use job_metrics::JobMetrics;
use progress_messages::ProgressMessages;

pub mod begin;
pub mod checkpoint_place;
pub mod cluster;
pub mod error;
pub mod job_metrics;
pub mod lost_peer;
pub mod progress_messages;

/// The profile checked for this process (exact mode needs the run's base time; bounded mode infers it
/// from the events when it is not given) and its timely configuration.
pub fn configure(profile: Profile) -> Result<(Profile, timely::Config), ProcessError> {
    let config = timely_config(&profile.job)?;
    if profile.event_rules().is_none() {
        return Err(keys::producers::base_time_ms
            .invalid("must be given: exact mode needs the run's base time (the harness passes it)")
            .into());
    }
    Ok((profile, config))
}

/// The edges of every worker of this process, made before timely starts so that a broker problem is
/// one error here rather than a worker that fails while the others wait for it.
pub(crate) type WorkerEdges = Edges<KafkaReader, KafkaDeadLetters, KafkaResults>;

/// This process's metrics endpoint, when `metrics.job` asks for one: every worker's board, served.
struct Serving {
    endpoint: Endpoint,
    linger: Duration,
}

/// Serves the metrics of this process's workers at its `metrics.job` address, if there is one, with
/// the boards they publish on, in worker order (none when nothing is served, so that workers publish
/// nothing).
fn serve_metrics(
    profile: &Profile,
) -> Result<(Option<Serving>, Vec<Arc<WorkerBoard>>), ProcessError> {
    let process = profile.job.process;
    let Some(address) = profile.metrics.address(Served::Job, process) else {
        return Ok((None, Vec::new()));
    };
    let first = process * profile.job.workers;
    let boards: Vec<Arc<WorkerBoard>> = (first..first + profile.job.workers)
        .map(|worker| Arc::new(WorkerBoard::new(worker)))
        .collect();
    let k = &profile.kafka;
    let metrics = JobMetrics::new(process, boards.clone(), &k.connection(), &k.events_topic)?;
    let mut registry = Registry::default();
    registry.register_collector(Box::new(metrics));
    // Unhealthy once a worker's loop or a peer has been quiet for half the liveness limit: before
    // the process gives up on the peer at the full limit.
    let within_ms = profile.job.liveness_timeout_ms / 2;
    let watched = boards.clone();
    let health: Health = Arc::new(move || {
        let now_ms = adstream_protocol::clock::unix_ms();
        watched.iter().try_for_each(|b| b.health(now_ms, within_ms))
    });
    let endpoint = Endpoint::serve_with_health(&address.to_string(), registry, health)?;
    eprintln!("dataflow process {process}: metrics at {}", endpoint.url());
    let serving = Serving {
        endpoint,
        linger: profile.metrics.linger(),
    };
    Ok((Some(serving), boards))
}

/// One worker's start: its edges, and the checkpoints of its partitions to resume from.
struct WorkerStart {
    edges: WorkerEdges,
    resume: Vec<PartitionCheckpoint>,
}

/// How this process starts, beyond its profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Ignore the job's checkpoints and start from the beginning.
    pub fresh: bool,
    /// Fault injection: abort the process right before writing result N + 1, once the N written are
    /// delivered (a crash between a window's first and last result).
    pub crash_after_results: Option<u64>,
}

fn starts_of_this_process(
    profile: &Profile,
    partitions: u32,
    options: RunOptions,
    boards: &[Arc<WorkerBoard>],
) -> Result<Vec<WorkerStart>, ProcessError> {
    let k = &profile.kafka;
    let job = &profile.job;
    let peers = (job.processes * job.workers) as usize;
    let first = (job.process * job.workers) as usize;
    let kafka = k.connection();
    let loaded = load_checkpoints(profile, options.fresh)?;
    if let Some((_, Place::Topic)) = checkpoint_place(profile) {
        TopicStore::ensure_topic(&kafka, &TopicStore::topic_of(&k.events_topic))?;
        TopicStore::ensure_topic(&kafka, &TopicFence::topic_of(&k.events_topic))?;
    }
    (first..first + job.workers as usize)
        .map(|worker| {
            let mine = partitions_of(worker, peers, partitions);
            let resume: Vec<PartitionCheckpoint> = mine
                .iter()
                .filter_map(|p| loaded.partitions.get(p).cloned())
                .collect();
            let starts: BTreeMap<i32, i64> = resume
                .iter()
                .map(|e| (e.partition, e.replay_from))
                .collect();
            let checkpoints = match checkpoint_place(profile) {
                Some((id, place)) => Some(Checkpointer::new(
                    store_at(profile, id, place)?,
                    id,
                    worker as u32,
                    Duration::from_millis(job.checkpoint_interval_ms),
                )),
                None => None,
            };
            let edges = Edges {
                reader: KafkaReader::assign(&kafka, &k.events_topic, mine, &starts)?,
                dead_letters: KafkaDeadLetters::new(&kafka, &k.dlq_topic())?,
                results: KafkaResults::new(&kafka, &k.results_topic)?
                    .crash_after(options.crash_after_results),
                checkpoints,
                metrics: boards.get(worker - first).cloned(),
                peers: (job.processes > 1).then_some(Peers {
                    process: job.process,
                    processes: job.processes,
                    limit: Duration::from_millis(job.liveness_timeout_ms),
                }),
                fence: match checkpoint_place(profile) {
                    Some((id, place)) => Some(fence_at(profile, id, place)?),
                    None => None,
                },
            };
            Ok(WorkerStart { edges, resume })
        })
        .collect()
}

/// How a worker ended before its work was done.
enum WorkerEnd {
    /// It stopped: a peer went silent, or the job was taken over.
    Stopped(Stopped),
    /// It could not begin.
    Failed(ProcessError),
}

/// This process gives up on the peer its worker found `silent`: it tells the harness, which puts the
/// fault on the peer rather than on this process, and names the peer by its hostfile address.
fn gave_up(
    outbox: &Outbox,
    process: u32,
    silent: PeerSilent,
    addresses: &[String],
) -> ProcessError {
    let _ = outbox.send(&ChildMessage::PeerSilent(PeerSilence {
        process,
        peer: silent.peer,
        silent_ms: silent.silent_for.as_millis() as u64,
    }));
    let address = addresses
        .get(silent.peer as usize)
        .cloned()
        .unwrap_or_default();
    ProcessError::PeerSilent { silent, address }
}

/// Runs this process's workers to the end of the input, sending the harness their readiness, progress
/// and the process's summary; fails when some delivery failed.
pub fn run(
    profile: Profile,
    config: timely::Config,
    options: RunOptions,
) -> Result<(), ProcessError> {
    let k = profile.kafka.clone();
    // Fail fast, with one line, before timely connects the processes.
    adstream_kafka::metadata::reach(&k.connection())?;
    let probe: BaseConsumer = consumer_config(&k.connection())
        .create()
        .map_err(KafkaError::client("create consumer"))?;
    let partitions = partition_count(probe.client(), &k.bootstrap, &k.events_topic)?;
    partition_count(probe.client(), &k.bootstrap, &k.results_topic)?;
    match partition_count(probe.client(), &k.bootstrap, &k.dlq_topic()) {
        Err(KafkaError::MissingTopic { .. }) if k.create_dlq => {
            create_dead_letter_topic(&k.connection(), &k.dlq_topic(), partitions, k.replication)?;
        }
        other => {
            other?;
        }
    }
    drop(probe);
    // From here on stdout carries only messages; timely's own prints go to stderr.
    let outbox = Arc::new(Outbox::claim_stdout().map_err(ProcessError::Stdout)?);
    let to_harness = Arc::clone(&outbox);
    let (serving, boards) = serve_metrics(&profile)?;
    let starts: Vec<Mutex<Option<WorkerStart>>> =
        starts_of_this_process(&profile, partitions, options, &boards)?
            .into_iter()
            .map(|e| Mutex::new(Some(e)))
            .collect();

    let rules = profile
        .event_rules()
        .expect("configure() checked that the rules are known");
    let producers: Vec<u32> = (0..profile.producers.count).collect();
    let process = profile.job.process;
    let first = (process * profile.job.workers) as usize;
    let addresses = match &config.communication {
        timely::CommunicationConfig::Cluster { addresses, .. } => addresses.clone(),
        _ => Vec::new(),
    };
    if addresses.len() > 1 {
        lost_peer::end_when_a_peer_is_lost(process, addresses.clone(), Arc::clone(&outbox));
    }
    // Each worker says how it ended as it ends, so a peer found silent ends the process at once:
    // joining the workers would wait for timely's network threads, which never end while the peer
    // is hung.
    let (ended_tx, ended_rx) = std::sync::mpsc::channel::<Result<(), WorkerEnd>>();
    let workers = profile.job.workers;
    let claiming = Claiming::new(
        checkpoint_place(&profile).map(|(id, _)| id.to_owned()),
        k.connection(),
        &k.results_topic,
    );
    let guards = timely::execute(config, move |worker| {
        let WorkerStart { mut edges, resume } = starts[worker.index() - first]
            .lock()
            .expect("starts lock")
            .take()
            .expect("each worker takes its start once");
        if let Err(failed) = claiming.begin(worker, &mut edges) {
            let _ = ended_tx.send(Err(WorkerEnd::Failed(failed)));
            return None;
        }
        let mine = edges.reader.partitions().to_vec();
        let progress = match profile.job.mode {
            WindowMode::Exact => Progress::Exact(ExactProgress::new(&mine, &producers)),
            WindowMode::Bounded => Progress::Bounded {
                watermark: BoundedProgress::new(
                    &mine,
                    profile.job.max_out_of_orderness_ms * 1_000_000,
                    profile.job.idle_timeout_ms,
                    // Silence counts from the start: a restored partition is quiet only after it.
                    adstream_protocol::clock::unix_ms(),
                )
                .closing_when_idle(IdleClose {
                    after_ms: profile.job.idle_close_ms,
                    exit: profile.job.exit_when_idle,
                }),
                ends: ExactProgress::new(&mine, &producers),
            },
        };
        let mut state = WindowState::new(rules, progress)
            .with_allowed_lateness(profile.job.allowed_lateness_ms * 1_000_000);
        let restored = state.restore(&mine, &resume);
        let start = JobCounts {
            processed: restored.processed,
            rejected: restored.rejected,
            late: restored.late,
            control: restored.control,
            ..JobCounts::default()
        };
        let index = worker.index() as u32;
        let ready = WorkerReady {
            process,
            worker: index,
            partitions: mine,
            processed: start.processed,
        };
        let _ = to_harness.send(&ChildMessage::Ready(ready));
        let to_harness = Arc::clone(&to_harness);
        let mut progress = ProgressMessages::new(process, index);
        let report = move |c: &JobCounts, vitals: Vitals| {
            let _ = to_harness.send(&ChildMessage::Progress(progress.next(c, vitals)));
        };
        let emit = match profile.job.output {
            OutputMode::Append => Emit::Windows,
            OutputMode::Update => Emit::Changes {
                interval_ms: profile.job.update_interval_ms,
            },
        };
        match run_worker(worker, state, edges, emit, start, report) {
            Ok(counts) => {
                let _ = ended_tx.send(Ok(()));
                Some(counts)
            }
            Err(stopped) => {
                let _ = ended_tx.send(Err(WorkerEnd::Stopped(stopped)));
                None
            }
        }
    })
    .map_err(ProcessError::Timely)?;
    for _ in 0..workers {
        match ended_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(end)) => {
                // The network threads may stay blocked on a silent peer, and the other workers wait
                // for this one; the process ends without them.
                std::mem::forget(guards);
                return Err(match end {
                    WorkerEnd::Stopped(Stopped::PeerSilent(silent)) => {
                        gave_up(&outbox, process, silent, &addresses)
                    }
                    WorkerEnd::Stopped(stopped) => ProcessError::Stopped(stopped),
                    WorkerEnd::Failed(failed) => failed,
                });
            }
            // A worker failed without saying how: joining tells.
            Err(_) => break,
        }
    }
    let mut total = JobCounts::default();
    for (i, worker) in guards.join().into_iter().enumerate() {
        let counts = worker.map_err(|e| ProcessError::Worker(i, e))?;
        total += counts.ok_or_else(|| ProcessError::Worker(i, "ended early".into()))?;
    }
    eprintln!(
        "dataflow process {process}: {} events, {} rejected, {} late, {} results in {} windows",
        total.processed,
        total.rejected,
        total.late,
        total.results,
        total.windows.len()
    );
    let failures = total.delivery_failures;
    let summary = JobSummary {
        process,
        counts: total,
        cpu_s: adstream_protocol::cpu::of_this_process(),
    };
    outbox
        .send(&ChildMessage::JobSummary(summary))
        .map_err(ProcessError::Stdout)?;
    if failures > 0 {
        return Err(ProcessError::Deliveries(failures));
    }
    if let Some(Serving { endpoint, linger }) = serving {
        endpoint.serve_until_exit(linger);
    }
    Ok(())
}
