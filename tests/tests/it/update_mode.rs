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
    let out = std::env::temp_dir().join(format!("adstream-update-{}", std::process::id()));
    let run = t
        .harness_run()
        .args(["--output", "update", "--update-interval-ms", "500"])
        .args(["--rate", "400", "--duration", "8", "--window", "3"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run harness");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
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
    let out = std::env::temp_dir().join(format!("adstream-update-kills-{}", std::process::id()));
    let run = t
        .harness_run()
        .args(["--output", "update"])
        .args(["--processes", "2", "--workers", "2", "--producers", "2"])
        .args(["--rate", "2000", "--duration", "24", "--window", "5"])
        .args(["--kill", "job:1@7", "--kill", "job:0@15"])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run harness");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
    let report = run_json(&out, "report.json");
    assert_eq!(report["faults"].as_array().unwrap().len(), 2, "{report}");
    // Revisions written before a kill stay; the next incarnation numbers its own after them.
    let by_key = revisions_are_exact(&t, &out);
    assert!(by_key.values().any(|r| r.len() > 2), "{by_key:?}");
    std::fs::remove_dir_all(out).unwrap();
}
