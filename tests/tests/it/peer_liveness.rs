//! A standalone job (no harness) whose peer hangs or dies: each `dataflow` process hears its peers'
//! heartbeats, so when one is SIGSTOPped the other's `/healthz` turns unhealthy, and at the liveness
//! limit it exits non-zero with one line naming the silent peer — for systemd or Kubernetes to restart
//! it — instead of waiting forever; when one is SIGKILLed the other exits at once with one line naming
//! it, not with timely's panics (ARCHITECTURE.md, "Fault tolerance").

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adstream_harness::services::broker::free_port;
use adstream_protocol::clock::unix_ms;
use adstream_tests::scrape::healthz;
use adstream_tests::{TestBroker, bin};

/// The job's processes, killed when the test ends however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A two-process job started by hand on a broker's topics, from a hostfile of free loopback ports in
/// a directory of its own.
struct TwoProcesses {
    dir: std::path::PathBuf,
    hosts: std::path::PathBuf,
    ports: [u16; 2],
    base: String,
}

impl TwoProcesses {
    /// The hostfile and base time of a job named `name` (it names the directory).
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ports = [free_port().unwrap(), free_port().unwrap()];
        let hosts = dir.join("hosts");
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
        )
        .unwrap();
        Self {
            dir,
            hosts,
            ports,
            base: unix_ms().to_string(),
        }
    }

    /// Starts `process` against `t`'s topics with `extra` flags, its stdout and stderr piped.
    fn start(&self, t: &TestBroker, process: u32, extra: &[&str]) -> Child {
        Command::new(bin("dataflow"))
            .args(["--bootstrap", &t.kafka.bootstrap, "--producers", "1"])
            .args(["--base-time-ms", &self.base, "--processes", "2"])
            .args(["--process", &process.to_string()])
            .arg("--hostfile")
            .arg(&self.hosts)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

#[test]
fn a_process_whose_peer_hangs_turns_unhealthy_then_exits_naming_the_peer() {
    let t = TestBroker::with_topics(2);
    let two = TwoProcesses::new("peers");
    let ports = two.ports;
    let metrics = format!("127.0.0.1:{}", free_port().unwrap());
    let limit = ["--liveness-timeout-ms", "4000"];
    let mut job = Processes(vec![
        two.start(
            &t,
            0,
            &[&limit[..], &["--metrics-listen", &metrics]].concat(),
        ),
        two.start(&t, 1, &limit),
    ]);
    // Both processes are connected and at work once process 0's worker says it is ready.
    let stdout = job.0[0].stdout.take().unwrap();
    let ready = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("\"ready\""));
    assert!(ready, "process 0 never became ready");
    assert_eq!(healthz(&metrics).map(|(status, _)| status), Some(200));

    let hung = job.0[1].id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &hung])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut unhealthy = None;
    let status = loop {
        if let Some(status) = job.0[0].try_wait().unwrap() {
            break status;
        }
        if let Some((503, body)) = healthz(&metrics) {
            unhealthy.get_or_insert(body);
        }
        assert!(
            Instant::now() < deadline,
            "process 0 never gave up on its peer"
        );
        std::thread::yield_now();
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut job.0[0].stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    let unhealthy = unhealthy.expect("healthz turned unhealthy before the process exited");
    assert!(
        unhealthy.starts_with("job process 1 has sent worker 0 nothing for"),
        "{unhealthy}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].starts_with("error: job process 1 sent nothing for ")
            && errors[0].ends_with(&format!(
                " s: gone, hung or cut off (it runs at 127.0.0.1:{})",
                ports[1]
            )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    drop(job);
    std::fs::remove_dir_all(&two.dir).unwrap();
}

#[test]
fn a_process_whose_peer_dies_exits_at_once_with_one_line_naming_it() {
    let t = TestBroker::with_topics(2);
    let two = TwoProcesses::new("peer-dies");
    let ports = two.ports;
    let mut job = Processes(vec![two.start(&t, 0, &[]), two.start(&t, 1, &[])]);
    let stdout = job.0[0].stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok);
    assert!(
        lines.any(|line| line.contains("\"ready\"")),
        "process 0 never became ready"
    );
    job.0[1].kill().unwrap();
    job.0[1].wait().unwrap();
    let status = job.0[0].wait().unwrap();
    let said: Vec<String> = lines.collect();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut job.0[0].stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    // How the connection ended depends on the moment (closed, reset, a broken pipe); who is named
    // does not.
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].starts_with(
            "error: job process 1 is gone: the connection to it closed (timely communication \
             error: "
        ) && errors[0].ends_with(&format!(") (it runs at 127.0.0.1:{})", ports[1])),
        "{err}"
    );
    // The harness is told whose fault it is.
    assert!(
        said.iter()
            .any(|l| l == r#"{"peer_silent":{"process":0,"peer":1,"silent_ms":0}}"#),
        "{said:?}"
    );
    drop(job);
    std::fs::remove_dir_all(&two.dir).unwrap();
}
