//! `harness run --launch ssh` (ARCHITECTURE.md, "Scaling and remote processes"): a real OpenSSH
//! server on a loopback port with a key the test makes; a hostfile of two loopback lines whose
//! second is forced through ssh (`ssh.loopback`), 2 processes × 2 workers. The run is exact — also
//! when the process started over ssh is killed mid-run and the job restarted, which launches it
//! over ssh again; it is gone once the run ends; and a SIGKILLed harness leaves nothing running on
//! the "remote" side.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adstream_harness::services::broker::free_port;
use adstream_tests::sshd::Sshd;
use adstream_tests::{TestBroker, bin, lines_until, pgrep, run_json};

/// A profile and a hostfile in `dir` for 2 job processes × 2 workers, the second over ssh to `sshd`.
fn ssh_profile(dir: &Path, sshd: &Sshd) -> std::path::PathBuf {
    let hostfile = dir.join("hosts");
    let ports = [free_port().unwrap(), free_port().unwrap()];
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .unwrap();
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            "[job]\nprocesses = 2\nworkers = 2\nhostfile = \"{}\"\nlaunch = \"ssh\"\n\n\
             [ssh]\nport = {}\nidentity = \"{}\"\ndir = \"{}\"\nloopback = true\n\
             options = [\"StrictHostKeyChecking=no\", \"UserKnownHostsFile=/dev/null\", \"LogLevel=ERROR\"]\n",
            hostfile.display(),
            sshd.port,
            sshd.identity.display(),
            dir.join("remote").display()
        ),
    )
    .unwrap();
    profile
}

/// The `dataflow` processes of job process 1 (the one started over ssh) still running.
fn remote_processes() -> Vec<u32> {
    pgrep(&["-f", "dataflow --config .*/remote/profile.toml"])
}

/// Waits until no process of job process 1 runs, or 10 s pass; whether none does.
fn remote_side_ends() -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !remote_processes().is_empty() {
        if Instant::now() > deadline {
            return false;
        }
        // pgrep itself takes a few ms: the poll is bounded by its own cost.
    }
    true
}

#[test]
fn a_job_process_launched_over_ssh_runs_exactly_through_a_restart_and_is_gone_after_the_run() {
    let dir = std::env::temp_dir().join(format!("adstream-ssh-{}", std::process::id()));
    let sshd = Sshd::start(&dir.join("sshd"));
    let t = TestBroker::with_topics(4);
    let profile = ssh_profile(&dir, &sshd);
    let out = Command::new(bin("harness"))
        .args(["run", "--config"])
        .arg(&profile)
        .args(["--bootstrap", &t.kafka.bootstrap, "--partitions", "4"])
        .args(["--producers", "2", "--rate", "1000", "--duration", "10"])
        .args(["--window", "1"])
        // Kill the ssh-launched process (its ssh session) mid-run: the restart launches it again.
        .args(["--kill", "job:1@3"])
        .arg("-v")
        .arg("--out")
        .arg(dir.join("run"))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("job process 1 started on 127.0.0.1 over ssh"),
        "{said}"
    );
    // Its stderr came back over the session, prefixed with its host.
    assert!(said.contains("[job 1 on 127.0.0.1] "), "{said}");
    assert!(said.contains("verification EXACT"), "{said}");
    assert_eq!(
        said.matches("job process 1 started on 127.0.0.1 over ssh")
            .count(),
        2,
        "launched again on the restart: {said}"
    );
    let report = run_json(&dir.join("run"), "report.json");
    assert_eq!(report["faults"].as_array().unwrap().len(), 1, "{report}");
    // Its summary came back too: both processes' counts are in the run's.
    let summary = run_json(&dir.join("run"), "summary.json");
    assert_eq!(summary["job"].as_array().unwrap().len(), 2, "{summary}");
    assert_eq!(summary["processed"], summary["produced"], "{summary}");
    assert!(remote_side_ends(), "left running: {:?}", remote_processes());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_harness_leaves_nothing_running_on_the_remote_side() {
    let dir = std::env::temp_dir().join(format!("adstream-ssh-kill-{}", std::process::id()));
    let sshd = Sshd::start(&dir.join("sshd"));
    let t = TestBroker::with_topics(4);
    let profile = ssh_profile(&dir, &sshd);
    let mut run = Command::new(bin("harness"))
        .args(["run", "--config"])
        .arg(&profile)
        .args(["--bootstrap", &t.kafka.bootstrap, "--partitions", "4"])
        .args(["--producers", "1", "--rate", "500", "--duration", "60"])
        .arg("--out")
        .arg(dir.join("run"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the producers run, the job (both processes) is ready.
    let (said, _rest) = lines_until(run.stderr.take().unwrap(), |line| line.contains("sent "));
    assert!(
        said.iter()
            .any(|l| l.contains("job process 1 started on 127.0.0.1 over ssh")),
        "{said:?}"
    );
    assert!(
        !remote_processes().is_empty(),
        "job process 1 is not running"
    );
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(remote_side_ends(), "left running: {:?}", remote_processes());
    let _ = std::fs::remove_dir_all(&dir);
}
