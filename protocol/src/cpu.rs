//! CPU time a process has used (user + system, all its threads), read from Linux's `/proc`, so a run
//! can say what the job, the producers and the broker each cost.

/// Clock ticks per second of `/proc/<pid>/stat` (Linux's `USER_HZ`, fixed at 100 by its ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far by process `pid`; `None` when it is gone or `/proc` is unavailable.
pub fn of_process(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_in_stat(&stat).map(|ticks| ticks as f64 / TICKS_PER_SECOND)
}

/// CPU seconds used so far by this process.
pub fn of_this_process() -> Option<f64> {
    of_process(std::process::id())
}

/// `utime + stime` from the text of `/proc/<pid>/stat`.
fn ticks_in_stat(stat: &str) -> Option<u64> {
    ProcStat::parse(stat).map(|s| s.ticks)
}

/// What `/proc/<pid>/stat` says of a process that a run measures with its descendants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Its parent's process id.
    pub ppid: u32,
    /// Its own CPU ticks (user + system).
    pub ticks: u64,
    /// The CPU ticks of its children that it has waited for (user + system).
    pub children_ticks: u64,
    /// Its resident set, in pages.
    pub rss_pages: u64,
}

impl ProcStat {
    /// Reads process `pid`'s; `None` when it is gone.
    pub fn of(pid: u32) -> Option<Self> {
        Self::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may
    /// hold spaces, so fields are counted from the last `)`.
    pub fn parse(stat: &str) -> Option<Self> {
        let after_name = &stat[stat.rfind(')')? + 1..];
        // Fields 3.. follow the name: ppid is field 4, utime..cstime fields 14–17, rss field 24.
        let fields: Vec<&str> = after_name.split_whitespace().take(22).collect();
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        Some(Self {
            ppid: u32::try_from(field(4)?).ok()?,
            ticks: field(14)? + field(15)?,
            children_ticks: field(16).unwrap_or(0) + field(17).unwrap_or(0),
            rss_pages: field(24).unwrap_or(0),
        })
    }

    /// Seconds of `ticks` clock ticks.
    pub fn seconds(ticks: u64) -> f64 {
        ticks as f64 / TICKS_PER_SECOND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_summed_past_a_name_with_spaces() {
        let stat = "4242 (tansu broker) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 9 0 \
                    100 2000000 3000 18446744073709551615";
        assert_eq!(ticks_in_stat(stat), Some(1234 + 567));
        assert_eq!(ticks_in_stat("garbage"), None);
        assert_eq!(ticks_in_stat("1 (x) S 1 2"), None);
        let full = ProcStat::parse(stat).unwrap();
        assert_eq!(
            (full.ppid, full.children_ticks, full.rss_pages),
            (1, 0, 3000)
        );
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let spin: u64 = (0..5_000_000u64).map(|i| i ^ (i >> 3)).sum();
        assert!(spin > 0);
        let used = of_this_process().expect("/proc/self/stat is readable on Linux");
        assert!(used >= 0.0);
        assert_eq!(of_process(u32::MAX), None);
    }
}
