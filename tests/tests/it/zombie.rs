//! Zombies (ARCHITECTURE.md, "Fault tolerance"): an old incarnation of a two-process job that goes on
//! after a new incarnation, on other ports, has claimed the job, read the results back and written
//! every result. Two ways:
//! - both old processes are stopped (SIGSTOP: a frozen host) and continued once the new incarnation
//!   is done: they still talk to each other, read on and close windows, and the fence refuses them —
//!   the first to look at it says the job was taken over and writes nothing;
//! - one old process is stopped and, while its peer's messages wait in its connection, cut off from
//!   the peer (iptables); the peer gives up on it. Continued, still cut off, it takes in what waited
//!   and gives up on its silent peer, having written nothing.
//!
//! Either way the results topic holds every result once, equal to the recount. Everything runs in a
//! network namespace of its own (broker, processes, the cut), held by a `sleep` the test starts and
//! stops.

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

/// A broker in a namespace of its own with the events topic, a job of two processes that may be
/// started twice (old and new incarnation), and a producer of 6,000 events over 12 s.
struct Fixture {
    children: Children,
    ns: Namespace,
    dir: std::path::PathBuf,
    base: String,
}

const BOOTSTRAP: &str = "127.0.0.1:9092";

impl Fixture {
    fn new(name: &str) -> Self {
        let mut children = Children(Vec::new());
        let ns = Namespace::open(&mut children);
        let dir = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let harness = bin("harness");
        let mut broker = ns
            .command(&harness, &["broker", "--listen", BOOTSTRAP])
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
                    BOOTSTRAP,
                    "--partitions",
                    "2",
                ],
            )
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        let base = (unix_ms() + 1_000).to_string();
        Self {
            children,
            ns,
            dir,
            base,
        }
    }

    /// Starts process `process` of the incarnation on `ports`; its index among the children. Its
    /// checkpoints and the job's fence are in a directory when `in_dir`, else in topics of the broker.
    fn job(&mut self, ports: [u16; 2], process: u32, in_dir: bool) -> usize {
        let hosts = self.dir.join(format!("hosts-{}", ports[0]));
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
        )
        .unwrap();
        let checkpoints = self.dir.join("checkpoints");
        let process = process.to_string();
        let mut args = vec![
            "--bootstrap",
            BOOTSTRAP,
            "--producers",
            "1",
            "--base-time-ms",
            &self.base,
            "--window",
            "1",
            "--processes",
            "2",
            "--process",
            &process,
            "--hostfile",
            hosts.to_str().unwrap(),
            "--liveness-timeout-ms",
            "3000",
            "--job-id",
            "zombie",
        ];
        if in_dir {
            args.extend(["--checkpoint-dir", checkpoints.to_str().unwrap()]);
        }
        let child = self
            .ns
            .command(&bin("dataflow"), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.children.add(child)
    }

    fn producer(&mut self) -> usize {
        let child = self
            .ns
            .command(
                &bin("producer"),
                &[
                    "--bootstrap",
                    BOOTSTRAP,
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
                    &self.base,
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.add(child)
    }

    /// The messages process `i` sends the harness.
    fn messages(&mut self, i: usize) -> impl Iterator<Item = ChildMessage> + use<> {
        BufReader::new(self.children.0[i].stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| ChildMessage::parse(&l).ok())
    }

    fn signal(&self, i: usize, which: &str) {
        signal(&self.children.0[i], which);
    }

    /// Waits for child `i` to exit; its status and what it said on stderr.
    fn wait(&mut self, i: usize) -> (std::process::ExitStatus, String) {
        let mut err = String::new();
        if let Some(mut stderr) = self.children.0[i].stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (self.children.0[i].wait().unwrap(), err)
    }

    /// Runs the new incarnation on other ports to the end of the input, and the producer to its end.
    fn new_incarnation_to_the_end(&mut self, producer: usize, in_dir: bool) {
        let new = [
            self.job([7003, 7004], 0, in_dir),
            self.job([7003, 7004], 1, in_dir),
        ];
        for i in new {
            let (status, err) = self.wait(i);
            assert!(status.success(), "{err}");
        }
        assert!(self.children.0[producer].wait().unwrap().success());
    }

    /// Every result once, equal to the recount of 6,000 events: a duplicate would be a mismatch.
    fn every_result_once(self) {
        let verified = self
            .ns
            .command(
                &bin("harness"),
                &[
                    "verify",
                    "--bootstrap",
                    BOOTSTRAP,
                    "--producers",
                    "1",
                    "--base-time-ms",
                    &self.base,
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
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Waits until process `old0`'s messages say it has counted more than 500 events.
fn counting(messages: &mut impl Iterator<Item = ChildMessage>) {
    let counting = messages.any(|m| matches!(m, ChildMessage::Progress(p) if p.processed > 500));
    assert!(counting, "process 0 never counted events");
}

#[test]
fn a_whole_old_incarnation_continued_after_the_job_was_claimed_anew_is_refused_by_the_fence() {
    let mut f = Fixture::new("zombie-frozen");
    // Checkpoints and the fence in topics of the broker, as for a job spread over hosts.
    let old = [f.job([7001, 7002], 0, false), f.job([7001, 7002], 1, false)];
    let producer = f.producer();
    let mut messages = f.messages(old[0]);
    counting(&mut messages);
    // A frozen host: both processes stop at once, mid-run, with windows still to close.
    f.signal(old[0], "-STOP");
    f.signal(old[1], "-STOP");
    drop(messages);
    f.new_incarnation_to_the_end(producer, false);

    f.signal(old[0], "-CONT");
    f.signal(old[1], "-CONT");
    let ended = [f.wait(old[0]), f.wait(old[1])];
    for (status, err) in &ended {
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The first to look at the fence is refused; its peer may instead see it go.
    let refused = ended
        .iter()
        .filter(|(_, err)| {
            err.contains("error: job zombie was taken over by a newer incarnation")
                && err.contains("this process writes nothing more")
        })
        .count();
    assert!(refused >= 1, "{ended:?}");
    f.every_result_once();
}

#[test]
fn a_process_continued_after_its_job_was_replaced_writes_nothing_and_results_stay_once() {
    let mut f = Fixture::new("zombie-cut");
    // Checkpoints and the fence in a directory the processes share.
    let old = [f.job([7001, 7002], 0, true), f.job([7001, 7002], 1, true)];
    let producer = f.producer();
    // Once process 0 has counted events, process 1 stops; two progress reports later — its peer's
    // messages waiting in its connection — the link between them is cut.
    let mut messages = f.messages(old[0]);
    counting(&mut messages);
    f.signal(old[1], "-STOP");
    let reports = messages
        .by_ref()
        .filter(|m| matches!(m, ChildMessage::Progress(_)))
        .take(2)
        .count();
    assert_eq!(reports, 2);
    for port in ["7001", "7002"] {
        for direction in ["--dport", "--sport"] {
            let cut =
                f.ns.command(
                    Path::new("iptables"),
                    &["-A", "INPUT", "-p", "tcp", direction, port, "-j", "DROP"],
                )
                .status()
                .unwrap();
            assert!(cut.success());
        }
    }
    let (gave_up, _) = f.wait(old[0]);
    assert_eq!(gave_up.code(), Some(1));
    f.new_incarnation_to_the_end(producer, true);

    // The zombie comes back, still cut off: it takes in what waited for it (a process that was itself
    // stopped judges no peer before that), then ends naming its silent peer, having written nothing.
    f.signal(old[1], "-CONT");
    let (status, err) = f.wait(old[1]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("error: job process 0 sent nothing for 3."),
        "{err}"
    );
    f.every_result_once();
}
