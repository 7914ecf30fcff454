//! Every process the harness starts stops with it: `harness broker` stops its broker on SIGTERM,
//! SIGINT and SIGHUP (as a service manager or a closed terminal asks), and a `harness run` killed with
//! SIGKILL — no chance to clean up — leaves no job process, producer or broker behind.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adstream_harness::services::broker::free_port;
use adstream_tests::{bin, pgrep};

/// How long the processes of a stopped harness may take to be gone.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// Whether process `pid` is still running (a zombie waiting for its reaper is not).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        !matches!(state, Some("Z" | "X"))
    })
}

/// The children of process `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    pgrep(&["-P", &pid.to_string()])
}

/// The command line of process `pid`.
fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .unwrap_or_default()
}

/// Waits up to [`GONE_WITHIN`] for every one of `pids` to stop running; the ones still running.
fn still_running_after_a_while(pids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + GONE_WITHIN;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| running(p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::yield_now();
    }
}

/// Reads `child`'s stderr until a line starts with `prefix`; the rest is drained on a thread.
fn wait_for_line(child: &mut Child, prefix: &str) -> String {
    let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"));
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    line
}

fn broker_stops_on(signal: &str) {
    let port = free_port().unwrap();
    let mut harness = Command::new(bin("harness"))
        .args(["broker", "--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start harness broker");
    // The line comes once the broker answers Kafka requests.
    wait_for_line(&mut harness, "tansu ");
    let tansu = children_of(harness.id());
    assert_eq!(tansu.len(), 1, "one broker process: {tansu:?}");
    assert!(command_line(tansu[0]).contains(&format!("127.0.0.1:{port}")));

    Command::new("kill")
        .args([signal, &harness.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + GONE_WITHIN;
    let status = loop {
        if let Some(status) = harness.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "harness broker ignored {signal}");
        std::thread::yield_now();
    };
    assert!(status.success(), "{signal}: {status:?}");
    assert_eq!(
        still_running_after_a_while(&tansu),
        Vec::<u32>::new(),
        "tansu left running after {signal}"
    );
}

#[test]
fn harness_broker_stops_its_broker_on_sigterm() {
    broker_stops_on("-TERM");
}

#[test]
fn harness_broker_stops_its_broker_on_sigint() {
    broker_stops_on("-INT");
}

#[test]
fn harness_broker_stops_its_broker_on_sighup() {
    broker_stops_on("-HUP");
}

/// `harness run` with its own broker, so that all three kinds of child are there to be left behind. It
/// runs in a network namespace of its own, where the default broker address is free whatever this
/// machine runs on it, and the harness starts the local broker there as it does for a user.
#[test]
fn a_sigkilled_harness_run_leaves_no_child_running() {
    let out = std::env::temp_dir().join(format!("adstream-sigkill-{}", std::process::id()));
    let harness = bin("harness");
    let script = format!(
        "ip link set lo up && exec {} run --processes 2 --rate 500 --duration 60 --window 1 --out {}",
        harness.display(),
        out.display()
    );
    // unshare and sh exec in place: the pid spawned here is the harness's.
    let mut run = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start harness run in its own network namespace");
    let said = wait_for_line(&mut run, "run: ");
    assert!(said.contains("broker 127.0.0.1:9092"), "{said}");
    // Once the producers run, every kind of child is there.
    let deadline = Instant::now() + Duration::from_secs(60);
    let children = loop {
        let children = children_of(run.id());
        let lines: Vec<String> = children.iter().map(|&p| command_line(p)).collect();
        let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
        if count("tansu") == 1 && count("/dataflow ") == 2 && count("/producer ") == 2 {
            break children;
        }
        assert!(
            Instant::now() < deadline,
            "the run's children never all ran: {lines:?}"
        );
        std::thread::yield_now();
    };

    run.kill().expect("SIGKILL the harness");
    run.wait().unwrap();
    let left = still_running_after_a_while(&children);
    let described: Vec<String> = left.iter().map(|&p| command_line(p)).collect();
    assert!(left.is_empty(), "left running: {described:?}");
    std::fs::remove_dir_all(out).unwrap();
}
