//! Metrics (ARCHITECTURE.md, "Metrics"): a whole run with `harness run --metrics-listen` serves the
//! Prometheus text format from every process — the harness, each job process, each producer —
//! scraped over HTTP during the run like Prometheus would (every 100 ms here) and read with an
//! independent parser. The counters rise while the run goes on; the final values (the processes
//! keep serving them for `--metrics-linger-ms`) agree exactly with the run's report: events
//! processed, results written, events sent and acknowledged, every record of each partition read,
//! and no consumer lag left. A restart of the job is counted, and the restarted process serves its
//! resumed counts. Bad addresses are refused in one line.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adstream_harness::services::broker::free_port;
use adstream_tests::scrape::{samples, scrape, total};
use adstream_tests::{TestBroker, bin, run_json};
use prometheus_parse::Scrape;

/// A first port of `n` consecutive free ones.
fn free_ports(n: u16) -> u16 {
    loop {
        let first = free_port().expect("a free port");
        let held: Vec<_> = (first..first.saturating_add(n))
            .map_while(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return first;
        }
    }
}

/// What the scrapes of a run found: every good answer per endpoint, and every bad one.
#[derive(Default)]
struct Scrapes {
    seen: BTreeMap<String, Vec<Scrape>>,
    bad: Vec<String>,
}

/// Scrapes each endpoint every 100 ms until stopped.
fn scrape_until(stop: Arc<AtomicBool>, endpoints: Vec<String>) -> Scrapes {
    let mut scrapes = Scrapes::default();
    while !stop.load(Ordering::Relaxed) {
        for endpoint in &endpoints {
            match scrape(endpoint) {
                Some(Ok(s)) => scrapes.seen.entry(endpoint.clone()).or_default().push(s),
                Some(Err(bad)) => scrapes.bad.push(bad),
                None => {}
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    scrapes
}

/// The runs of this file one at a time: their ports are found free before their processes bind them.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A finished `harness run` with every process's metrics served from `base` on and scraped
/// throughout.
struct ScrapedRun {
    run: std::process::Output,
    out: std::path::PathBuf,
    seen: BTreeMap<String, Vec<Scrape>>,
}

/// Runs `harness run` with `args` against `t`, serving metrics from `base` on — the harness, then the
/// job's processes, then the producers: `endpoints` addresses in all, each scraped every 100 ms until
/// the run exits.
fn scraped_run(t: &TestBroker, base: u16, endpoints: u16, name: &str, args: &[&str]) -> ScrapedRun {
    let endpoints: Vec<String> = (0..endpoints)
        .map(|i| format!("127.0.0.1:{}", base + i))
        .collect();
    let _alone = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (stop, endpoints) = (Arc::clone(&stop), endpoints.clone());
        std::thread::spawn(move || scrape_until(stop, endpoints))
    };
    let out = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
    let harness = format!("127.0.0.1:{base}");
    let run = Command::new(bin("harness"))
        .args(["run", "--bootstrap", &t.kafka.bootstrap])
        .args(args)
        .args([
            "--metrics-listen",
            &harness,
            "--metrics-linger-ms",
            "1500",
            "-v",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let Scrapes { seen, bad } = scraper.join().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(bad.is_empty(), "bad answers: {bad:?}\n{stderr}");
    ScrapedRun { run, out, seen }
}

impl ScrapedRun {
    /// The last scrape of `endpoint`.
    fn last(&self, endpoint: &str) -> &Scrape {
        self.seen
            .get(endpoint)
            .and_then(|s| s.last())
            .unwrap_or_else(|| panic!("{endpoint} was never scraped"))
    }
}

#[test]
fn every_process_serves_metrics_that_rise_and_end_at_the_reports_values() {
    let t = TestBroker::with_topics(4);
    let base = free_ports(5);
    let harness = format!("127.0.0.1:{base}");
    let jobs: Vec<String> = (1..=2).map(|i| format!("127.0.0.1:{}", base + i)).collect();
    let producers: Vec<String> = (3..=4).map(|i| format!("127.0.0.1:{}", base + i)).collect();
    let scraped = scraped_run(
        &t,
        base,
        5,
        "metrics",
        &[
            "--partitions",
            "4",
            "--processes",
            "2",
            "--workers",
            "2",
            "--producers",
            "2",
            "--rate",
            "2000",
            "--duration",
            "10",
        ],
    );
    let (run, out, seen) = (&scraped.run, &scraped.out, &scraped.seen);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // The harness says where to scrape.
    for (name, at) in [
        ("harness", &harness),
        ("job process 0", &jobs[0]),
        ("job process 1", &jobs[1]),
        ("producer 0", &producers[0]),
        ("producer 1", &producers[1]),
    ] {
        let line = format!("metrics: {name} at http://{at}/metrics");
        assert!(stderr.contains(&line), "{line} not in {stderr}");
    }
    let report = run_json(out, "report.json");
    let summary = run_json(out, "summary.json");
    let last = |endpoint: &String| scraped.last(endpoint);

    // The harness: its phases, the last being done, and no restart.
    let phases: Vec<String> = seen[&harness]
        .iter()
        .flat_map(|s| samples(s, "adstream_harness_phase", "phase"))
        .filter(|(_, v)| *v == 1.0)
        .map(|(phase, _)| phase)
        .collect();
    assert!(phases.iter().any(|p| p == "producing"), "{phases:?}");
    assert_eq!(phases.last().map(String::as_str), Some("done"));
    assert_eq!(
        total(last(&harness), "adstream_harness_job_restarts_total"),
        0.0
    );

    // The job: rising counters, then exactly the report's figures.
    let mut processed = 0.0;
    let mut results = 0.0;
    let mut partitions = Vec::new();
    for job in &jobs {
        let totals: Vec<f64> = seen[job]
            .iter()
            .map(|s| total(s, "adstream_job_events_processed_total"))
            .collect();
        assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
        let distinct = totals.windows(2).filter(|w| w[0] < w[1]).count();
        assert!(distinct >= 3, "the counter rose during the run: {totals:?}");
        let s = last(job);
        processed += total(s, "adstream_job_events_processed_total");
        let written = total(s, "adstream_job_results_written_total");
        assert_eq!(
            total(s, "adstream_job_result_latency_seconds"),
            written,
            "one latency per result"
        );
        results += written;
        let counted = |metric: &str| -> BTreeMap<String, f64> {
            samples(s, metric, "partition").into_iter().collect()
        };
        let next = counted("adstream_job_next_offset");
        let lag = counted("adstream_job_consumer_lag");
        let taken: Vec<BTreeMap<String, f64>> = [
            "adstream_job_events_processed_total",
            "adstream_job_events_rejected_total",
            "adstream_job_events_late_total",
            "adstream_job_control_records_total",
        ]
        .map(counted)
        .into();
        for (partition, next) in &next {
            let records: f64 = taken.iter().map(|m| m[partition]).sum();
            assert_eq!(
                *next, records,
                "partition {partition}: every record taken once"
            );
            assert_eq!(
                lag[partition], 0.0,
                "partition {partition}: lag after the run"
            );
            partitions.push(partition.clone());
        }
        assert_eq!(total(s, "adstream_job_windows_open"), 0.0);
        assert!(total(s, "adstream_job_checkpoints_total") > 0.0);
    }
    partitions.sort();
    assert_eq!(partitions, ["0", "1", "2", "3"]);
    assert_eq!(processed, report["events"]["processed"].as_f64().unwrap());
    assert_eq!(results, summary["results"].as_f64().unwrap());

    // The producers: what they sent, the broker acknowledged, each paced send's lag observed.
    for (id, producer) in producers.iter().enumerate() {
        let s = last(producer);
        let events = report["producers"][id]["events"].as_f64().unwrap();
        assert_eq!(total(s, "adstream_producer_id"), id as f64);
        assert_eq!(total(s, "adstream_producer_events_sent_total"), events);
        assert_eq!(
            total(s, "adstream_producer_events_acknowledged_total"),
            events
        );
        assert_eq!(total(s, "adstream_producer_events_failed_total"), 0.0);
        assert_eq!(total(s, "adstream_producer_schedule_lag_seconds"), events);
    }
}

#[test]
fn a_restart_is_counted_and_the_restarted_job_serves_its_counts_again() {
    let t = TestBroker::with_topics(2);
    let base = free_ports(4);
    let scraped = scraped_run(
        &t,
        base,
        4,
        "metrics-restart",
        &[
            "--partitions",
            "2",
            "--rate",
            "2000",
            "--duration",
            "8",
            "--kill",
            "job:0@3",
        ],
    );
    let stderr = String::from_utf8_lossy(&scraped.run.stderr);
    assert!(scraped.run.status.success(), "{stderr}");
    let harness = scraped.last(&format!("127.0.0.1:{base}"));
    assert_eq!(total(harness, "adstream_harness_job_restarts_total"), 1.0);
    // The restarted process serves at the same address, its counters resumed from the checkpoints.
    let job = format!("127.0.0.1:{}", base + 1);
    let report = run_json(&scraped.out, "report.json");
    assert_eq!(
        total(scraped.last(&job), "adstream_job_events_processed_total"),
        report["events"]["processed"].as_f64().unwrap()
    );
    assert_eq!(report["faults"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_metrics_address_without_room_or_in_use_is_one_line() {
    let dataflow = Command::new(bin("dataflow"))
        .args(["--processes", "2", "--process", "1", "--base-time-ms", "1"])
        .args(["--metrics-listen", "127.0.0.1:9400-9400"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&dataflow.stderr);
    assert_eq!(dataflow.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("metrics.job") && stderr.contains("--metrics-listen"),
        "{stderr}"
    );

    let t = TestBroker::with_topics(1);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let producer = Command::new(bin("producer"))
        .args(["--bootstrap", &t.kafka.bootstrap, "--duration", "1"])
        .args(["--metrics-listen", &at])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&producer.stderr);
    assert_eq!(producer.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot serve metrics at {at}")),
        "{stderr}"
    );
}
