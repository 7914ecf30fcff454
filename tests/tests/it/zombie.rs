//! A zombie (ARCHITECTURE.md, "Fault tolerance"): a process of a two-process job is stopped (SIGSTOP)
//! and, while its peer's messages wait in its connection, cut off from the peer (iptables). The peer
//! gives up on it and exits; a new incarnation of the job, on other ports, reads the results back and
//! writes every result. Then the old process is continued, still cut off, with all it had received:
//! it writes nothing — a window it could close waits for its lease, which its peer's old heartbeats
//! do not renew (the sink's own test shows that refusal), and it gives up on the silent peer — and the
//! results topic holds every result once, equal to the recount.
//!
//! Everything runs in a network namespace of its own (broker, processes, the cut), held by a `sleep`
//! the test starts and stops.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use adstream_protocol::clock::unix_ms;
use adstream_protocol::messages::ChildMessage;
use adstream_tests::bin;

/// Children of the test, killed when it ends however it ends.
struct Children(Vec<Child>);

impl Children {
    fn add(&mut self, child: Child) -> usize {
        self.0.push(child);
        self.0.len() - 1
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A network namespace held open by a process of its own, with its loopback up.
struct Namespace {
    pid: u32,
}

impl Namespace {
    fn open(children: &mut Children) -> Self {
        let child = Command::new("unshare")
            .args([
                "--net",
                "sh",
                "-c",
                "ip link set lo up && echo up && exec sleep 600",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare");
        let pid = child.id();
        let i = children.add(child);
        let mut up = String::new();
        BufReader::new(children.0[i].stdout.take().unwrap())
            .read_line(&mut up)
            .unwrap();
        assert_eq!(up.trim(), "up");
        Self { pid }
    }

    /// `program` with `args`, run inside the namespace.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net=/proc/{}/ns/net", self.pid))
            .arg(program)
            .args(args)
            .stdin(Stdio::null());
        command
    }
}

fn signal(child: &Child, signal: &str) {
    // nsenter execs the program: the child's pid is the program's.
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn a_process_continued_after_its_job_was_replaced_writes_nothing_and_results_stay_once() {
    let mut children = Children(Vec::new());
    let ns = Namespace::open(&mut children);
    let dir = std::env::temp_dir().join(format!("adstream-zombie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bootstrap = "127.0.0.1:9092";
    let harness = bin("harness");
    let mut broker = ns
        .command(&harness, &["broker", "--listen", bootstrap])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let listening = BufReader::new(broker.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("listening"));
    assert!(listening, "the broker never listened");
    children.add(broker);
    let created = ns
        .command(
            &harness,
            &[
                "topics",
                "create",
                "--bootstrap",
                bootstrap,
                "--partitions",
                "2",
            ],
        )
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");

    let base = (unix_ms() + 1_000).to_string();
    let old_hosts = dir.join("old-hosts");
    std::fs::write(&old_hosts, "127.0.0.1:7001\n127.0.0.1:7002\n").unwrap();
    let new_hosts = dir.join("new-hosts");
    std::fs::write(&new_hosts, "127.0.0.1:7003\n127.0.0.1:7004\n").unwrap();
    let checkpoints = dir.join("checkpoints");
    let dataflow = bin("dataflow");
    let job = |hosts: &Path, process: u32| {
        ns.command(
            &dataflow,
            &[
                "--bootstrap",
                bootstrap,
                "--producers",
                "1",
                "--base-time-ms",
                &base,
                "--window",
                "1",
                "--processes",
                "2",
                "--process",
                &process.to_string(),
                "--hostfile",
                hosts.to_str().unwrap(),
                "--liveness-timeout-ms",
                "3000",
                "--job-id",
                "zombie",
                "--checkpoint-dir",
                checkpoints.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let old0 = children.add(job(&old_hosts, 0));
    let old1 = children.add(job(&old_hosts, 1));
    let producer = ns
        .command(
            &bin("producer"),
            &[
                "--bootstrap",
                bootstrap,
                "--topic",
                "events",
                "--partitions",
                "2",
                "--generator",
                "uniform",
                "--rate",
                "500",
                "--duration",
                "12",
                "--window",
                "1",
                "--id",
                "0",
                "--base-time-ms",
                &base,
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let producer = children.add(producer);

    // Once process 0 has counted events, process 1 stops; two progress reports later — its peer's
    // messages waiting in its connection — the link between them is cut.
    let mut messages = BufReader::new(children.0[old0].stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| ChildMessage::parse(&l).ok());
    let counting = messages
        .by_ref()
        .any(|m| matches!(m, ChildMessage::Progress(p) if p.processed > 500));
    assert!(counting, "process 0 never counted events");
    signal(&children.0[old1], "-STOP");
    let reports = messages
        .by_ref()
        .filter(|m| matches!(m, ChildMessage::Progress(_)))
        .take(2)
        .count();
    assert_eq!(reports, 2);
    for port in ["7001", "7002"] {
        for direction in ["--dport", "--sport"] {
            let cut = ns
                .command(
                    Path::new("iptables"),
                    &["-A", "INPUT", "-p", "tcp", direction, port, "-j", "DROP"],
                )
                .status()
                .unwrap();
            assert!(cut.success());
        }
    }
    let gave_up = children.0[old0].wait().unwrap();
    assert_eq!(gave_up.code(), Some(1));

    // The new incarnation reads the results back and writes the rest, to the end of the input.
    let new0 = children.add(job(&new_hosts, 0));
    let new1 = children.add(job(&new_hosts, 1));
    for i in [new0, new1] {
        let mut err = String::new();
        children.0[i]
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = children.0[i].wait().unwrap();
        assert!(status.success(), "{err}");
    }
    assert!(children.0[producer].wait().unwrap().success());

    // The zombie comes back, still cut off, and ends naming its silent peer.
    signal(&children.0[old1], "-CONT");
    let mut err = String::new();
    children.0[old1]
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = children.0[old1].wait().unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("error: job process 0 sent nothing for "),
        "{err}"
    );

    // Every result once: a duplicate would be a mismatch.
    let verified = ns
        .command(
            &harness,
            &[
                "verify",
                "--bootstrap",
                bootstrap,
                "--producers",
                "1",
                "--base-time-ms",
                &base,
                "--window",
                "1",
            ],
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{said}");
    let v: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(v["exact"], true, "{v}");
    assert_eq!(v["events"], 6_000, "{v}");
    assert_eq!(v["results_read"], v["results_expected"], "{v}");
    drop(children);
    std::fs::remove_dir_all(dir).unwrap();
}
