//! What the children of a run have said: their typed messages (readiness, progress, summaries) and
//! their last stderr lines, kept to explain a failure. A stdout line that is not a message, or a
//! message the child never sends, is an error that names the child and what is wrong.

use std::collections::{BTreeMap, VecDeque};

use adstream_protocol::messages::{ChildMessage, JobSummary, PeerSilence, ProducerSummary};

use crate::experiment::error::RunError;
use crate::experiment::role::Role;
use crate::experiment::supervisor::Line;

/// Stderr lines kept per child to explain a failure.
const KEEP_LINES: usize = 5;

/// What the children said so far.
#[derive(Debug, Default)]
pub struct Ledger {
    ready: usize,
    processed: BTreeMap<(u32, u32), u64>,
    replayed: BTreeMap<(u32, u32), u64>,
    sent: BTreeMap<u32, u64>,
    /// Per producer, how far behind its schedule its latest progress said it was, ms.
    behind_ms: BTreeMap<u32, u64>,
    job_summaries: BTreeMap<u32, JobSummary>,
    /// When the last of the current incarnation's job summaries arrived.
    last_job_summary_at: Option<std::time::Instant>,
    producer_summaries: BTreeMap<u32, ProducerSummary>,
    /// Peers the current incarnation's processes gave up on, as they said.
    peer_silences: Vec<PeerSilence>,
    last_stderr: BTreeMap<Role, VecDeque<String>>,
}

impl Ledger {
    /// Takes one line a child wrote: a message on stdout, or words for people on stderr.
    pub fn take(&mut self, line: Line) -> Result<(), RunError> {
        if line.stderr {
            let kept = self.last_stderr.entry(line.child).or_default();
            kept.push_back(line.text);
            if kept.len() > KEEP_LINES {
                kept.pop_front();
            }
            return Ok(());
        }
        let child = line.child;
        let message = ChildMessage::parse(&line.text)
            .map_err(|error| RunError::Unreadable { child, error })?;
        match (child, message) {
            (Role::Job(_), ChildMessage::Ready(_)) => self.ready += 1,
            (Role::Job(_), ChildMessage::Progress(p)) => {
                self.processed.insert((p.process, p.worker), p.processed);
                self.replayed.insert((p.process, p.worker), p.replayed);
            }
            (Role::Job(_), ChildMessage::PeerSilent(s)) => {
                self.peer_silences.push(s);
            }
            (Role::Job(process), ChildMessage::JobSummary(s)) => {
                self.job_summaries.insert(process, s);
                self.last_job_summary_at = Some(std::time::Instant::now());
            }
            (Role::Producer(id), ChildMessage::ProducerProgress(p)) => {
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
        self.processed.clear();
        self.replayed.clear();
        self.job_summaries.clear();
        self.last_job_summary_at = None;
        self.peer_silences.clear();
    }

    /// Forgets how far behind producer `id` was: it failed and starts again.
    pub fn producer_restarted(&mut self, id: u32) {
        self.behind_ms.remove(&id);
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
        let from_progress: u64 = self.processed.values().sum();
        let from_summaries: u64 = self
            .job_summaries
            .values()
            .map(|s| s.counts.processed)
            .sum();
        from_progress.max(from_summaries)
    }

    /// Records the job's current incarnation read again to rebuild its open windows.
    pub fn replayed(&self) -> u64 {
        self.replayed.values().sum()
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
                })
                .unwrap();
        }
        assert_eq!(
            ledger.last_words(Role::Producer(0)),
            "line 2 | line 3 | line 4 | line 5 | line 6"
        );
    }
}
