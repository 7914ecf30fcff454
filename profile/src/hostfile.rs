//! Timely hostfiles (`job.hostfile`, `--hostfile`): one `HOST:PORT` per job process, in process order;
//! blank lines and `#` comments are skipped. The job builds its cluster from it and the harness decides
//! from it which processes it launches here (loopback lines) and which run on other hosts — both read it
//! with this one parser.

use std::path::{Path, PathBuf};

use crate::address::HostPort;

/// A problem with a hostfile.
#[derive(Debug, thiserror::Error)]
pub enum HostfileError {
    /// The hostfile cannot be read.
    #[error("cannot read hostfile {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `HOST:PORT`.
    #[error("hostfile {path} line {line}: expected host:port, got {text:?}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The hostfile does not match the process count.
    #[error("hostfile {path} names {hosts} processes but --processes is {processes}")]
    Count {
        /// The file.
        path: PathBuf,
        /// Its lines.
        hosts: usize,
        /// Configured processes.
        processes: u32,
    },
}

/// One job process of a hostfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLine {
    /// Its process index: the line's position among the host lines.
    pub process: u32,
    /// Where it listens for the other processes.
    pub address: HostPort,
}

impl HostLine {
    /// Whether it runs on this machine's loopback (so the harness can launch it here).
    pub fn is_local(&self) -> bool {
        self.address.is_loopback()
    }
}

/// A hostfile, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostfile {
    path: PathBuf,
    lines: Vec<HostLine>,
}

impl Hostfile {
    /// Reads the hostfile at `path`.
    pub fn read(path: &Path) -> Result<Self, HostfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| HostfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The hostfile in `text`; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, HostfileError> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let address = HostPort::parse(line).map_err(|_| HostfileError::Line {
                path: path.to_owned(),
                line: i + 1,
                text: line.to_owned(),
            })?;
            lines.push(HostLine {
                process: lines.len() as u32,
                address,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            lines,
        })
    }

    /// Checks that it names exactly `processes` processes.
    pub fn expect_processes(self, processes: u32) -> Result<Self, HostfileError> {
        if self.lines.len() != processes as usize {
            return Err(HostfileError::Count {
                path: self.path,
                hosts: self.lines.len(),
                processes,
            });
        }
        Ok(self)
    }

    /// Where it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its processes, in order.
    pub fn lines(&self) -> &[HostLine] {
        &self.lines
    }

    /// Every process's `HOST:PORT`, in order, as timely takes them.
    pub fn addresses(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.address.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Hostfile, HostfileError> {
        Hostfile::parse(text, Path::new("hosts"))
    }

    #[test]
    fn loopback_lines_are_local_and_others_remote() {
        let file = parse("# cluster\n127.0.0.1:7000\n\n127.0.0.2:7001\nlocalhost:7002\n[::1]:7003\n10.1.2.3:7004\nworker-b:7005\n").unwrap();
        let local: Vec<(u32, bool)> = file
            .lines()
            .iter()
            .map(|l| (l.process, l.is_local()))
            .collect();
        assert_eq!(
            local,
            [
                (0, true),
                (1, true),
                (2, true),
                (3, true),
                (4, false),
                (5, false)
            ]
        );
        assert_eq!(file.lines()[5].address.host, "worker-b");
        assert_eq!(file.addresses()[0], "127.0.0.1:7000");
    }

    #[test]
    fn a_bad_line_and_a_wrong_count_are_named() {
        let error = parse("127.0.0.1:7000\n127.0.0.1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "hostfile hosts line 2: expected host:port, got \"127.0.0.1\""
        );
        assert!(parse("host:notaport\n").is_err());
        let error = parse("a:1\nb:2\n")
            .unwrap()
            .expect_processes(3)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "hostfile hosts names 2 processes but --processes is 3"
        );
    }
}
