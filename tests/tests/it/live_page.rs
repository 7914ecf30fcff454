//! The live page (ARCHITECTURE.md, "Seeing a run"): a real browser opens the page a 20 s run serves
//! on loopback, again and again while the run goes, and sees the processed count rise through at
//! least three values and the windows appear as their results arrive; once the run is over the page
//! shows the report's own figures (events processed, windows, end-to-end p90), equal to report.json.
//! `--ui` with an address that cannot be served is one line and exit 2.

use std::io::Read as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use adstream_harness::services::ownership::owned_command;
use adstream_tests::browser::{dump_dom_of_url, screenshot_of_url, screenshots, text_of};
use adstream_tests::runs::driving_a_browser;
use adstream_tests::{TestBroker, bin, lines_until, run_json};

/// How often the test looks at the page (a pace, not a wait for anything: the page changes on its own
/// every second).
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// The harness, stopped when the test ends however it ends (and, being owned, when the test
/// process is killed).
struct Harness(Child);

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one look at the page showed.
#[derive(Debug)]
struct Look {
    phase: String,
    processed: Option<u64>,
    windows: Vec<u64>,
}

fn look(dom: &str) -> Look {
    let windows = dom
        .match_indices("<tr id=\"window-")
        .filter_map(|(at, m)| {
            let rest = &dom[at + m.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect();
    Look {
        phase: text_of(dom, "live-phase").unwrap_or_default(),
        processed: text_of(dom, "live-processed").and_then(|t| t.parse().ok()),
        windows,
    }
}

#[test]
fn a_browser_watches_a_run_on_its_live_page_and_ends_on_the_report_s_figures() {
    let _browsing = driving_a_browser();
    let t = TestBroker::with_topics(2);
    let out = std::env::temp_dir().join(format!("adstream-live-{}", std::process::id()));
    let mut command = owned_command(&bin("harness"));
    command
        .args([
            "run",
            "--bootstrap",
            &t.kafka.bootstrap,
            "--partitions",
            "2",
        ])
        .args(["--producers", "2", "--rate", "1000", "--duration", "20"])
        .args(["--window", "5", "--ui", "127.0.0.1:0"])
        // The page stays up after the run, showing its final figures, until the test stops it.
        .args(["--metrics-linger-ms", "600000"])
        .arg("--out")
        .arg(&out)
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut harness = Harness(command.spawn().unwrap());
    let stderr = harness.0.stderr.take().unwrap();
    let (said, mut rest) = lines_until(stderr, |l| l.starts_with("live page: "));
    let url = said
        .last()
        .and_then(|l| l.strip_prefix("live page: "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("no live page address: {said:?}"))
        .to_owned();
    // The rest of the harness's stderr is kept, for a failure's message.
    let said_later = std::thread::spawn(move || {
        let mut text = String::new();
        for line in rest.by_ref().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
            if line.starts_with("report page: ") {
                break;
            }
        }
        text
    });

    // The page is looked at every 2 s or so until the run is done: the way a person glances at it,
    // and few enough browser starts that the tests running beside this one keep their cores.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut next_look = Instant::now();
    let mut looks: Vec<Look> = Vec::new();
    let mut shot = false;
    let dom = loop {
        assert!(
            Instant::now() < deadline,
            "the run did not end on the page: {looks:?}"
        );
        std::thread::sleep(next_look.saturating_duration_since(Instant::now()));
        next_look = Instant::now() + LOOK_EVERY;
        let dom = dump_dom_of_url(&url, 1_000);
        let seen = look(&dom);
        if !shot && seen.phase == "producing" && !seen.windows.is_empty() {
            screenshot_of_url(&url, &screenshots().join("live-page.png"), 1280, 2000);
            shot = true;
        }
        let done = seen.phase == "done" || seen.phase == "failed";
        looks.push(seen);
        if done {
            break dom;
        }
    };
    let said_later = said_later.join().unwrap();
    let running: Vec<&Look> = looks
        .iter()
        .filter(|l| l.phase == "producing" || l.phase == "draining")
        .collect();
    let mut rising: Vec<u64> = running.iter().filter_map(|l| l.processed).collect();
    rising.dedup();
    assert!(
        rising.len() >= 3 && rising.windows(2).all(|w| w[0] < w[1]),
        "the processed count rises through at least 3 values while the run goes: {looks:?}"
    );
    assert!(
        running.iter().any(|l| !l.windows.is_empty()),
        "windows appear while the run goes: {looks:?}"
    );
    assert_eq!(
        looks.last().unwrap().phase,
        "done",
        "{looks:?}\n{said_later}"
    );

    let report = run_json(&out, "report.json");
    let shown = |id: &str| text_of(&dom, id).unwrap_or_else(|| panic!("no #{id} on the page"));
    assert_eq!(
        shown("live-settled-processed"),
        report["events"]["processed"].to_string()
    );
    let windows = report["windows"].as_array().unwrap();
    assert_eq!(shown("live-settled-windows"), windows.len().to_string());
    let p90: f64 = shown("live-settled-p90").parse().unwrap();
    assert_eq!(p90, report["latency_ms"]["p90"].as_f64().unwrap());
    assert_eq!(shown("live-settled-verdict"), "EXACT");
    // Every window of the report has its row, with its latency as the report has it.
    let last = looks.last().unwrap();
    assert_eq!(windows.len(), last.windows.len(), "{last:?}");
    for w in windows {
        let id = w["window_id"].as_u64().unwrap();
        assert!(last.windows.contains(&id), "window {id}: {last:?}");
    }
    assert!(shot, "no look caught the run producing with a window in");
    screenshot_of_url(&url, &screenshots().join("live-page-done.png"), 1280, 2000);
    drop(harness);
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_ui_address_that_cannot_be_served_is_one_line_and_exit_2() {
    // Taken: a listener of the test's own holds the port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for (ui, says) in [
        (
            format!("127.0.0.1:{port}"),
            format!("error: --ui: cannot serve a page at 127.0.0.1:{port}: "),
        ),
        (
            "localhost:http".to_owned(),
            "must be HOST:PORT (port 0 picks a free one) or off".to_owned(),
        ),
    ] {
        let mut child = std::process::Command::new(bin("harness"))
            .args(["run", "--duration", "1", "--ui", &ui])
            .args(["--bootstrap", "127.0.0.1:1"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(2), "{ui}: {stderr}");
        assert!(stderr.contains(&says), "{ui}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
