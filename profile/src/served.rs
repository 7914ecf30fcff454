//! Where each kind of process serves its metrics: the `[metrics]` keys by the kind they are for, and
//! the address of process `i` of a kind.

use crate::profile::{MetricsSection, keys};

/// The kinds of process that serve metrics, each under its own `[metrics]` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The job's processes, `metrics.job`.
    Job,
    /// The producers, `metrics.producers`.
    Producers,
    /// The harness, `metrics.harness`.
    Harness,
}

impl Served {
    /// The profile key.
    pub fn key(self) -> crate::keys::Key {
        match self {
            Served::Job => keys::metrics::job,
            Served::Producers => keys::metrics::producers,
            Served::Harness => keys::metrics::harness,
        }
    }
}

impl MetricsSection {
    /// The text of `kind`'s key.
    pub fn of(&self, kind: Served) -> Option<&str> {
        match kind {
            Served::Job => self.job.as_deref(),
            Served::Producers => self.producers.as_deref(),
            Served::Harness => self.harness.as_deref(),
        }
        .filter(|text| !text.is_empty())
    }

    /// Sets `kind`'s key to `text`.
    pub fn set(&mut self, kind: Served, text: &str) {
        let key = match kind {
            Served::Job => &mut self.job,
            Served::Producers => &mut self.producers,
            Served::Harness => &mut self.harness,
        };
        *key = Some(text.to_owned());
    }

    /// How long a finished process keeps serving its final values.
    pub fn linger(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.linger_ms)
    }

    /// Where process `index` of `kind` serves its metrics, if that kind serves any; `None` too for a
    /// text or index that [`Profile::validate`] refuses.
    pub fn address(&self, kind: Served, index: u32) -> Option<crate::address::HostPort> {
        crate::address::ListenPorts::parse(self.of(kind)?)
            .ok()?
            .nth(index)
    }
}
