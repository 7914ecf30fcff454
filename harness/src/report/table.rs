//! The summary table a run prints at its end.

use std::fmt::Write as _;

use crate::report::model::{FaultRecord, Report};

impl Report {
    /// The summary table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let e = &self.events;
        let _ = writeln!(
            t,
            "events      produced {}  processed {}  rejected {}  late {}  ({:.0} events/s)",
            e.produced, e.processed, e.rejected, e.late, self.throughput
        );
        let _ = writeln!(
            t,
            "{:<22}{:>9}{:>9}{:>9}{:>9}{:>9}",
            "latency (ms)", "avg", "p50", "p90", "p99", "max"
        );
        for (name, p) in [
            ("end to end", &self.latency_ms),
            ("broker delivery", &self.broker_delay_ms),
            ("after window end", &self.event_time_latency_ms),
            ("job's own share", &self.job_added_ms),
        ] {
            let _ = writeln!(
                t,
                "{name:<22}{:>9.1}{:>9.1}{:>9.1}{:>9.1}{:>9.1}",
                p.avg, p.p50, p.p90, p.p99, p.max
            );
        }
        if let Some(r) = &self.revisions {
            let f = &r.freshness_ms;
            let _ = writeln!(
                t,
                "{:<22}{:>9.1}{:>9.1}{:>9.1}{:>9.1}{:>9.1}",
                "freshness (revisions)", f.avg, f.p50, f.p90, f.p99, f.max
            );
            let _ = writeln!(
                t,
                "revisions   {} records; per window and campaign {:.1} on average, at most {}; per \
                 window at most {}; {} for late events",
                r.records, r.per_result_mean, r.per_result_max, r.per_window_max, r.late
            );
        }
        let c = &self.cpu_s;
        let _ = writeln!(
            t,
            "CPU (s)     job {:.1}  producers {:.1}  broker {}  harness {:.1};  verification after \
             the run: harness {:.1}{}",
            c.job,
            c.producers,
            broker_cpu(c.broker),
            c.harness,
            c.verification.harness,
            c.verification
                .broker
                .map_or_else(String::new, |b| format!("  broker {b:.1}")),
        );
        if let Some(e) = &self.engine {
            let _ = writeln!(
                t,
                "job         {}: ready after {:.1} s, first result {} s into the producers' \
                 schedule, {} records, peak memory {:.0} MiB (its whole process tree); its last \
                 records' latency p90 {:.1} ms, max {:.1} ms",
                e.name,
                e.ready_after_s,
                e.first_result_after_s
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.1}")),
                e.records,
                e.peak_memory_mib,
                e.last_record_latency_ms.p90,
                e.last_record_latency_ms.max
            );
        }
        for p in &self.producers {
            let _ = writeln!(
                t,
                "producer {}  {} events at {:.0}/s, schedule lag p99 {:.2} ms, max {:.2} ms",
                p.id, p.events, p.achieved_rate, p.schedule_lag_p99_ms, p.schedule_lag_max_ms
            );
        }
        for f in &self.faults {
            let _ = writeln!(t, "fault       {}", fault_line(f));
        }
        if let (Some(calm), Some(hit)) = (&self.latency_undisturbed_ms, &self.latency_disturbed_ms)
        {
            let _ = writeln!(
                t,
                "latency by window, ms: undisturbed p90 {:.1} max {:.1} ({} results); spanning a fault p90 {:.1} max {:.1} ({} results)",
                calm.p90, calm.max, calm.count, hit.p90, hit.max, hit.count
            );
        }
        let v = &self.verification;
        let _ = write!(
            t,
            "verification {}: {} windows, {} results checked against a recount of {} events",
            if v.exact { "EXACT" } else { "NOT EXACT" },
            v.windows_checked,
            v.results_read,
            v.events
        );
        if v.late_excluded > 0 {
            let _ = write!(
                t,
                " ({} late events, declared so by the job, in the dead-letter topic)",
                v.late_excluded
            );
        }
        for m in &v.mismatches {
            let _ = write!(t, "\n  mismatch: {m}");
        }
        t
    }
}

/// A fault's line: what happened to which child, when, and how the run came back.
fn fault_line(f: &FaultRecord) -> String {
    let mut line = format!("{} {} at {:.1} s", f.target, f.cause, f.failed_at_s);
    if f.injected {
        line.push_str(" (injected)");
    }
    if let Some(detected) = f.detected_at_s.filter(|&d| d > f.failed_at_s) {
        line.push_str(&format!(", detected at {detected:.1} s"));
    }
    if let Some(resumed) = f.resumed_at_s {
        line.push_str(&format!(", over at {resumed:.1} s"));
    }
    if let Some(restarted) = f.restarted_at_s {
        line.push_str(&format!(", restarted at {restarted:.1} s"));
    }
    line.push_str(&match f.recovery_s() {
        Some(r) => format!(
            ", caught up at {:.1} s (recovery {r:.1} s)",
            f.failed_at_s + r
        ),
        None => ", not caught up by the end".to_owned(),
    });
    if f.of_job() && f.restarted_at_s.is_some() {
        line.push_str(&format!("; {} records read again", f.events_reread));
    }
    line
}

/// A broker's CPU as the table shows it.
fn broker_cpu(seconds: Option<f64>) -> String {
    seconds.map_or_else(
        || "not measured (not the harness's, or restarted)".to_owned(),
        |b| format!("{b:.1}"),
    )
}
