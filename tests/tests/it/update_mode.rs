//! The update output mode (ARCHITECTURE.md, "Output modes"): `harness run --output update` writes a
//! revision of each changed (window, campaign) every update interval while its window is open and a
//! final one when it closes; every revision equals the recount of exactly the prefix its `as_of`
//! names, the finals equal the recount of everything, and that holds through restarts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use adstream_protocol::wire::WindowResult;
use adstream_tests::{
    TestBroker, is_final, read_event_records, read_topic, recount, rules_of_run, run_json,
};

/// Every record of the results topic, once `finals` final ones are in (and the topic then stays
/// quiet briefly).
fn every_revision(t: &TestBroker, finals: usize) -> Vec<WindowResult> {
    let (mut seen, mut looked) = (0, 0);
    read_topic(
        &t.kafka.bootstrap,
        &t.kafka.results_topic,
        t.kafka.partitions,
        Duration::from_secs(60),
        |rs| {
            seen += rs[looked..].iter().filter(|r| is_final(r)).count();
            looked = rs.len();
            seen >= finals
        },
    )
    .iter()
    .map(|r| serde_json::from_slice(&r.value).expect("result JSON"))
    .collect()
}

/// Checks the results topic against the recount — every revision against its `as_of` prefix, the
/// finals against everything — and that each (window, campaign) has revisions 0, 1, … with the final
/// one last; returns the records by (window, campaign), in revision order.
fn revisions_are_exact(t: &TestBroker, out: &Path) -> BTreeMap<(u64, u32), Vec<WindowResult>> {
    let records = read_event_records(&t.kafka, Duration::from_secs(60), 2);
    let expected = recount(&records, rules_of_run(out));
    let results = every_revision(t, expected.tallies().len());
    let v = expected.compare(&results);
    assert!(v.exact, "{:?}", v.mismatches);
    let mut by_key: BTreeMap<(u64, u32), Vec<WindowResult>> = BTreeMap::new();
    for r in results {
        by_key
            .entry((r.window_id, r.campaign_id))
            .or_default()
            .push(r);
    }
    for (key, revisions) in &mut by_key {
        revisions.sort_by_key(|r| r.revision);
        let numbers: Vec<u32> = revisions.iter().map(|r| r.revision).collect();
        let finals: Vec<bool> = revisions.iter().map(|r| r.is_final).collect();
        let n = revisions.len();
        assert_eq!(numbers, (0..n as u32).collect::<Vec<_>>(), "{key:?}");
        assert_eq!(
            finals,
            (0..n).map(|i| i + 1 == n).collect::<Vec<_>>(),
            "{key:?}"
        );
    }
    by_key
}

#[test]
fn revisions_come_every_interval_while_a_window_is_open_and_every_one_is_exact() {
    let t = TestBroker::with_topics(2);
    let (out, err) = t.run_exact(
        "update",
        &[
            "--output",
            "update",
            "--update-interval-ms",
            "500",
            "--rate",
            "400",
            "--duration",
            "8",
            "--window",
            "3",
        ],
    );
    assert!(err.contains("freshness (revisions)"), "{err}");
    let report = run_json(&out, "report.json");
    let revisions = &report["revisions"];
    assert!(
        revisions["records"].as_u64().unwrap()
            > report["verification"]["results_expected"].as_u64().unwrap(),
        "{report}"
    );
    assert!(
        revisions["freshness_ms"]["count"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert_eq!(
        revisions["late"], 0,
        "exact mode has no late events: {report}"
    );

    let by_key = revisions_are_exact(&t, &out);
    // A window open for 3 s gets a revision at each of the half-second interval ends it spans: the
    // windows the run fills end to end have at least four before the final one.
    let mut per_window: BTreeMap<u64, usize> = BTreeMap::new();
    for ((window, _), revisions) in &by_key {
        let interim = revisions.iter().filter(|r| !r.is_final).count();
        let most = per_window.entry(*window).or_default();
        *most = (*most).max(interim);
        // Each revision counts at least what the one before it counted.
        for pair in revisions.windows(2) {
            assert!(pair[0].count <= pair[1].count, "{pair:?}");
        }
    }
    let full: Vec<_> = per_window.values().filter(|n| **n >= 4).collect();
    assert!(full.len() >= 2, "revisions per window: {per_window:?}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn two_kills_in_update_mode_keep_every_revision_exact_and_none_twice() {
    let t = TestBroker::with_topics(4);
    let (out, _) = t.run_exact(
        "update-kills",
        &[
            "--output",
            "update",
            "--processes",
            "2",
            "--workers",
            "2",
            "--producers",
            "2",
            "--rate",
            "2000",
            "--duration",
            "24",
            "--window",
            "5",
            "--kill",
            "job:1@7",
            "--kill",
            "job:0@15",
        ],
    );
    let report = run_json(&out, "report.json");
    assert_eq!(report["faults"].as_array().unwrap().len(), 2, "{report}");
    // Revisions written before a kill stay; the next incarnation numbers its own after them.
    let by_key = revisions_are_exact(&t, &out);
    assert!(by_key.values().any(|r| r.len() > 2), "{by_key:?}");
    std::fs::remove_dir_all(out).unwrap();
}

/// The seed's own kind of producers — two Python processes, unpaced, sharing their base — into a job
/// in bounded mode that is not told the base, in update mode with 30 s of allowed lateness: no event
/// is late, every revision is exact for its `as_of`, windows have revisions before their final one,
/// and the job exits by itself once its input is quiet.
#[test]
fn seed_producers_into_bounded_update_mode_with_lateness_lose_no_event() {
    use adstream_protocol::messages::ChildMessage;
    use adstream_protocol::validity::EventRules;
    use adstream_tests::python::run_seed_pair;
    use adstream_tests::{bin, job_summary_of};
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    const WINDOW_S: u64 = 2;
    let t = TestBroker::with_topics(4);
    let mut job = Command::new(bin("dataflow"))
        .args(["--bootstrap", &t.kafka.bootstrap, "--partitions", "4"])
        .args(["--workers", "2", "--mode", "bounded", "--producers", "0"])
        .args(["--window", &WINDOW_S.to_string()])
        .args(["--output", "update", "--update-interval-ms", "200"])
        .args(["--allowed-lateness-ms", "30000"])
        .args(["--idle-close-ms", "2000", "--exit-when-idle"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the job");
    let mut lines = BufReader::new(job.stdout.as_mut().unwrap()).lines();
    let mut ready = 0;
    while ready < 2 {
        let line = lines.next().expect("the job's messages").unwrap();
        if matches!(ChildMessage::parse(&line), Ok(ChildMessage::Ready(_))) {
            ready += 1;
        }
    }
    drop(lines);
    run_seed_pair(&t.kafka, 10, 2_500, WINDOW_S);
    let out = job.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let summary = job_summary_of(&out.stdout).expect("the job's summary");
    assert_eq!(
        (
            summary.counts.processed,
            summary.counts.late,
            summary.counts.rejected
        ),
        (50_000, 0, 0),
        "every event counted, none late"
    );

    let records = read_topic(
        &t.kafka.bootstrap,
        &t.kafka.events_topic,
        4,
        Duration::from_secs(60),
        |rs| rs.len() >= 50_000,
    );
    let rules = EventRules::inferring_base(WINDOW_S * 1_000_000_000);
    let expected = recount(&records, rules);
    assert_eq!(expected.events(), 50_000);
    let results = every_revision(&t, expected.tallies().len());
    let v = expected.compare(&results);
    assert!(v.exact, "{:?}", v.mismatches);
    assert_eq!(
        v.windows_checked, 5,
        "logical seconds 0..10 in windows of 2 s"
    );
    let early = results
        .iter()
        .filter(|r| !r.is_final)
        .filter(|r| {
            let last = results
                .iter()
                .find(|f| {
                    f.is_final && (f.window_id, f.campaign_id) == (r.window_id, r.campaign_id)
                })
                .expect("a final revision");
            r.count < last.count
        })
        .count();
    assert!(
        early > 0,
        "no revision came before its window had all its events"
    );
}

/// Hour-long windows over a two-minute run: in update mode the first window's first revision comes
/// about one update interval after its first event, not an hour later, and the window has a revision
/// at most interval ends of the run; its final one comes when the producers end.
#[test]
fn an_hour_long_window_has_its_first_revision_within_an_interval_of_its_first_event() {
    use adstream_protocol::wire::{Event, HEADER_KIND};

    let t = TestBroker::with_topics(2);
    let (out, _) = t.run_exact(
        "update-hour",
        &[
            "--output",
            "update",
            "--update-interval-ms",
            "1000",
            "--rate",
            "100",
            "--duration",
            "120",
            "--window",
            "3600",
        ],
    );

    let by_key = revisions_are_exact(&t, &out);
    let records = read_event_records(&t.kafka, Duration::from_secs(60), 2);
    let first_event_ms = records
        .iter()
        .filter(|r| r.header(HEADER_KIND).is_none())
        .filter_map(|r| serde_json::from_slice::<Event>(&r.value).ok())
        .map(|e| e.produce_time)
        .min()
        .expect("events");
    let windows: std::collections::BTreeSet<u64> = by_key.keys().map(|k| k.0).collect();
    let first_window = *windows.first().unwrap();
    let first_revision_ms = by_key
        .iter()
        .filter(|((w, _), _)| *w == first_window)
        .map(|(_, revisions)| revisions[0].emitted_at_ms)
        .min()
        .unwrap();
    // One interval, and the time a revision takes to be written: well inside two intervals. The
    // figure is printed (BENCHMARKS.md, "Output modes").
    eprintln!(
        "first revision of the first window: {} ms after its first event",
        first_revision_ms - first_event_ms
    );
    assert!(
        first_revision_ms < first_event_ms + 2_000,
        "the first revision came {} ms after the first event",
        first_revision_ms - first_event_ms
    );
    // The busiest campaign changes at (nearly) every one of the run's 120 interval ends.
    let most = by_key.values().map(Vec::len).max().unwrap();
    assert!(most >= 100, "at most {most} revisions of one campaign");
    std::fs::remove_dir_all(out).unwrap();
}
