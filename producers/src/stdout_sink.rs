//! The `--dry-run` sink: events as JSON lines on stdout, control records left out.

use std::io::{BufWriter, Stdout, Write};

use adstream_protocol::wire::{EndMarker, Watermark};

use crate::sink::{Delivery, Sink, SinkError};

/// Writes each event's JSON value on its own line.
#[derive(Debug)]
pub struct StdoutSink {
    out: BufWriter<Stdout>,
    events: u64,
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            events: 0,
        }
    }
}

impl Sink for StdoutSink {
    fn event(&mut self, _partition: u32, _seq: u64, value: &[u8]) -> Result<(), SinkError> {
        self.out.write_all(value)?;
        self.out.write_all(b"\n")?;
        self.events += 1;
        Ok(())
    }

    fn watermark(&mut self, _partition: u32, _watermark: Watermark) -> Result<(), SinkError> {
        Ok(())
    }

    fn end(&mut self, _partition: u32, _marker: EndMarker) -> Result<(), SinkError> {
        Ok(())
    }

    fn idle(&mut self) -> Result<(), SinkError> {
        Ok(self.out.flush()?)
    }

    fn finish(&mut self) -> Result<Delivery, SinkError> {
        self.out.flush()?;
        Ok(Delivery {
            delivered: self.events,
            failed: 0,
        })
    }
}
