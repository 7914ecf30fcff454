//! A run's hostfile as the harness sees it: which job processes it launches itself (lines on this
//! machine's loopback) and which the user starts on other hosts (every other line), with the exact
//! command for each.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// One job process of the hostfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLine {
    /// Its process index (the line's position among the host lines).
    pub process: u32,
    /// The host part of `host:port`.
    pub host: String,
    /// Whether the harness launches it here: a loopback address or `localhost`.
    pub local: bool,
}

/// A hostfile line that is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hostfile line {line}: expected host:port, got {text:?}")]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// The line.
    pub text: String,
}

/// Whether `host` names this machine's loopback (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_local(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The processes of a hostfile's text (blank lines and `#` comments skipped, as the job reads it).
pub fn parse(text: &str) -> Result<Vec<HostLine>, BadLine> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || BadLine {
            line: i + 1,
            text: raw.to_owned(),
        };
        let (host, port) = line.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        lines.push(HostLine {
            process: lines.len() as u32,
            host: host.to_owned(),
            local: is_local(host),
        });
    }
    Ok(lines)
}

/// What to run on a remote host for one job process: the same profile and hostfile, copied there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCommand<'a> {
    /// The process.
    pub line: &'a HostLine,
    /// The run's profile (as written for the run).
    pub profile: &'a Path,
    /// The hostfile.
    pub hostfile: &'a Path,
}

impl fmt::Display for RemoteCommand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job process {} runs on {}: copy {} and {} there, then run\n  dataflow --config {} --hostfile {} --process {}",
            self.line.process,
            self.line.host,
            self.profile.display(),
            self.hostfile.display(),
            file_name(self.profile),
            file_name(self.hostfile),
            self.line.process
        )
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_lines_are_local_and_others_remote() {
        let lines = parse("# cluster\n127.0.0.1:7000\n\n127.0.0.2:7001\nlocalhost:7002\n[::1]:7003\n10.1.2.3:7004\nworker-b:7005\n").unwrap();
        let local: Vec<(u32, bool)> = lines.iter().map(|l| (l.process, l.local)).collect();
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
        assert_eq!(lines[5].host, "worker-b");
    }

    #[test]
    fn a_line_without_a_port_is_named() {
        assert_eq!(
            parse("127.0.0.1:7000\n127.0.0.1\n"),
            Err(BadLine {
                line: 2,
                text: "127.0.0.1".to_owned()
            })
        );
        assert!(parse("host:notaport\n").is_err());
    }

    #[test]
    fn the_remote_command_names_the_files_and_the_process() {
        let line = HostLine {
            process: 1,
            host: "10.1.2.3".to_owned(),
            local: false,
        };
        let text = RemoteCommand {
            line: &line,
            profile: Path::new("/runs/r1/profile.toml"),
            hostfile: Path::new("/etc/adstream/hosts"),
        }
        .to_string();
        assert_eq!(
            text,
            "job process 1 runs on 10.1.2.3: copy /runs/r1/profile.toml and /etc/adstream/hosts there, then run\n  dataflow --config profile.toml --hostfile hosts --process 1"
        );
    }
}
