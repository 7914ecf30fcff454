//! Live progress of a run: an indicatif line on a terminal, a plain line every few seconds otherwise
//! (logs, CI), showing events sent and processed per second, windows closed and latency so far.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Counters at one moment of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Events the producers have sent (their own count); `None` for producers the harness did not
    /// start, which do not say.
    pub sent: Option<u64>,
    /// Events the job has counted.
    pub processed: u64,
    /// Windows with results.
    pub windows: u64,
    /// Latest result's end-to-end latency, ms.
    pub latency_last_ms: u64,
    /// Largest so far, ms.
    pub latency_max_ms: u64,
    /// Restarts after failures (of the job or a producer).
    pub restarts: usize,
}

/// The display.
pub struct StatusLine {
    bar: Option<ProgressBar>,
    started: Instant,
    last: (Instant, Snapshot),
    rates: (f64, f64),
    printed: Instant,
}

impl StatusLine {
    /// A display on stderr: a live line on a terminal, plain lines otherwise.
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            started: now,
            last: (now, Snapshot::default()),
            rates: (0.0, 0.0),
            printed: now,
        }
    }

    /// The line for `s`.
    pub fn line(&self, s: &Snapshot) -> String {
        let mut line = match s.sent {
            Some(sent) => format!("sent {sent} ({:.0}/s) · ", self.rates.0),
            None => String::new(),
        };
        line.push_str(&format!(
            "processed {} ({:.0}/s) · windows closed {} · latency last {} ms, max {} ms",
            s.processed, self.rates.1, s.windows, s.latency_last_ms, s.latency_max_ms
        ));
        if s.restarts > 0 {
            line.push_str(&format!(" · restarts {}", s.restarts));
        }
        line
    }

    /// Shows `s`.
    pub fn update(&mut self, s: Snapshot) {
        let now = Instant::now();
        let dt = now.duration_since(self.last.0).as_secs_f64();
        if dt >= 1.0 {
            let prev = self.last.1;
            self.rates = (
                s.sent.unwrap_or(0).saturating_sub(prev.sent.unwrap_or(0)) as f64 / dt,
                s.processed.saturating_sub(prev.processed) as f64 / dt,
            );
            self.last = (now, s);
        }
        let line = self.line(&s);
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None if now.duration_since(self.printed) >= PLAIN_EVERY => {
                self.printed = now;
                eprintln!(
                    "[{:>4.0}s] {line}",
                    now.duration_since(self.started).as_secs_f64()
                );
            }
            None => {}
        }
    }

    /// Prints `text` above the live line.
    pub fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Removes the live line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for StatusLine {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_counts_and_restarts_once_there_are_any() {
        let progress = StatusLine::new();
        let mut s = Snapshot {
            sent: Some(10),
            processed: 9,
            windows: 2,
            latency_last_ms: 7,
            latency_max_ms: 12,
            restarts: 0,
        };
        let line = progress.line(&s);
        assert!(line.starts_with("sent 10 ("), "{line}");
        assert!(line.ends_with("latency last 7 ms, max 12 ms"), "{line}");
        s.restarts = 2;
        assert!(progress.line(&s).ends_with(" · restarts 2"));
    }
}
