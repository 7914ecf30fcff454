//! One experiment (SPEC §6, as far as the stream job goes): fresh topics, the job's processes (with a
//! generated loopback hostfile when there are several), a wait for every worker's readiness line, the
//! producers with a shared base time, and the job's exit once every producer has ended.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use adstream_common::config::Profile;
use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use crate::broker::free_port;
use crate::collectors::{BrokerProbe, ResultsCollector};
use crate::cpu_meter::CpuMeter;
use crate::hostfile::{self, HostLine, RemoteCommand, is_local};
use crate::latency::LatencyReport;
use crate::processes::{ChildGuard, Line, forward_lines, sibling_binary};
use crate::progress::{Progress, Snapshot};
use crate::report::{EventCounts, ProducerFigures, Report};
use crate::verify;

/// How long the job's workers may take to report that they read their partitions.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the job may take to become ready when some of its processes are started by hand on other
/// hosts.
const REMOTE_READY_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the job may take to finish after the last producer ended, beyond one window.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How far ahead of the job's start the shared base time is set, so the producers start on schedule.
const BASE_LEAD: Duration = Duration::from_secs(2);
/// Stderr lines kept per child to explain a failure.
const KEEP_LINES: usize = 5;

/// The run was interrupted (Ctrl-C or SIGTERM): its children were stopped and a partial report written.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: every child process was stopped; partial report in {0}")]
pub struct Interrupted(pub String);

/// What a run did, as written to `summary.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// Events the producers had delivered.
    pub produced: u64,
    /// Events the job counted.
    pub processed: u64,
    /// Records the job rejected.
    pub rejected: u64,
    /// Late records.
    pub late: u64,
    /// Result records written.
    pub results: u64,
    /// Windows with results.
    pub windows: u64,
    /// Each producer's summary.
    pub producers: Vec<Value>,
    /// Each job process's summary.
    pub job: Vec<Value>,
    /// Per window, when its last source closed it (Unix ms).
    pub closed_at_ms: BTreeMap<u64, u64>,
    /// Job processes started by hand on other hosts: their counts are not in this summary.
    pub remote_processes: u32,
}

impl RunSummary {
    /// Whether the job counted every delivered event (known only when every job process ran here).
    pub fn counted_all(&self) -> bool {
        self.remote_processes > 0 || self.processed == self.produced
    }
}

/// Wall-clock time as Unix milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// Writes a hostfile of `processes` free loopback ports into `dir`.
pub fn local_hostfile(dir: &Path, processes: u32) -> anyhow::Result<PathBuf> {
    let mut text = String::new();
    for _ in 0..processes {
        text.push_str(&format!("127.0.0.1:{}\n", free_port()?));
    }
    let path = dir.join("hostfile");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The children of a run and what they said.
struct Children {
    guards: Vec<ChildGuard>,
    lines: Receiver<Line>,
    sender: mpsc::Sender<Line>,
    last_stderr: BTreeMap<String, Vec<String>>,
    ready: usize,
    summaries: BTreeMap<String, Value>,
    processed: BTreeMap<(String, u64), u64>,
    echo: bool,
    display: Progress,
    interrupted: Arc<AtomicBool>,
}

impl Children {
    fn new(echo: bool, interrupted: Arc<AtomicBool>) -> Self {
        let (sender, lines) = mpsc::channel();
        Self {
            guards: Vec::new(),
            lines,
            sender,
            last_stderr: BTreeMap::new(),
            ready: 0,
            summaries: BTreeMap::new(),
            processed: BTreeMap::new(),
            echo,
            display: Progress::new(),
            interrupted,
        }
    }

    fn spawn(&mut self, name: String, command: &mut Command) -> anyhow::Result<()> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {name}"))?;
        let mut guard = ChildGuard::new(name.clone(), child);
        forward_lines(
            guard.take_stdout().expect("piped"),
            name.clone(),
            false,
            self.sender.clone(),
        );
        forward_lines(
            guard.take_stderr().expect("piped"),
            name,
            true,
            self.sender.clone(),
        );
        self.guards.push(guard);
        Ok(())
    }

    fn handle(&mut self, line: Line) {
        if line.stderr {
            if self.echo {
                self.display
                    .println(&format!("  [{}] {}", line.child, line.text));
            }
            let kept = self.last_stderr.entry(line.child).or_default();
            kept.push(line.text);
            if kept.len() > KEEP_LINES {
                kept.remove(0);
            }
            return;
        }
        let Ok(value) = serde_json::from_str::<Value>(&line.text) else {
            return;
        };
        if value.get("ready").is_some() {
            self.ready += 1;
        }
        if let Some(p) = value.get("progress") {
            let worker = p.get("worker").and_then(Value::as_u64).unwrap_or(0);
            let processed = p.get("processed").and_then(Value::as_u64).unwrap_or(0);
            self.processed
                .insert((line.child.clone(), worker), processed);
        }
        if let Some(summary) = value.get("summary") {
            self.summaries.insert(line.child, summary.clone());
        }
    }

    /// Handles lines for up to `wait`, then fails if a child exited unsuccessfully or the run was
    /// interrupted.
    fn pump(&mut self, wait: Duration) -> anyhow::Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(Interrupted(String::new()).into());
        }
        match self.lines.recv_timeout(wait) {
            Ok(line) => {
                self.handle(line);
                while let Ok(line) = self.lines.try_recv() {
                    self.handle(line);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => unreachable!("the run holds a sender"),
        }
        let mut failed = None;
        for guard in &mut self.guards {
            if let Some(status) = guard.try_status()?
                && !status.success()
            {
                failed = Some((guard.name.clone(), status));
                break;
            }
        }
        if let Some((name, status)) = failed {
            // Take in what it said before it died.
            while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.handle(line);
            }
            let said = self
                .last_stderr
                .get(&name)
                .map(|l| l.join(" | "))
                .unwrap_or_default();
            anyhow::bail!("{name} exited with {status}; its last words: {said}");
        }
        Ok(())
    }

    /// Shows progress from the job's reports and the collectors.
    fn show(&mut self, probe: &BrokerProbe, results: &ResultsCollector) {
        let live = results.live();
        let snapshot = Snapshot {
            sent: probe.seen(),
            processed: self.processed.values().sum(),
            windows: live.windows.load(Ordering::Relaxed),
            latency_last_ms: live.last_ms.load(Ordering::Relaxed),
            latency_max_ms: live.max_ms.load(Ordering::Relaxed),
        };
        self.display.update(snapshot);
    }

    fn all_exited(&mut self, prefix: &str) -> anyhow::Result<bool> {
        for guard in self
            .guards
            .iter_mut()
            .filter(|g| g.name.starts_with(prefix))
        {
            if guard.try_status()?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// How long verification may take to read the topics back.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);

/// Clears the topics (to the profile's partition count) and runs the experiment into `out`: `harness
/// run` itself, a cell of a sweep or a step of a capacity search.
pub fn run_fresh(
    profile: &mut Profile,
    out: &Path,
    echo: bool,
    interrupted: Arc<AtomicBool>,
    broker_pid: Option<u32>,
) -> anyhow::Result<(RunSummary, Report)> {
    std::fs::create_dir_all(out)?;
    crate::topics::Topics::connect(&profile.kafka)?.clear()?;
    run(profile, out, echo, interrupted, broker_pid)
}

/// Runs the experiment of `profile` (topics must exist and be empty), writing `summary.json`,
/// `report.json`, `windows.csv` and `latency.svg` into `out`. When `interrupted` is set, every child is
/// stopped, a partial report is written and the result is an [`Interrupted`] error. `broker_pid`, the
/// local broker's process when the harness started it, lets the report give the broker's CPU use.
pub fn run(
    profile: &mut Profile,
    out: &Path,
    echo: bool,
    interrupted: Arc<AtomicBool>,
    broker_pid: Option<u32>,
) -> anyhow::Result<(RunSummary, Report)> {
    let cpu = CpuMeter::start(broker_pid);
    let dataflow = sibling_binary("dataflow")?;
    let producer = sibling_binary("producer")?;
    let job = profile.job.clone();
    if job.processes > 1 && profile.job.hostfile.is_none() {
        profile.job.hostfile = Some(local_hostfile(out, job.processes)?);
    }
    profile.producers.base_time_ms = Some(unix_ms() + BASE_LEAD.as_millis() as u64);
    let profile_path = out.join("profile.toml");
    std::fs::write(&profile_path, toml::to_string(&*profile)?)?;

    let results = ResultsCollector::start(&profile.kafka)?;
    let probe = BrokerProbe::start(&profile.kafka, profile.producers.count)?;
    let mut children = Children::new(echo, interrupted);
    match drive(
        profile,
        out,
        &dataflow,
        &producer,
        &probe,
        &results,
        &mut children,
    ) {
        Ok(driven) => finish(profile, out, children, results, probe, driven, cpu),
        Err(error) if error.is::<Interrupted>() => {
            children.display.finish();
            let processed: u64 = children.processed.values().sum();
            // Stop every child first: the collectors end once their topics go quiet.
            drop(children);
            let partial = partial_report(profile, processed, results, probe);
            partial.write(out)?;
            Err(Interrupted(out.display().to_string()).into())
        }
        Err(error) => {
            children.display.finish();
            Err(error)
        }
    }
}

/// The job's processes: the hostfile's lines, or one local process when there is no hostfile.
fn job_processes(profile: &Profile) -> anyhow::Result<Vec<HostLine>> {
    let job = &profile.job;
    let Some(path) = job.hostfile.as_ref().filter(|_| job.processes > 1) else {
        return Ok(vec![HostLine {
            process: 0,
            host: "127.0.0.1".to_owned(),
            local: true,
        }]);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read hostfile {}", path.display()))?;
    let lines = hostfile::parse(&text).with_context(|| path.display().to_string())?;
    anyhow::ensure!(
        lines.len() == job.processes as usize,
        "hostfile {} names {} processes but the job has {}",
        path.display(),
        lines.len(),
        job.processes
    );
    anyhow::ensure!(
        lines.iter().any(|l| l.local),
        "hostfile {} names no local process: the harness follows the job through at least one on this \
         machine (127.0.0.1 or localhost)",
        path.display()
    );
    Ok(lines)
}

/// What following a run to the job's exit found.
struct Driven {
    /// Seconds from the first producer's start to the job's exit.
    elapsed_s: f64,
    /// Job processes started by hand on other hosts.
    remote_processes: u32,
}

/// Starts the job and the producers and follows them to the job's exit.
fn drive(
    profile: &Profile,
    out: &Path,
    dataflow: &Path,
    producer: &Path,
    probe: &BrokerProbe,
    results: &ResultsCollector,
    children: &mut Children,
) -> anyhow::Result<Driven> {
    let job = profile.job.clone();
    let profile_path = std::path::absolute(out.join("profile.toml"))?;
    let lines = job_processes(profile)?;
    let remote = lines.iter().filter(|l| !l.local).count() as u32;
    for line in &lines {
        if line.local {
            let mut command = Command::new(dataflow);
            command
                .arg("--config")
                .arg(&profile_path)
                .args(["--process", &line.process.to_string()]);
            children.spawn(format!("job {}", line.process), &mut command)?;
        } else if let Some(hostfile) = &job.hostfile {
            let hostfile = std::path::absolute(hostfile)?;
            let command = RemoteCommand {
                line,
                profile: &profile_path,
                hostfile: &hostfile,
            };
            children.display.println(&command.to_string());
        }
    }
    // Timely connects every process before any worker starts, so the local workers' readiness means the
    // remote processes have joined too.
    let timeout = if remote > 0 {
        let host = profile
            .kafka
            .bootstrap
            .rsplit_once(':')
            .map_or("", |(h, _)| h);
        if is_local(host) {
            children.display.println(&format!(
                "note: the remote processes must reach the broker at {}, a loopback address",
                profile.kafka.bootstrap
            ));
        }
        children.display.println(&format!(
            "waiting up to {}s for {remote} remote job process(es) to join",
            REMOTE_READY_TIMEOUT.as_secs()
        ));
        REMOTE_READY_TIMEOUT
    } else {
        READY_TIMEOUT
    };
    let workers = ((job.processes - remote) * job.workers) as usize;
    let deadline = Instant::now() + timeout;
    while children.ready < workers {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {workers} local job workers were ready within {}s{}",
            children.ready,
            timeout.as_secs(),
            if remote > 0 {
                " (are the remote processes started?)"
            } else {
                ""
            }
        );
        children.pump(Duration::from_millis(100))?;
    }
    let started = Instant::now();
    for id in 0..profile.producers.count {
        let mut command = Command::new(producer);
        command
            .arg("--config")
            .arg(&profile_path)
            .args(["--id", &id.to_string()]);
        children.spawn(format!("producer {id}"), &mut command)?;
    }
    while !children.all_exited("producer")? {
        children.pump(Duration::from_millis(100))?;
        children.show(probe, results);
    }
    let deadline = Instant::now() + DRAIN_TIMEOUT + Duration::from_secs(profile.window.size);
    while !children.all_exited("job")? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the job did not finish within {}s of the last producer's end",
            (DRAIN_TIMEOUT.as_secs() + profile.window.size)
        );
        children.pump(Duration::from_millis(100))?;
        children.show(probe, results);
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    children.display.finish();
    children.pump(Duration::ZERO)?;
    Ok(Driven {
        elapsed_s,
        remote_processes: remote,
    })
}

/// The report of a run that did not finish: what the collectors and the job's progress lines showed.
fn partial_report(
    profile: &Profile,
    processed: u64,
    results: ResultsCollector,
    probe: BrokerProbe,
) -> Report {
    let sent = probe.seen();
    let collected = results.finish(0);
    let broker_delay = probe.finish();
    let observations: Vec<_> = collected.iter().map(|c| c.observation()).collect();
    let latency = LatencyReport::of(&observations);
    let events = EventCounts {
        produced: sent,
        processed,
        ..EventCounts::default()
    };
    let verification = verify::Verification {
        exact: false,
        windows_checked: 0,
        results_expected: 0,
        results_read: collected.len() as u64,
        events: 0,
        mismatch_count: 1,
        mismatches: vec!["interrupted before the run completed: not verified".to_owned()],
    };
    Report::new(
        profile.clone(),
        events,
        &latency,
        &broker_delay,
        Vec::new(),
        0.0,
        verification,
    )
}

/// Collects the summaries, verifies and writes the report of a completed run.
fn finish(
    profile: &Profile,
    out: &Path,
    mut children: Children,
    results: ResultsCollector,
    probe: BrokerProbe,
    driven: Driven,
    cpu: CpuMeter,
) -> anyhow::Result<(RunSummary, Report)> {
    let job = &profile.job;
    // Let the forwarding threads hand over the last lines of the exited children.
    drop(children.sender.clone());
    while let Ok(line) = children.lines.recv_timeout(Duration::from_millis(200)) {
        children.handle(line);
    }

    let mut summary = RunSummary::default();
    let mut windows = std::collections::BTreeSet::new();
    for (child, value) in &children.summaries {
        let count = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
        if child.starts_with("producer") {
            summary.produced += count("delivered");
            summary.producers.push(value.clone());
        } else {
            summary.processed += count("processed");
            summary.rejected += count("rejected");
            summary.late += count("late");
            summary.results += count("results");
            let ids = value
                .get("windows")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            windows.extend(ids.iter().filter_map(Value::as_u64));
            if let Some(closed) = value.get("closed_at_ms").and_then(Value::as_object) {
                for (window, at) in closed {
                    if let (Ok(window), Some(at)) = (window.parse::<u64>(), at.as_u64()) {
                        let latest = summary.closed_at_ms.entry(window).or_insert(at);
                        *latest = (*latest).max(at);
                    }
                }
            }
            summary.job.push(value.clone());
        }
    }
    summary.windows = windows.len() as u64;
    summary.remote_processes = driven.remote_processes;
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    let local = job.processes - summary.remote_processes;
    anyhow::ensure!(
        summary.producers.len() == profile.producers.count as usize
            && summary.job.len() == local as usize,
        "missing summaries: {} of {} producers, {} of {local} local job processes",
        summary.producers.len(),
        profile.producers.count,
        summary.job.len(),
    );
    // The remote processes' result counts are not known here: read until the topic goes quiet.
    let collected = results.finish(if summary.remote_processes == 0 {
        summary.results
    } else {
        u64::MAX
    });
    let broker_delay = probe.finish();
    let observations: Vec<_> = collected.iter().map(|c| c.observation()).collect();
    let latency = LatencyReport::of(&observations);
    let results: Vec<_> = collected.into_iter().map(|c| c.result).collect();
    let verification = verify::verify(
        &profile.kafka,
        profile.producers.count,
        Some(results),
        VERIFY_TIMEOUT,
    )?;
    let events = EventCounts {
        produced: summary.produced,
        processed: summary.processed,
        rejected: summary.rejected,
        late: summary.late,
    };
    let producers = summary
        .producers
        .iter()
        .map(ProducerFigures::from_summary)
        .collect();
    let mut report = Report::new(
        profile.clone(),
        events,
        &latency,
        &broker_delay,
        producers,
        driven.elapsed_s,
        verification,
    );
    report.add_job_share(&observations, &summary.closed_at_ms);
    report.cpu_s = cpu.finish(&summary.job, &summary.producers);
    report.write(out)?;
    crate::plot::latency_svg(&report, &latency.end_to_end, &out.join("latency.svg"))
        .map_err(|e| anyhow::anyhow!("cannot draw latency.svg: {e}"))?;
    Ok((summary, report))
}
