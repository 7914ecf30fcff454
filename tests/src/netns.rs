//! Runs in a network namespace of their own: the default broker address is free there whatever this
//! machine runs on it, so the harness starts its own broker as it does for a user, and whatever a test
//! does to the namespace's network (iptables rules) goes with it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::bin;

/// The command `harness run ARGS --out OUT` inside a new network namespace with its loopback up (`sh`
/// execs the harness, so the child's pid is the harness's).
pub fn harness_run_in_own_namespace(out: &Path, args: &str) -> Command {
    let script = format!(
        "ip link set lo up && exec {} run {args} --out {}",
        bin("harness").display(),
        out.display()
    );
    let mut command = Command::new("unshare");
    command
        .args(["--net", "sh", "-c", &script])
        .stdin(Stdio::null());
    command
}

/// Runs [`harness_run_in_own_namespace`] to its end.
pub fn run_in_own_namespace(out: &Path, args: &str) -> Output {
    harness_run_in_own_namespace(out, args)
        .output()
        .expect("run harness in its own network namespace")
}
