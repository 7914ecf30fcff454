//! Following another engine's job (ARCHITECTURE.md, "Any engine"): start it under its guard with the
//! contract's variables, wait for its ready line, and — once the producers are done — end it the same
//! way for every engine: a closing record on every partition past the last window and the declared
//! lateness, the recount of the events topic, then its results watched until every (window, campaign)
//! with events has an answer that agrees with the recount, or every one has an answer (or the job has
//! exited) and the results have gone quiet, or the finish timeout passes; then the guard stops its
//! whole tree.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::settings::producer_config;
use adstream_profile::profile::Profile;
use adstream_protocol::clock::unix_ms;
use adstream_protocol::exactness::Recount;
use adstream_protocol::once::WrittenOnce;
use adstream_protocol::wire::{CloseMarker, ControlKind, HEADER_KIND};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};

use super::{Follow, PUMP};
use crate::experiment::engine_job::EngineJob;
use crate::experiment::error::RunError;
use crate::experiment::role::Role;
use crate::experiment::supervisor::sibling_binary;
use crate::measure::collectors::RunCollectors;
use crate::measure::verify::{EventsEnd, VerifyPlan, recount_events};
use crate::services::process_tree::TreeMeter;

/// How long the results must stay quiet, once every (window, campaign) has an answer, for an engine's
/// answers that do not all agree to be taken as its last word.
const SETTLE: Duration = Duration::from_secs(3);
/// How long the closing records and the recount may take.
const RECOUNT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the guard may take, beyond the grace period, to report that the tree is gone.
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// How another engine's run ended.
#[derive(Debug)]
pub struct EngineEnd {
    /// The recount of the events topic.
    pub recount: Recount,
    /// Which of our producers' events are in the topic more than once.
    pub once: WrittenOnce,
    /// Whether the events topic showed every end marker.
    pub complete: bool,
    /// Seconds from the producers' schedule's start to the engine's last answer it was waited for.
    pub elapsed_s: f64,
    /// The engine's process tree over the run.
    pub tree: TreeMeter,
}

impl Follow<'_> {
    /// Starts the engine's job under its guard (`harness engine-guard`), in the run's directory.
    pub(super) fn start_engine(&mut self, engine: &EngineJob) -> Result<(), RunError> {
        let profile = self.programs.profile;
        let guard = sibling_binary("harness")?;
        let grace = profile.job.stop_grace_ms.to_string();
        let parent = std::process::id().to_string();
        let args: [&OsStr; 7] = [
            "engine-guard".as_ref(),
            "--grace-ms".as_ref(),
            grace.as_ref(),
            "--parent".as_ref(),
            parent.as_ref(),
            "--".as_ref(),
            engine.command.as_ref(),
        ];
        let dir = self
            .programs
            .profile_path
            .parent()
            .expect("the profile is in the run's directory");
        self.display
            .println(&format!("starting {}: {}", engine.name, engine.command));
        self.ledger.expect_engine(&profile.job.ready_line);
        let patience = Duration::from_millis(profile.job.stop_grace_ms) + STOP_MARGIN;
        self.supervisor
            .spawn_in(Role::Engine, &guard, &args, dir, &engine.env, patience)?;
        self.tree = self.supervisor.pid(Role::Engine).map(TreeMeter::of);
        Ok(())
    }

    /// Waits for the engine's ready line (within `job.ready_timeout_s`); fails at once when it exits.
    pub(super) fn wait_engine_ready(&mut self) -> Result<(), RunError> {
        let job = &self.programs.profile.job;
        let deadline = Instant::now() + Duration::from_secs(job.ready_timeout_s);
        while !self.ledger.engine_ready() {
            self.pump(PUMP)?;
            if self.supervisor.all_exited(|r| r == Role::Engine)? {
                return Err(RunError::EngineEnded {
                    stage: "before it said it reads",
                    last_words: self.ledger.last_words(Role::Engine),
                });
            }
            if Instant::now() >= deadline {
                return Err(RunError::EngineNotReady {
                    ready_line: job.ready_line.clone(),
                    timeout_s: job.ready_timeout_s,
                    last_words: self.ledger.last_words(Role::Engine),
                });
            }
        }
        Ok(())
    }

    /// Ends the engine's run once the producers are done (the module's doc says how) and stops it.
    pub(super) fn finish_engine(
        &mut self,
        collectors: &RunCollectors,
        started: Instant,
        started_unix_ms: u64,
    ) -> Result<EngineEnd, RunError> {
        let profile = self.programs.profile;
        let deadline = Instant::now() + Duration::from_secs(profile.job.finish_timeout_s);
        write_closing_records(profile)?;
        let plan = VerifyPlan {
            kafka: &profile.kafka,
            end: EventsEnd::EndMarkers(profile.producers.count),
            rules: profile.event_rules().expect("our producers give the base"),
            timeout: RECOUNT_TIMEOUT,
        };
        let (recount, once, complete) = recount_events(&plan, Instant::now() + RECOUNT_TIMEOUT)?;
        let answers = collectors.results.answers();
        let mut quiet_since = (collectors.results.records(), Instant::now());
        let mut last_answer = Instant::now();
        loop {
            self.pump(PUMP)?;
            self.show(collectors, true);
            let records = collectors.results.records();
            if records != quiet_since.0 {
                quiet_since = (records, Instant::now());
                last_answer = Instant::now();
            }
            // A job that has exited writes nothing more: judge what it wrote.
            let gone = self.supervisor.all_exited(|r| r == Role::Engine)?;
            let answers = answers.lock().expect("answers lock");
            if answers.all_agree(&recount) {
                break;
            }
            let missing = answers.missing(&recount);
            if (missing.is_empty() || gone) && quiet_since.1.elapsed() >= SETTLE {
                break;
            }
            if Instant::now() >= deadline {
                return Err(RunError::EngineUnfinished {
                    timeout_s: profile.job.finish_timeout_s,
                    missing: missing.len(),
                    expected: recount.tallies().len(),
                    first: missing
                        .iter()
                        .take(3)
                        .map(|(w, c)| format!("window {w} campaign {c}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        // The producers may wait for their schedule's base after the engine is ready: the run counts
        // from whichever is later.
        let base_ms = profile.producers.base_time_ms.unwrap_or_default();
        let waited = Duration::from_millis(base_ms.saturating_sub(started_unix_ms));
        let elapsed_s = last_answer
            .saturating_duration_since(started + waited)
            .as_secs_f64();
        self.stop_engine()?;
        Ok(EngineEnd {
            recount,
            once,
            complete,
            elapsed_s,
            tree: self.tree.unwrap_or_default(),
        })
    }

    /// Asks the engine's guard to stop the tree and waits for it (the grace period and a margin).
    fn stop_engine(&mut self) -> Result<(), RunError> {
        self.supervisor.terminate(Role::Engine);
        let grace = Duration::from_millis(self.programs.profile.job.stop_grace_ms);
        let deadline = Instant::now() + grace + STOP_MARGIN;
        while !self.supervisor.all_exited(|r| r == Role::Engine)? && Instant::now() < deadline {
            for line in self.supervisor.lines(PUMP) {
                self.take(line)?;
            }
        }
        // Whatever is left goes with the guard (SIGKILL when it is dropped).
        self.supervisor.remove(|r| r == Role::Engine);
        Ok(())
    }
}

/// Writes one closing record to every partition of the events topic: an event time past the end of
/// the last window the producers covered and the job's declared lateness.
fn write_closing_records(profile: &Profile) -> Result<(), KafkaError> {
    let k = &profile.kafka;
    let windows = profile
        .event_rules()
        .and_then(|r| r.windows())
        .expect("our producers give the base");
    let end_ns = profile
        .producers
        .base_time_ms
        .map_or(0, |b| (b + profile.producers.duration * 1_000) * 1_000_000);
    let last = windows.window_of(end_ns.saturating_sub(1)).unwrap_or(0);
    let lateness_ns = profile.job.lateness_ms.unwrap_or(0) * 1_000_000;
    let event_time_ns = windows.end_ns(last) + lateness_ns + 1_000_000;
    let marker = CloseMarker {
        event_time_ns,
        window_id: windows.window_of(event_time_ns).unwrap_or(last + 1),
        produce_time: unix_ms(),
    };
    let value = serde_json::to_vec(&marker).expect("markers serialise");
    let producer: BaseProducer = producer_config(&k.connection())
        .create()
        .map_err(KafkaError::client("create the closing records' producer"))?;
    for partition in 0..k.partitions as i32 {
        let headers = OwnedHeaders::new().insert(Header {
            key: HEADER_KIND,
            value: Some(ControlKind::Close.as_str()),
        });
        producer
            .send(
                BaseRecord::<(), _>::to(&k.events_topic)
                    .partition(partition)
                    .payload(&value)
                    .headers(headers),
            )
            .map_err(|(e, _)| KafkaError::client("send a closing record")(e))?;
    }
    producer
        .flush(Duration::from_secs(30))
        .map_err(KafkaError::client("deliver the closing records"))
}
