//! What the children of a run have said: their typed messages (readiness, progress, summaries) and
//! their last stderr lines, kept to explain a failure. A stdout line that is not a message, or a
//! message the child never sends, is an error that names the child and what is wrong.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use adstream_protocol::messages::{
    ChildMessage, JobSummary, PeerSilence, ProducerSummary, WorkerProgress,
};

use crate::experiment::error::RunError;
use crate::experiment::role::Role;
use crate::experiment::supervisor::Line;

/// Stderr lines kept per child to explain a failure.
const KEEP_LINES: usize = 5;

/// What the children said so far.
#[derive(Debug, Default)]
pub struct Ledger {
    ready: usize,
    /// Each worker's latest progress, by (process, worker).
    progress: BTreeMap<(u32, u32), WorkerProgress>,
    /// Checkpoints the job's earlier incarnations took.
    earlier_checkpoints: u64,
    /// When each window closed, by every incarnation's progress (the latest source to close it).
    closed_at_ms: BTreeMap<u64, u64>,
    sent: BTreeMap<u32, u64>,
    /// Per producer, how far behind its schedule its latest progress said it was, ms.
    behind_ms: BTreeMap<u32, u64>,
    job_summaries: BTreeMap<u32, JobSummary>,
    /// When the last of the current incarnation's job summaries arrived.
    last_job_summary_at: Option<std::time::Instant>,
    producer_summaries: BTreeMap<u32, ProducerSummary>,
    /// The rate of each counter between its latest two reports.
    rates: BTreeMap<Counter, Rate>,
    /// Peers the current incarnation's processes gave up on, as they said.
    peer_silences: Vec<PeerSilence>,
    last_stderr: BTreeMap<Role, VecDeque<String>>,
    /// Another engine's readiness: the text of its ready line, and whether it has written it.
    engine_ready: Option<(String, bool)>,
}

impl Ledger {
    /// Expects another engine as the run's job, which says it reads with a line containing
    /// `ready_line`. Its lines are words, on either stream, never messages.
    pub fn expect_engine(&mut self, ready_line: &str) {
        self.engine_ready = Some((ready_line.to_owned(), false));
    }

    /// Whether the other engine has said it reads.
    pub fn engine_ready(&self) -> bool {
        self.engine_ready.as_ref().is_some_and(|(_, ready)| *ready)
    }

    /// Takes one line a child wrote: a message on stdout, or words for people on stderr.
    pub fn take(&mut self, line: Line) -> Result<(), RunError> {
        if line.child == Role::Engine
            && let Some((text, ready)) = &mut self.engine_ready
        {
            *ready |= line.text.contains(text.as_str());
        }
        if line.stderr || line.child == Role::Engine {
            let kept = self.last_stderr.entry(line.child).or_default();
            kept.push_back(line.text);
            if kept.len() > KEEP_LINES {
                kept.pop_front();
            }
            return Ok(());
        }
        let (child, at) = (line.child, line.at);
        let message = ChildMessage::parse(&line.text)
            .map_err(|error| RunError::Unreadable { child, error })?;
        match (child, message) {
            (Role::Job(_), ChildMessage::Ready(r)) => {
                self.ready += 1;
                // A restarted worker's first progress is timed from here, catch-up included.
                let mut rate = Rate::default();
                rate.report(r.processed, at);
                self.rates
                    .insert(Counter::Worker(r.process, r.worker), rate);
            }
            (Role::Job(_), ChildMessage::Progress(p)) => {
                note_closed(&mut self.closed_at_ms, &p.closed_at_ms);
                let counter = Counter::Worker(p.process, p.worker);
                self.rates
                    .entry(counter)
                    .or_default()
                    .report(p.processed, at);
                self.progress.insert((p.process, p.worker), p);
            }
            (Role::Job(_), ChildMessage::PeerSilent(s)) => {
                self.peer_silences.push(s);
            }
            (Role::Job(process), ChildMessage::JobSummary(s)) => {
                note_closed(&mut self.closed_at_ms, &s.counts.closed_at_ms);
                self.job_summaries.insert(process, s);
                self.last_job_summary_at = Some(std::time::Instant::now());
            }
            (Role::Producer(id), ChildMessage::ProducerProgress(p)) => {
                let counter = Counter::Producer(id);
                self.rates.entry(counter).or_default().report(p.sent, at);
                self.sent.insert(id, p.sent);
                self.behind_ms.insert(id, p.behind_ms);
            }
            (Role::Producer(id), ChildMessage::ProducerSummary(s)) => {
                self.sent.insert(id, s.events);
                self.producer_summaries.insert(id, s);
            }
            (child, message) => {
                return Err(RunError::Misplaced {
                    child,
                    kind: kind_of(&message),
                });
            }
        }
        Ok(())
    }

    /// Forgets what the job's processes said: they were stopped and start again.
    pub fn new_incarnation(&mut self) {
        self.ready = 0;
        self.earlier_checkpoints = self.checkpoints();
        self.progress.clear();
        self.rates.retain(|c, _| matches!(c, Counter::Producer(_)));
        self.job_summaries.clear();
        self.last_job_summary_at = None;
        self.peer_silences.clear();
    }

    /// Forgets how far behind producer `id` was: it failed and starts again.
    pub fn producer_restarted(&mut self, id: u32) {
        self.behind_ms.remove(&id);
        self.rates.remove(&Counter::Producer(id));
    }

    /// Per producer, how far behind its schedule it was at its latest progress, ms.
    pub fn producers_behind_ms(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.behind_ms.iter().map(|(&id, &ms)| (id, ms))
    }

    /// When the job's work ended: the arrival of the last summary of its `processes` processes (a
    /// process may go on serving its metrics after it), or `None` while some are missing.
    pub fn job_finished_at(&self, processes: usize) -> Option<std::time::Instant> {
        self.last_job_summary_at
            .filter(|_| self.job_summaries.len() >= processes)
    }

    /// The peer job process `process` gave up on, if it said so.
    pub fn peer_silence_from(&self, process: u32) -> Option<PeerSilence> {
        self.peer_silences
            .iter()
            .copied()
            .find(|s| s.process == process)
    }

    /// Whether job process `process` of the current incarnation has sent its summary.
    pub fn summarized(&self, process: u32) -> bool {
        self.job_summaries.contains_key(&process)
    }

    /// Job workers that have said they read their partitions.
    pub fn ready_workers(&self) -> usize {
        self.ready
    }

    /// Events the job has counted, by its workers' latest progress (or their processes' summaries).
    pub fn processed(&self) -> u64 {
        let from_progress: u64 = self.progress.values().map(|p| p.processed).sum();
        let from_summaries: u64 = self
            .job_summaries
            .values()
            .map(|s| s.counts.processed)
            .sum();
        from_progress.max(from_summaries)
    }

    /// Records the job's current incarnation read again to rebuild its open windows.
    pub fn replayed(&self) -> u64 {
        self.progress.values().map(|p| p.replayed).sum()
    }

    /// Events per second the producers sent and the job counted at `now`, each counter's rate
    /// between its latest two reports (timed as they arrived); a counter not heard from for
    /// [`RATE_STALE`] counts 0.
    pub fn rates(&self, now: Instant) -> (f64, f64) {
        let mut rates = (0.0, 0.0);
        for (counter, rate) in &self.rates {
            let per_s = rate.per_s(now);
            match counter {
                Counter::Producer(_) => rates.0 += per_s,
                Counter::Worker(..) => rates.1 += per_s,
            }
        }
        rates
    }

    /// The job's consumer lag: records in the events topic its workers have not read, by the ends
    /// their consumers last heard of (`None` while none knows an end).
    pub fn lag(&self) -> Option<u64> {
        self.progress
            .values()
            .filter_map(|p| p.lag)
            .reduce(|a, b| a + b)
    }

    /// The job's event time, Unix ms: the lowest of those its workers know (a worker without
    /// partitions, or whose input is over, knows none).
    pub fn event_time_ms(&self) -> Option<u64> {
        self.progress.values().filter_map(|p| p.event_time_ms).min()
    }

    /// Checkpoints the job took, every incarnation's.
    pub fn checkpoints(&self) -> u64 {
        self.earlier_checkpoints + self.progress.values().map(|p| p.checkpoints).sum::<u64>()
    }

    /// When each window closed so far (Unix ms).
    pub fn closed_at_ms(&self) -> &BTreeMap<u64, u64> {
        &self.closed_at_ms
    }

    /// Events the producers have sent, by their own count.
    pub fn sent(&self) -> u64 {
        self.sent.values().sum()
    }

    /// The last stderr lines of `child`, joined.
    pub fn last_words(&self, child: Role) -> String {
        self.last_stderr
            .get(&child)
            .map(|lines| {
                lines
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .unwrap_or_default()
    }

    /// The summaries received, producers' and job processes', in id order.
    pub fn summaries(&self) -> (Vec<ProducerSummary>, Vec<JobSummary>) {
        (
            self.producer_summaries.values().cloned().collect(),
            self.job_summaries.values().cloned().collect(),
        )
    }
}

/// Adds `closed` (window → when a source closed it) to `into`, keeping the latest per window, as
/// [`adstream_protocol::messages::JobCounts`] sums them.
fn note_closed(into: &mut BTreeMap<u64, u64>, closed: &BTreeMap<u64, u64>) {
    for (&window, &at) in closed {
        let latest = into.entry(window).or_insert(at);
        *latest = (*latest).max(at);
    }
}

/// How long a counter's rate stands without a new report (its reports come about once a second).
pub const RATE_STALE: Duration = Duration::from_millis(2_500);

/// A counter that reports: a job worker's events counted, a producer's events sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Counter {
    Worker(u32, u32),
    Producer(u32),
}

/// A counter's latest report and its rate since the one before.
#[derive(Debug, Clone, Copy, Default)]
struct Rate {
    last: Option<(Instant, u64)>,
    per_s: f64,
}

impl Rate {
    fn report(&mut self, count: u64, at: Instant) {
        if let Some((then, before)) = self.last {
            let dt = at.saturating_duration_since(then).as_secs_f64();
            if dt > 0.0 {
                self.per_s = count.saturating_sub(before) as f64 / dt;
            }
        }
        self.last = Some((at, count));
    }

    fn per_s(&self, now: Instant) -> f64 {
        match self.last {
            Some((at, _)) if now.saturating_duration_since(at) <= RATE_STALE => self.per_s,
            _ => 0.0,
        }
    }
}

fn kind_of(message: &ChildMessage) -> &'static str {
    match message {
        ChildMessage::Ready(_) => "ready",
        ChildMessage::Progress(_) => "progress",
        ChildMessage::JobSummary(_) => "job_summary",
        ChildMessage::PeerSilent(_) => "peer_silent",
        ChildMessage::ProducerProgress(_) => "producer_progress",
        ChildMessage::ProducerSummary(_) => "producer_summary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(child: Role, text: &str) -> Line {
        Line {
            child,
            stderr: false,
            text: text.to_owned(),
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn messages_are_tallied_and_a_renamed_field_is_an_error_naming_it() {
        let mut ledger = Ledger::default();
        ledger
            .take(out(
                Role::Job(0),
                r#"{"ready":{"process":0,"worker":0,"partitions":[0]}}"#,
            ))
            .unwrap();
        ledger
            .take(out(
                Role::Job(0),
                r#"{"progress":{"process":0,"worker":0,"processed":7,"results":0,"replayed":0}}"#,
            ))
            .unwrap();
        ledger
            .take(out(
                Role::Producer(1),
                r#"{"producer_progress":{"producer":1,"sent":9}}"#,
            ))
            .unwrap();
        assert_eq!(
            (ledger.ready_workers(), ledger.processed(), ledger.sent()),
            (1, 7, 9)
        );

        let error = ledger
            .take(out(
                Role::Job(0),
                r#"{"progress":{"process":0,"worker":0,"processd":8,"results":0,"replayed":0}}"#,
            ))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "job 0 wrote a line the harness cannot read: unknown field `processd`"
            ),
            "{error}"
        );
        let error = ledger
            .take(out(
                Role::Producer(0),
                r#"{"ready":{"process":0,"worker":0,"partitions":[]}}"#,
            ))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "producer 0 sent a `ready` message, which it never sends"
        );
    }

    #[test]
    fn the_last_stderr_lines_are_kept() {
        let mut ledger = Ledger::default();
        for i in 0..7 {
            ledger
                .take(Line {
                    child: Role::Producer(0),
                    stderr: true,
                    text: format!("line {i}"),
                    at: std::time::Instant::now(),
                })
                .unwrap();
        }
        assert_eq!(
            ledger.last_words(Role::Producer(0)),
            "line 2 | line 3 | line 4 | line 5 | line 6"
        );
    }
}
