//! Cutting a process off the network for the faults a run injects: iptables rules that drop every TCP
//! packet to or from a port on this machine (a job process's hostfile port: its links to its peers; the
//! local broker's: every client's link to it), tagged with the harness's pid, removed when the cut is
//! over and, whatever happens, when the cut is dropped. Rules a killed harness left behind are swept
//! when the next harness cuts. Needs root and the iptables command; without them a cut fails with one
//! line saying so.

use std::process::{Command, Stdio};

/// The comment every rule of this harness carries.
fn tag() -> String {
    format!("adstream-harness-{}", std::process::id())
}

/// Why a cut could not be made.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot cut port {port} off the network with iptables (it needs root and the iptables package): {detail}"
)]
pub struct CutError {
    port: u16,
    detail: String,
}

fn iptables(args: &[&str]) -> Result<(), String> {
    let out = Command::new("iptables")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The rule spec (after `-I`/`-D INPUT`) that drops packets with `direction` `port`, tagged `tag`.
fn spec<'a>(direction: &'a str, port: &'a str, tag: &'a str) -> [&'a str; 10] {
    [
        "-p",
        "tcp",
        direction,
        port,
        "-m",
        "comment",
        "--comment",
        tag,
        "-j",
        "DROP",
    ]
}

/// Whether cuts can be made here: iptables runs and may read the rules (root).
pub fn available() -> bool {
    Command::new("iptables")
        .args(["-S", "INPUT"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A port cut off the network until dropped.
#[derive(Debug)]
pub struct Cut {
    port: u16,
}

impl Cut {
    /// Drops every TCP packet to and from `port` from now on.
    pub fn port(port: u16) -> Result<Self, CutError> {
        sweep_stale();
        let (text, tag) = (port.to_string(), tag());
        for direction in ["--dport", "--sport"] {
            let mut args = vec!["-I", "INPUT"];
            args.extend(spec(direction, &text, &tag));
            iptables(&args).map_err(|detail| CutError { port, detail })?;
        }
        Ok(Self { port })
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        let (text, tag) = (self.port.to_string(), tag());
        for direction in ["--dport", "--sport"] {
            let mut args = vec!["-D", "INPUT"];
            args.extend(spec(direction, &text, &tag));
            let _ = iptables(&args);
        }
    }
}

/// Removes the rules of harnesses that are gone (killed before they could remove their own).
fn sweep_stale() {
    let Ok(out) = Command::new("iptables").args(["-S", "INPUT"]).output() else {
        return;
    };
    for rule in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(pid) = rule
            .split_whitespace()
            .find_map(|w| w.trim_matches('"').strip_prefix("adstream-harness-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        // `-S` prints the rule as `-A INPUT …`: the same words after `-D` remove it.
        let words: Vec<String> = rule
            .split_whitespace()
            .skip(1)
            .map(|w| w.trim_matches('"').to_owned())
            .collect();
        let mut args = vec!["-D"];
        args.extend(words.iter().map(String::as_str));
        let _ = iptables(&args);
    }
}
