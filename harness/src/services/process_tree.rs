//! A process and everything it started, read from `/proc`: which processes they are, what they used
//! (CPU and memory), and a signal to all of them. Another engine is often a tree — a shell, a JVM
//! and its Python workers — and is measured and stopped as one.

use adstream_protocol::cpu::ProcStat;
use rustix::process::{Pid, Signal, kill_process};

/// Bytes in a page of `/proc/<pid>/stat`'s resident set (x86_64 and aarch64 Linux: 4 KiB).
const PAGE_BYTES: u64 = 4096;

/// Every process now running and its stat.
fn all_processes() -> Vec<(u32, ProcStat)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, ProcStat::of(pid)?)))
        .collect()
}

/// `root` (when it runs) and its descendants, each with its stat.
fn tree_of(root: u32) -> Vec<(u32, ProcStat)> {
    let all = all_processes();
    let mut tree: Vec<(u32, ProcStat)> = all.iter().filter(|(p, _)| *p == root).copied().collect();
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i].0;
        tree.extend(all.iter().filter(|(_, s)| s.ppid == parent).copied());
        i += 1;
    }
    tree
}

/// The descendants of `root`, not `root` itself.
pub fn descendants(root: u32) -> Vec<u32> {
    tree_of(root)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| *p != root)
        .collect()
}

/// Sends `signal` to each of `pids` that still runs.
pub fn signal_all(pids: &[u32], signal: Signal) {
    for &pid in pids {
        if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
            // Gone already is fine: the point is that it stops.
            let _ = kill_process(pid, signal);
        }
    }
}

/// What a process tree used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreeUse {
    /// CPU seconds of the tree's live processes and of the children they have waited for.
    pub cpu_s: f64,
    /// Resident memory of the tree's live processes now, bytes.
    pub rss_bytes: u64,
    /// Processes in the tree now.
    pub processes: usize,
}

/// What `root`'s tree uses now. A process that exited counts in its parent's children's time once
/// its parent waited for it — in the engine's guard, which waits for every orphan of the tree.
pub fn tree_use(root: u32) -> TreeUse {
    let tree = tree_of(root);
    TreeUse {
        cpu_s: ProcStat::seconds(tree.iter().map(|(_, s)| s.ticks + s.children_ticks).sum()),
        rss_bytes: tree.iter().map(|(_, s)| s.rss_pages * PAGE_BYTES).sum(),
        processes: tree.len(),
    }
}

/// Follows a tree's use over a run: its CPU at the last look and its peak memory.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreeMeter {
    /// The tree's root.
    root: Option<u32>,
    /// CPU seconds at the last look.
    pub cpu_s: f64,
    /// The largest resident memory seen, bytes.
    pub peak_rss_bytes: u64,
}

impl TreeMeter {
    /// Follows `root`'s tree.
    pub fn of(root: u32) -> Self {
        Self {
            root: Some(root),
            ..Self::default()
        }
    }

    /// Takes a look now (the CPU figure keeps its last value once the tree is gone).
    pub fn look(&mut self) {
        let Some(root) = self.root else { return };
        let now = tree_use(root);
        if now.processes > 0 {
            self.cpu_s = self.cpu_s.max(now.cpu_s);
            self.peak_rss_bytes = self.peak_rss_bytes.max(now.rss_bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_its_root_and_every_descendant() {
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let root = shell.id();
        // The shell starts its two children right away; look until both are there.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut kids = descendants(root);
        while kids.len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
            kids = descendants(root);
        }
        assert_eq!(kids.len(), 2, "{kids:?}");
        let used = tree_use(root);
        assert_eq!(used.processes, 3);
        assert!(used.rss_bytes > 0);
        signal_all(&kids, Signal::KILL);
        shell.wait().unwrap();
        assert_eq!(tree_use(root).processes, 0);
    }
}
