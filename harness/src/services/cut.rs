//! Cutting a process off the network for the faults a run injects: iptables rules that drop TCP packets
//! on this machine — every packet to or from the local broker's port (every client's link to it), or
//! those of each link between a job process and its peers (found with `ss`: a process connects to the
//! lower-numbered processes' hostfile ports from ports of its own, and the higher-numbered ones connect
//! to its port) — tagged with the harness's pid, removed when the cut is over and, whatever happens,
//! when the cut is dropped. Rules a killed harness left behind are swept when the next harness cuts.
//! Needs root, iptables and ss; without them a cut fails with one line saying so.

use std::process::{Command, Stdio};

/// The comment every rule of this harness carries.
fn tag() -> String {
    format!("adstream-harness-{}", std::process::id())
}

/// Why a cut could not be made.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot cut {what} off the network with iptables (it needs root and the iptables package): {detail}"
)]
pub struct CutError {
    what: String,
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

/// Whether cuts can be made here: iptables runs and may read the rules (root), and ss lists links.
pub fn available() -> bool {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    runs("iptables", &["-S", "INPUT"]) && runs("ss", &["-Htn"])
}

/// Which packets a rule drops: TCP from port `from` (any when 0) to port `to` (any when 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    from: u16,
    to: u16,
}

impl Rule {
    /// The rule's spec after `-I INPUT` or `-D INPUT`, tagged `tag`.
    fn spec(&self, tag: &str) -> Vec<String> {
        let mut spec: Vec<String> = vec!["-p".into(), "tcp".into()];
        if self.from != 0 {
            spec.extend(["--sport".into(), self.from.to_string()]);
        }
        if self.to != 0 {
            spec.extend(["--dport".into(), self.to.to_string()]);
        }
        spec.extend(["-m", "comment", "--comment", tag, "-j", "DROP"].map(String::from));
        spec
    }
}

/// Packets cut off the network until dropped.
#[derive(Debug)]
pub struct Cut {
    rules: Vec<Rule>,
}

impl Cut {
    /// Drops every TCP packet to and from `port` from now on.
    pub fn port(port: u16) -> Result<Self, CutError> {
        let rules = vec![Rule { from: port, to: 0 }, Rule { from: 0, to: port }];
        Self::apply(rules, format!("port {port}"))
    }

    /// Drops every packet of the TCP links between process `pid` and the ports in `peers` (its peers'
    /// hostfile ports and its own), both ways, from now on.
    pub fn links(pid: u32, peers: &[u16]) -> Result<Self, CutError> {
        let what = format!("the links of process {pid}");
        let links = links_of(pid, peers).map_err(|detail| CutError {
            what: what.clone(),
            detail,
        })?;
        let rules = links
            .into_iter()
            .flat_map(|(a, b)| [Rule { from: a, to: b }, Rule { from: b, to: a }])
            .collect();
        Self::apply(rules, what)
    }

    fn apply(rules: Vec<Rule>, what: String) -> Result<Self, CutError> {
        sweep_stale();
        let tag = tag();
        // Made one by one and kept as made, so a failure removes those already in place.
        let mut cut = Self { rules: Vec::new() };
        for rule in rules {
            let mut args = vec!["-I".to_owned(), "INPUT".to_owned()];
            args.extend(rule.spec(&tag));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            iptables(&args).map_err(|detail| CutError {
                what: what.clone(),
                detail,
            })?;
            cut.rules.push(rule);
        }
        Ok(cut)
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        let tag = tag();
        for rule in &self.rules {
            let mut args = vec!["-D".to_owned(), "INPUT".to_owned()];
            args.extend(rule.spec(&tag));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = iptables(&args);
        }
    }
}

/// The established TCP links of process `pid` that have one end at a port in `ports`, as (its port,
/// the other end's port), read from `ss`.
fn links_of(pid: u32, ports: &[u16]) -> Result<Vec<(u16, u16)>, String> {
    let out = Command::new("ss")
        .args(["-Htnp", "state", "established"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ss: {e}"))?;
    let owner = format!("pid={pid},");
    let port_of = |address: &str| address.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
    let links = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains(&owner))
        .filter_map(|line| {
            // With a state filter `ss` leaves the state out: Recv-Q Send-Q Local Peer Process.
            let words: Vec<&str> = line.split_whitespace().collect();
            let (local, peer) = (port_of(words.get(2)?)?, port_of(words.get(3)?)?);
            (ports.contains(&local) || ports.contains(&peer)).then_some((local, peer))
        })
        .collect();
    Ok(links)
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
