//! A cut link between job processes (ARCHITECTURE.md, "Fault tolerance"): every packet between the two
//! processes of a job is dropped for good, mid-run. Neither process exits or hangs on its own; each
//! hears nothing from the other, gives up after the liveness limit naming its peer, and the harness
//! restarts the job on fresh loopback ports — where the cut does not reach — and the run stays exact.
//!
//! The run is in a network namespace of its own (its own broker on the default address), and the cut
//! is made with iptables inside that namespace, so it cannot touch anything else on this machine and
//! goes with the namespace.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adstream_tests::netns::harness_run_in_own_namespace;
use adstream_tests::{lines_until, pgrep, run_json};

/// The ports of a generated loopback hostfile.
fn ports_of(hostfile: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(hostfile)
        .unwrap()
        .lines()
        .filter_map(|l| l.rsplit_once(':').map(|(_, port)| port.to_owned()))
        .collect()
}

/// Runs iptables with `args` in the network namespace of process `pid`.
fn iptables_in(pid: u32, args: &[&str]) {
    let status = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg("iptables")
        .args(args)
        .status()
        .expect("run iptables (the iptables package)");
    assert!(status.success(), "iptables {args:?}");
}

#[test]
fn a_link_between_job_processes_cut_for_good_is_detected_and_the_job_restarted_exact() {
    let out = std::env::temp_dir().join(format!("adstream-cut-link-{}", std::process::id()));
    let mut run = harness_run_in_own_namespace(
        &out,
        "--processes 2 --producers 2 --generator uniform --rate 500 --duration 20 \
         --liveness-timeout-ms 3000",
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run harness in its own network namespace");
    // sh execs the harness: the child's pid is the harness's, and its namespace the run's.
    let harness = run.id();
    let (said, rest) = lines_until(run.stderr.take().unwrap(), |l| l.starts_with("run: "));
    assert!(said.iter().any(|l| l.starts_with("run: ")), "{said:?}");
    let err = std::thread::spawn(move || rest.map_while(Result::ok).collect::<Vec<_>>());
    // Once the producers send, both job processes are connected and at work.
    let producers = format!("producer --config {}", out.join("profile.toml").display());
    let deadline = Instant::now() + Duration::from_secs(60);
    while pgrep(&["-f", &producers]).len() < 2 {
        assert!(Instant::now() < deadline, "producers never started");
        std::thread::yield_now();
    }
    let hostfile = out.join("hostfile");
    let cut = ports_of(&hostfile);
    assert_eq!(cut.len(), 2);
    for port in &cut {
        for direction in ["--dport", "--sport"] {
            iptables_in(
                harness,
                &["-A", "INPUT", "-p", "tcp", direction, port, "-j", "DROP"],
            );
        }
    }

    let status = run.wait().unwrap();
    let err = err.join().unwrap().join("\n");
    assert!(status.success(), "{err}");
    assert!(err.contains("verification EXACT"), "{err}");
    let report = run_json(&out, "report.json");
    assert_eq!(report["events"]["produced"], 20_000, "{report}");
    assert_eq!(report["events"]["processed"], 20_000, "{report}");
    let faults = report["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{report}");
    let fault = &faults[0];
    assert!(
        fault["target"] == "job 0" || fault["target"] == "job 1",
        "{fault}"
    );
    assert_eq!(fault["injected"], false, "{fault}");
    assert!(
        fault["cause"]
            .as_str()
            .unwrap()
            .contains("(dead, hung or cut off)"),
        "{fault}"
    );
    let silent = fault["detected_at_s"].as_f64().unwrap() - fault["failed_at_s"].as_f64().unwrap();
    assert!(silent >= 2.999, "{fault}");
    assert!(fault["caught_up_at_s"].as_f64().is_some(), "{fault}");
    // The restarted job ran on other ports, out of the cut's reach.
    let now = ports_of(&hostfile);
    assert!(now.iter().all(|p| !cut.contains(p)), "{cut:?} → {now:?}");
    std::fs::remove_dir_all(&out).unwrap();
}
