//! How our clients talk to the broker (ARCHITECTURE.md, "Scaling and remote processes"; BENCHMARKS.md
//! "The broker's work per event"), counted on the wire by a relay in front of a real broker: the
//! harness's broker probe reads only around each window's end, so it asks the broker far less often
//! than the job's reader does.

use adstream_tests::wire_tap::WireTap;

#[test]
fn the_broker_probe_fetches_only_around_window_ends() {
    let (tap, t) = WireTap::before_a_broker(2);
    // 14 s of 10 s windows: the probe reads from the base to 0.5 s after it and from 8.5 s to 10.5 s,
    // about 2.5 s of the run; the job's reader fetches throughout.
    let (out, _) = t.run_exact(
        "requests",
        &[
            "--producers",
            "1",
            "--rate",
            "2000",
            "--duration",
            "14",
            "--window",
            "10",
            "--ui",
            "off",
        ],
    );
    // The probe is the client that fetches one partition of the two-partition events topic, tens of
    // times; the job's reader (one worker) fetches both of that topic's partitions. Another reader's
    // fetch can name one partition of its topic now and then (librdkafka leaves out a partition whose
    // fetch is not ready: once in CI, one such fetch of the results topic), so the probe's topic is the
    // one fetched a partition at a time most often.
    let fetches = tap.fetches();
    assert!(
        !fetches.contains_key(&None),
        "every fetch was read: {fetches:?}"
    );
    let (events_topic, probe) = fetches
        .iter()
        .filter_map(|(f, n)| f.filter(|f| f.partitions == 1).map(|f| (f.topic, *n)))
        .max_by_key(|&(_, n)| n)
        .unwrap_or_else(|| {
            panic!("a topic fetched a partition at a time, by the probe: {fetches:?}")
        });
    let job: u64 = fetches
        .iter()
        .filter_map(|(f, n)| {
            f.filter(|f| f.topic == events_topic && f.partitions == 2)
                .map(|_| *n)
        })
        .sum();
    eprintln!("fetches of the events topic: the probe's {probe}, the job's {job}");
    assert!(probe > 0, "the probe read");
    // A probe reading throughout the run fetches about as often as the job's reader.
    assert!(
        probe * 100 <= job * 40,
        "the probe's {probe} fetches against the job's {job}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
