//! Checkpoints (ARCHITECTURE.md, "Fault tolerance") with real job processes on a real broker: a job
//! killed mid-stream resumes from its checkpoints — with another layout, past a damaged checkpoint
//! — and never from another job's; every result is written exactly once and equals the independent
//! recount.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use adstream_harness::services::broker::free_port;
use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::JobSummary;
use adstream_protocol::validity::EventRules;
use adstream_protocol::window::Windows;
use adstream_protocol::wire::WindowResult;
use adstream_tests::{
    TestBroker, bin, job_summary_of, read_event_records, read_topic, recount, verify_results,
};

/// Events per second per producer, seconds of traffic, window size in seconds.
const RATE: u64 = 2_000;
const DURATION: u64 = 8;
const WINDOW: u64 = 1;

/// A job's stream: two paced producers started now, with their shared base time.
struct Stream {
    t: TestBroker,
    base_ms: u64,
    producers: Vec<Child>,
    dir: PathBuf,
    /// Checkpoints in the broker's checkpoint topic instead of a directory.
    in_topic: bool,
}

impl Stream {
    fn start(name: &str) -> Self {
        let t = TestBroker::with_topics(4);
        let dir = std::env::temp_dir().join(format!("adstream-ckpt-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base_ms = unix_ms() + 1_000;
        let producers = (0..2)
            .map(|id| {
                Command::new(bin("producer"))
                    .args(["--bootstrap", &t.kafka.bootstrap, "--id", &id.to_string()])
                    .args([
                        "--rate",
                        &RATE.to_string(),
                        "--duration",
                        &DURATION.to_string(),
                    ])
                    .args(["--window", &WINDOW.to_string(), "--generator", "uniform"])
                    .args(["--base-time-ms", &base_ms.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start producer")
            })
            .collect();
        Self {
            t,
            base_ms,
            producers,
            dir,
            in_topic: false,
        }
    }

    /// Starts job process `process` of a `processes` × `workers` job with id `job`.
    fn job(&self, job: &str, processes: u32, workers: u32, process: u32, hosts: &Path) -> Child {
        self.job_with(job, (processes, workers, process), hosts, &[])
    }

    /// [`Stream::job`] with more flags.
    fn job_with(&self, job: &str, layout: (u32, u32, u32), hosts: &Path, extra: &[&str]) -> Child {
        let (processes, workers, process) = layout;
        let mut command = Command::new(bin("dataflow"));
        command.args(extra);
        command
            .args(["--bootstrap", &self.t.kafka.bootstrap, "--producers", "2"])
            .args(["--base-time-ms", &self.base_ms.to_string()])
            .args(["--window", &WINDOW.to_string()])
            .args(["--job-id", job, "--checkpoint-interval-ms", "200"]);
        if !self.in_topic {
            command
                .arg("--checkpoint-dir")
                .arg(self.dir.join("checkpoints"));
        }
        command
            .args(["--workers", &workers.to_string()])
            .args(["--processes", &processes.to_string()])
            .args(["--process", &process.to_string()]);
        if processes > 1 {
            command.arg("--hostfile").arg(hosts);
        }
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dataflow")
    }

    /// A hostfile of `n` free loopback ports.
    fn hostfile(&self, n: u32) -> PathBuf {
        let path = self.dir.join(format!("hosts-{n}"));
        let text: String = (0..n)
            .map(|_| format!("127.0.0.1:{}\n", free_port().unwrap()))
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The checkpoint files of job `job` so far.
    fn checkpoints(&self, job: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("checkpoints").join(job))
            .map(|d| {
                d.filter_map(|f| f.ok().map(|f| f.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "ckpt"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Waits until job `job` has written two checkpoints per worker that count events.
    fn wait_for_checkpoints(&self, job: &str, workers: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let counted = self
                .checkpoints(job)
                .iter()
                .filter(|p| {
                    // A checkpoint taken before the worker read anything holds no partitions at
                    // all: it counts no events either.
                    std::fs::read_to_string(p).is_ok_and(|t| {
                        t.contains("\"processed\":") && !t.contains("\"processed\":0,")
                    })
                })
                .count();
            if counted >= 2 * workers {
                return;
            }
            assert!(Instant::now() < deadline, "no checkpoints of {job}");
            std::thread::yield_now();
        }
    }

    /// Waits for the producers, then checks the results topic against the recount: exactly one
    /// right result per (window, campaign).
    fn results_are_exact(mut self) {
        for p in &mut self.producers {
            assert!(p.wait().unwrap().success());
        }
        let records = read_event_records(&self.t.kafka, Duration::from_secs(60), 2);
        let rules = EventRules::new(Windows::new(
            self.base_ms * 1_000_000,
            WINDOW * 1_000_000_000,
        ));
        let expected = recount(&records, rules);
        assert_eq!(expected.events(), 2 * RATE * DURATION);
        let v = verify_results(&self.t.kafka, &expected, Duration::from_secs(30));
        assert!(v.exact, "{:?}", v.mismatches);
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

/// Waits for a job process to end; its stderr and summary.
fn finished(child: Child) -> (Output, JobSummary) {
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{err}");
    let summary = job_summary_of(&output.stdout).expect("a job summary");
    (output, summary)
}

fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_two_by_two_job_killed_mid_stream_resumes_as_one_process_of_one_worker() {
    let s = Stream::start("relayout");
    let hosts = s.hostfile(2);
    let job: Vec<Child> = (0..2).map(|i| s.job("relayout", 2, 2, i, &hosts)).collect();
    s.wait_for_checkpoints("relayout", 4);
    job.into_iter().for_each(kill);

    let (output, summary) = finished(s.job("relayout", 1, 1, 0, &hosts));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("resumes 4 partition(s)"), "{err}");
    // Its counters continue the killed job's: every event once.
    assert_eq!(summary.counts.processed, 2 * RATE * DURATION, "{err}");
    s.results_are_exact();
}

#[test]
fn a_damaged_newest_checkpoint_is_detected_and_the_one_before_used() {
    let s = Stream::start("damaged");
    let hosts = s.hostfile(1);
    let job = s.job("damaged", 1, 1, 0, &hosts);
    s.wait_for_checkpoints("damaged", 1);
    kill(job);
    let newest = s.checkpoints("damaged").pop().expect("a checkpoint");
    let text = std::fs::read_to_string(&newest).unwrap();
    std::fs::write(
        &newest,
        text.replacen("\"next_offset\":", "\"next_offset\":1", 1),
    )
    .unwrap();

    let (output, summary) = finished(s.job("damaged", 1, 1, 0, &hosts));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("skipping an unusable checkpoint") && err.contains("checksum mismatch"),
        "{err}"
    );
    assert!(err.contains("resumes 4 partition(s)"), "{err}");
    assert_eq!(summary.counts.processed, 2 * RATE * DURATION, "{err}");
    s.results_are_exact();
}

#[test]
fn a_job_never_resumes_another_jobs_checkpoints() {
    let s = Stream::start("identity");
    let hosts = s.hostfile(1);
    let job = s.job("first", 1, 1, 0, &hosts);
    s.wait_for_checkpoints("first", 1);
    kill(job);
    let before = s.checkpoints("first");

    let (output, summary) = finished(s.job("second", 1, 1, 0, &hosts));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("resumes"), "{err}");
    // It counted every event itself, from the start of the topic.
    assert_eq!(summary.counts.processed, 2 * RATE * DURATION, "{err}");
    assert_eq!(
        s.checkpoints("first"),
        before,
        "the other job's checkpoints untouched"
    );
    s.results_are_exact();
}

/// A crash right after a window's first result is written and before its last (the job aborts at a
/// known place: `--crash-after-results 1`): the restarted job writes the other results of the window
/// and not the first again.
#[test]
fn a_crash_between_a_windows_first_and_last_result_writes_each_result_once() {
    let s = Stream::start("midwindow");
    let hosts = s.hostfile(1);
    let crashed = s
        .job_with(
            "midwindow",
            (1, 1, 0),
            &hosts,
            &["--crash-after-results", "1"],
        )
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&crashed.stderr);
    assert!(!crashed.status.success(), "{err}");
    assert!(err.contains("crashing after 1 results"), "{err}");
    let written = read_topic(
        &s.t.kafka.bootstrap,
        &s.t.kafka.results_topic,
        4,
        Duration::from_secs(30),
        |rs| !rs.is_empty(),
    );
    let first: WindowResult = serde_json::from_slice(&written[0].value).unwrap();
    assert_eq!(first.window_id, 0, "the first result of the first window");

    let (output, _) = finished(s.job("midwindow", 1, 1, 0, &hosts));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("resumes 4 partition(s)"), "{err}");
    s.results_are_exact();
}

/// With no directory given, checkpoints go to the broker (`events-checkpoints`): processes on other
/// hosts share nothing else. A job killed mid-stream resumes from there.
#[test]
fn checkpoints_in_the_broker_let_a_job_resume_with_nothing_else_shared() {
    let mut s = Stream::start("topic");
    s.in_topic = true;
    let hosts = s.hostfile(1);
    let job = s.job("in-topic", 1, 1, 0, &hosts);
    // Two checkpoints that count events are in the topic once a reader finds them there.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let records = read_topic_now(&s.t.kafka.bootstrap, "events-checkpoints");
        let counted = records
            .iter()
            .filter(|v| {
                v.contains("in-topic")
                    && v.contains("\"processed\":")
                    && !v.contains("\"processed\":0,")
            })
            .count();
        if counted >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoints in the topic");
        std::thread::yield_now();
    }
    kill(job);

    let (output, summary) = finished(s.job("in-topic", 1, 1, 0, &hosts));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("resumes 4 partition(s) from its checkpoints in topic `events-checkpoints`"),
        "{err}"
    );
    assert_eq!(summary.counts.processed, 2 * RATE * DURATION, "{err}");
    s.results_are_exact();
}

/// The values in `topic` now (none if it does not exist yet).
fn read_topic_now(bootstrap: &str, topic: &str) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    let consumer: BaseConsumer = adstream_kafka::settings::consumer_config(
        &adstream_profile::client::Connection::plain(bootstrap),
    )
    .create()
    .unwrap();
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
        return Vec::new();
    };
    if metadata
        .topics()
        .iter()
        .all(|t| t.error().is_some() || t.partitions().is_empty())
    {
        return Vec::new();
    }
    let Ok((_, high)) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)) else {
        return Vec::new();
    };
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut values = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while (values.len() as i64) < high && Instant::now() < until {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            values.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    values
}
