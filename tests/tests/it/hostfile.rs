//! Hostfiles: a job of two processes on two loopback addresses (127.0.0.1 and 127.0.0.2), both launched
//! by the harness; and a hostfile with a line for another host, for which the harness prints the exact
//! `dataflow` command and waits — here the test plays the operator of that host and runs the command on
//! this machine's own network address.

use std::io::{BufRead as _, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use adstream_tests::{TestBroker, bin, run_json};

fn free_port(host: &str) -> u16 {
    TcpListener::bind((host, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn harness_run(t: &TestBroker, hostfile: &Path, out: &Path) -> Command {
    let mut command = t.harness_run();
    command
        .args(["--processes", "2", "--workers", "1", "--producers", "2"])
        .args(["--rate", "1000", "--duration", "3", "--window", "1"])
        .arg("--hostfile")
        .arg(hostfile)
        .arg("--out")
        .arg(out);
    command
}

#[test]
fn two_loopback_addresses_run_end_to_end() {
    let t = TestBroker::with_topics(2);
    let dir = run_dir("loopback-hosts");
    let hostfile = dir.join("hostfile");
    std::fs::write(
        &hostfile,
        format!(
            "127.0.0.1:{}\n127.0.0.2:{}\n",
            free_port("127.0.0.1"),
            free_port("127.0.0.2")
        ),
    )
    .unwrap();
    let run = harness_run(&t, &hostfile, &dir.join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("verification EXACT"), "{stderr}");
    assert!(
        !stderr.contains("runs on"),
        "both lines are local: {stderr}"
    );
    let summary = run_json(&dir.join("out"), "summary.json");
    assert_eq!(summary["job"].as_array().unwrap().len(), 2);
    assert_eq!(summary["processed"], summary["produced"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// This machine's address on its default route (no packet is sent).
fn own_network_address() -> String {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("10.255.255.255:9")
        .expect("this test needs a network interface besides loopback");
    let ip = socket.local_addr().unwrap().ip();
    assert!(!ip.is_loopback(), "no non-loopback address: {ip}");
    ip.to_string()
}

#[test]
fn a_remote_line_gets_its_command_printed_and_the_run_waits_for_it() {
    let t = TestBroker::with_topics(2);
    let dir = run_dir("remote-host");
    let hostfile = dir.join("hostfile");
    let remote = own_network_address();
    std::fs::write(
        &hostfile,
        format!(
            "127.0.0.1:{}\n{remote}:{}\n",
            free_port("127.0.0.1"),
            free_port(&remote)
        ),
    )
    .unwrap();
    let mut harness = harness_run(&t, &hostfile, &dir.join("out"))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stderr = harness.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    // The harness names the host and the files to copy there, then the command.
    let mut seen = Vec::new();
    let (profile, copied_hostfile) = loop {
        let line = received
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no remote command printed: {seen:#?}"));
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix(&format!("job process 1 runs on {remote}: copy ")) {
            let (profile, rest) = rest.split_once(" and ").unwrap();
            let hostfile = rest.strip_suffix(" there, then run").unwrap();
            break (PathBuf::from(profile), PathBuf::from(hostfile));
        }
    };
    let command = received.recv().unwrap();
    assert_eq!(
        command,
        "  dataflow --config profile.toml --hostfile hostfile --process 1"
    );
    assert_eq!(copied_hostfile, hostfile);
    assert!(profile.is_absolute() && profile.ends_with("profile.toml"));
    // The operator of the "remote" host runs it (here, with the files where they are).
    let remote_process = Command::new(bin("dataflow"))
        .arg("--config")
        .arg(&profile)
        .arg("--hostfile")
        .arg(&copied_hostfile)
        .args(["--process", "1"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        remote_process.status.success(),
        "{}",
        String::from_utf8_lossy(&remote_process.stderr)
    );
    let status = harness.wait().unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = received.try_iter().collect();
    let all = [seen, rest].concat().join("\n");
    assert!(status.success(), "{all}");
    assert!(
        all.contains("waiting up to 600s for 1 remote job process(es) to join"),
        "{all}"
    );
    assert!(all.contains("verification EXACT"), "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}
