//! Where a run's job processes run: one local process without a hostfile, else one per hostfile line —
//! lines on this machine's loopback are launched by the harness, every other line is started by the
//! user on its host with the exact command printed here.

use std::fmt;
use std::path::{Path, PathBuf};

use adstream_profile::address::HostPort;
use adstream_profile::hostfile::{HostLine, Hostfile};
use adstream_profile::profile::JobSection;

use crate::experiment::error::RunError;
use crate::services::broker::free_port;

/// Writes a hostfile of `processes` free loopback ports into `dir`.
pub fn local_hostfile(dir: &Path, processes: u32) -> Result<PathBuf, RunError> {
    let mut text = String::new();
    for _ in 0..processes {
        let port = free_port().map_err(RunError::io("find a free port"))?;
        text.push_str(&format!("127.0.0.1:{port}\n"));
    }
    let path = dir.join("hostfile");
    std::fs::write(&path, text).map_err(RunError::io(format!("write {}", path.display())))?;
    Ok(path)
}

/// The job's processes: the hostfile's lines, or one local process when there is no hostfile.
pub fn job_processes(job: &JobSection) -> Result<Vec<HostLine>, RunError> {
    let Some(path) = job.hostfile.as_ref().filter(|_| job.processes > 1) else {
        return Ok(vec![HostLine {
            process: 0,
            address: HostPort {
                host: "127.0.0.1".to_owned(),
                port: 0,
            },
        }]);
    };
    let hostfile = Hostfile::read(path)?.expect_processes(job.processes)?;
    if !hostfile.lines().iter().any(HostLine::is_local) {
        return Err(RunError::NoLocalProcess(path.clone()));
    }
    Ok(hostfile.lines().to_vec())
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
            self.line.address.host,
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
    fn the_remote_command_names_the_files_and_the_process() {
        let line = HostLine {
            process: 1,
            address: HostPort::parse("10.1.2.3:7001").unwrap(),
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

    #[test]
    fn without_a_hostfile_the_job_is_one_local_process() {
        let lines = job_processes(&JobSection::default()).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].is_local());
    }
}
